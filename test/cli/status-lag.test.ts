import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StatusReport, statusCommand } from '../../cli/commands/status';
import { DynamoDbLedger } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { testCli } from './cli-test-context';

let aws: LocalAws;
const now = new Date('2026-11-28T13:00:00.000Z');

beforeAll(async () => {
  aws = await startLocalAws(parsePipelineSettings({ WEBHOOK_ID: 'x' }));
  const ledger = new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 1, client: aws.doc });
  await ledger.setWatermark({
    webhookId: 'wh-behind',
    through: new Date(now.getTime() - 25 * 60_000).toISOString(),
    lastPollAt: new Date(now.getTime() - 20_000).toISOString(),
  });
  await ledger.setWatermark({
    webhookId: 'wh-current',
    through: now.toISOString(),
    lastPollAt: now.toISOString(),
  });
}, 30_000);
afterAll(async () => {
  await aws?.stop();
});

describe('status', () => {
  it('shows how far each webhook has been read up to (watermark lag)', async () => {
    const text = testCli(aws);
    await statusCommand({ ...text.ctx, now: () => now }, { json: false });
    expect(text.out()).toMatch(/wh-behind\s+watermark \S+ \(lag 25 min\)/);
    expect(text.out()).toMatch(/wh-current\s+watermark \S+ \(lag 0 s\)/);
    const json = testCli(aws);
    await statusCommand({ ...json.ctx, now: () => now }, { json: true });
    const report = JSON.parse(json.out()) as StatusReport;
    expect(report.lagSeconds).toEqual({ 'wh-behind': 1_500, 'wh-current': 0 });
  });
});

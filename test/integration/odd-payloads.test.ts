import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedeliveryOutcome } from '../../lambdas/redeliverer/redeliver';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import {
  type EmulatedDelivery,
  type GenesysEmulator,
  startGenesysEmulator,
} from '../../local/genesys-emulator';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { drainQueue, eventually } from '../support/queue-contents';
import { startTargetServer } from '../support/target-server';

/** Bodies near and above the SQS limit, odd characters, huge and many headers: carried intact or refused with a reason. */
const CLIENT = { clientId: 'odd-client', clientSecret: 'odd-secret' };
const WEBHOOK = 'wh-odd';
const nearLimit = 'n'.repeat(1_000_000);
const overLimit = 'o'.repeat(1_100_000);
const oddText = 'nul:\u0000 bell:\u0007 bom:\uFEFF nonchar:\uFFFE\uFFFF emoji:😀 astral:\u{10FFFD} é';
const manyHeaders = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`X-H${i}`, `v${i}`]));

let emulator: GenesysEmulator;
let targets: Awaited<ReturnType<typeof startTargetServer>>;
let pipeline: LocalPipeline;
const outcomes: RedeliveryOutcome[] = [];
const invalid: { deliveryId: string; reason: string }[] = [];

beforeAll(async () => {
  targets = await startTargetServer({ '/ok': () => 200 });
  const entry = (id: string, body: unknown, headers: Record<string, string> = {}): EmulatedDelivery => ({
    id,
    webhookId: WEBHOOK,
    status: 'failed',
    httpStatusCode: null,
    body,
    headers,
    webhookUrl: `${targets.url}/ok`,
    dateCreated: new Date(Date.now() - 60_000).toISOString(),
  });
  emulator = await startGenesysEmulator({
    clients: [CLIENT],
    deliveries: [
      entry('near-limit', nearLimit, { 'Content-Type': 'text/plain' }),
      entry('over-limit', overLimit),
      entry('odd-text', oddText, { 'Content-Type': 'text/plain; charset=utf-8' }),
      entry('lone-surrogate', 'broken \uD800 text'),
      entry('many-headers', { n: 1 }, manyHeaders),
      entry('huge-header', { n: 2 }, { 'X-Huge': 'h'.repeat(200_000) }),
      entry('non-latin1-header', { n: 3 }, { 'X-Name': 'Zoë', 'X-Emoji': '😀' }),
    ],
  });
  pipeline = await startLocalPipeline({
    settings: parsePipelineSettings({
      GENESYS_CLOUD_REGION: emulator.url,
      WEBHOOK_ID: WEBHOOK,
      MAX_RETRIES: '2',
      RETRY_DELAY_SECONDS: '1',
      MAX_RETRY_DELAY_SECONDS: '1',
      TARGET_ALLOW_LOOPBACK: 'true', // targets on 127.0.0.1, as in local mode
    }),
    credentials: CLIENT,
    waitTimeSeconds: 1,
    logLevel: 'SILENT',
    onOutcome: (o) => outcomes.push(o),
    onPollEvent: (e) => {
      if (e.kind === 'invalid') invalid.push({ deliveryId: e.deliveryId, reason: e.reason });
    },
  });
  await pipeline.pollOnce();
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  await targets?.stop();
  await emulator?.stop();
});

const settledIds = () =>
  new Set(outcomes.filter((o) => o.result !== 'retry-scheduled').map((o) => o.deliveryId));

describe('oversized and odd payloads', () => {
  it('refuses, with a clear reason, what cannot travel intact, and records it in the ledger', async () => {
    expect(invalid.map((i) => i.deliveryId).sort()).toEqual(['lone-surrogate', 'over-limit']);
    expect(invalid.find((i) => i.deliveryId === 'over-limit')?.reason).toMatch(/over the SQS limit of \d+/);
    expect(invalid.find((i) => i.deliveryId === 'lone-surrogate')?.reason).toMatch(/not well-formed Unicode/);
    const item = await pipeline.aws.doc.send(
      new GetCommand({ TableName: pipeline.aws.tableName, Key: { pk: `invalid#${WEBHOOK}#over-limit` } }),
    );
    expect(item.Item?.reason).toMatch(/over the SQS limit/);
    expect(item.Item?.rawTruncated).toBe(true); // the raw entry is kept, cut to a bounded size
  });

  it('delivers a body just under the SQS limit and one full of odd characters byte for byte', async () => {
    await eventually(
      () => ['near-limit', 'odd-text'].every((id) => settledIds().has(id)),
      'both deliveries',
      30_000,
    );
    const bodies = targets.hitsOn('/ok').map((h) => h.body);
    expect(bodies.some((b) => b.equals(Buffer.from(nearLimit, 'utf8')))).toBe(true);
    expect(bodies.some((b) => b.equals(Buffer.from(oddText, 'utf8')))).toBe(true);
  });

  it('carries thousands of headers and a huge header intact; the target refusing them is a permanent outcome', async () => {
    await eventually(
      () => ['many-headers', 'huge-header'].every((id) => settledIds().has(id)),
      'header deliveries to settle',
      30_000,
    );
    const many = outcomes.find((o) => o.deliveryId === 'many-headers' && o.result !== 'retry-scheduled');
    const huge = outcomes.find((o) => o.deliveryId === 'huge-header' && o.result !== 'retry-scheduled');
    // Node's HTTP server refuses more than 16 KiB of headers with 431: recorded, not retried.
    expect(many?.result).toBe('permanent');
    expect(many?.status).toBe(431);
    expect(huge?.status).toBe(431);
    await eventually(
      async () =>
        (await drainQueue(pipeline.aws.sqs, pipeline.aws.dlqUrl)).some((m) => {
          if (m.deliveryId !== 'many-headers') return false;
          expect(Object.keys(m.headers)).toHaveLength(3_000);
          expect(m.headers.X_H2999 ?? m.headers['X-H2999']).toBe('v2999');
          return true;
        }),
      'the many-headers dead letter with every header',
      30_000,
    );
  });

  it('strips header values that are not valid HTTP field values, naming them, and still delivers', async () => {
    await eventually(() => settledIds().has('non-latin1-header'), 'the non-latin1 delivery', 30_000);
    const outcome = outcomes.find((o) => o.deliveryId === 'non-latin1-header' && o.result === 'delivered');
    expect(outcome).toBeDefined();
    const hit = targets.hitsOn('/ok').find((h) => h.body.toString() === '{"n":3}');
    expect(hit?.headers['x-emoji']).toBeUndefined();
    const event = outcome?.eventKey ? await pipeline.ledger.getEvent(outcome.eventKey) : undefined;
    expect(event?.status).toBe('delivered');
  });
});

import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbLedger, ledgerKeys } from '../../lambdas/shared/adapters/dynamodb-ledger';
import {
  ABSENT,
  applyWrite,
  claim,
  MAX_KEPT_ATTEMPTS,
  onReceive,
  settle,
} from '../../lambdas/shared/domain/event-lifecycle';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { drainQueue } from '../support/queue-contents';
import { receive, redelivererInstance, sendCopy } from '../support/redeliverer-harness';
import { retryMessageTo } from '../support/retry-messages';
import { startTargetServer } from '../support/target-server';

/**
 * Issue 20, point 5: the ledger item is bounded (the newest attempts plus counters), so it cannot grow to
 * DynamoDB's 400 KB item limit, at which every write fails and a delivered event would stay `enqueued`.
 */
const settings = parsePipelineSettings({
  WEBHOOK_ID: 'wh-bounds',
  MAX_RETRIES: '3',
  RETRY_DELAY_SECONDS: '1',
  MAX_RETRY_DELAY_SECONDS: '2',
  DELIVERY_TIMEOUT_SECONDS: '2',
  TARGET_ALLOW_LOOPBACK: 'true',
});
let aws: LocalAws;
let targets: Awaited<ReturnType<typeof startTargetServer>>;
let ledger: DynamoDbLedger;

beforeAll(async () => {
  aws = await startLocalAws(settings, undefined, 1);
  targets = await startTargetServer({ '/big': () => 200 });
  ledger = new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 1, client: aws.doc });
}, 60_000);

afterAll(async () => {
  await targets?.stop();
  await aws?.stop();
});

const message = (path: string): RetryMessage => retryMessageTo('wh-bounds', targets.url, path);

/** The item's size as DynamoDB counts it, near enough: names and values as UTF-8 (JSON adds a little). */
async function itemBytes(key: string): Promise<number> {
  const out = await aws.doc.send(
    new GetCommand({ TableName: aws.tableName, Key: { pk: ledgerKeys.event(key) }, ConsistentRead: true }),
  );
  return Buffer.byteLength(
    JSON.stringify(out.Item, (_, v) => (v instanceof Set ? [...v] : v)),
    'utf8',
  );
}

describe('the ledger item stays bounded', () => {
  it('an item written by older code near 400 KB is delivered, and shrinks to the newest attempts', async () => {
    const m = message('/big');
    const error = `target answered 503 Service Unavailable ${'x'.repeat(450)}`;
    const attempts = Array.from({ length: 600 }, (_, i) => ({
      attempt: i + 1,
      messageId: `m-old-${i}`,
      at: new Date().toISOString(),
      durationMs: 3,
      outcome: 'retryable',
      status: 503,
      error,
    }));
    await aws.doc.send(
      new PutCommand({
        TableName: aws.tableName,
        Item: {
          pk: ledgerKeys.event(m.eventKey),
          kind: 'event',
          eventKey: m.eventKey,
          deliveryId: m.deliveryId,
          webhookId: m.webhookId,
          targetUrl: m.targetUrl,
          status: 'enqueued',
          attempts,
          budgetAttempts: 0,
          updatedAt: new Date().toISOString(),
        },
      }),
    );
    const before = await itemBytes(m.eventKey);
    expect(before).toBeGreaterThan(350_000);
    expect(before).toBeLessThan(400_000);

    const instance = redelivererInstance(aws, settings, 'big');
    await sendCopy(aws, m);
    for (let i = 0; i < 5 && !instance.outcomes.some((o) => o.result === 'delivered'); i++) {
      await instance.invoke(await receive(aws, 10, 1));
    }
    const record = await ledger.getEvent(m.eventKey);
    expect(record).toMatchObject({ status: 'delivered', attemptsTotal: 601 });
    expect(record?.attempts).toHaveLength(MAX_KEPT_ATTEMPTS);
    expect(record?.attempts.at(-1)).toMatchObject({ outcome: 'delivered', status: 200 });
    expect(await itemBytes(m.eventKey)).toBeLessThan(20_000);
    expect(await drainQueue(aws.sqs, aws.dlqUrl)).toEqual([]);
  }, 30_000);

  it('200 budgets of 3 attempts each (199 redrives) keep the item under 20 KB', async () => {
    const m = message('/redriven');
    const identity = { deliveryId: m.deliveryId, webhookId: m.webhookId, targetUrl: m.targetUrl };
    const now = new Date();
    let sent = now.getTime();
    for (let b = 1; b <= 200; b++) {
      for (let n = 1; n <= 3; n++) {
        const state = (await ledger.getEvent(m.eventKey)) ?? ABSENT;
        // A redrive is a copy SQS sent after the verdict: a later SentTimestamp.
        sent += 1;
        const copy = { messageId: `m-${b}`, sentAtMs: sent };
        const at = new Date(sent);
        const d = onReceive(state, copy, at, { maxRetries: 3 });
        if (d.kind !== 'go') throw new Error(`budget ${b}, attempt ${n}: ${d.kind}`);
        const c = claim(state, d.budget, copy.messageId, at, 17);
        expect(await ledger.transition(m.eventKey, c, identity)).toEqual({ result: 'applied' });
        const attempt = {
          attempt: n,
          messageId: copy.messageId,
          at: at.toISOString(),
          durationMs: 3,
          outcome: 'retryable' as const,
          status: 503,
          error: `target answered 503 Service Unavailable ${'y'.repeat(400)}`,
        };
        const end =
          n === 3
            ? { kind: 'exhausted' as const, reason: '503 Service Unavailable after 3 attempts' }
            : { kind: 'retry' as const, nextAttemptAt: at.toISOString() };
        const write = settle(applyWrite(state, c), copy.messageId, attempt, end, at);
        expect(await ledger.transition(m.eventKey, write, identity)).toEqual({ result: 'applied' });
      }
    }
    const record = await ledger.getEvent(m.eventKey);
    expect(record).toMatchObject({ status: 'exhausted', budget: 200, redrives: 199, attemptsTotal: 600 });
    expect(record?.attempts).toHaveLength(MAX_KEPT_ATTEMPTS);
    expect(await itemBytes(m.eventKey)).toBeLessThan(20_000);
  }, 120_000);
});

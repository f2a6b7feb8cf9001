import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollFailedDeliveries } from '../../lambdas/poller/poll-failed-deliveries';
import { DynamoDbLedger, ledgerKeys } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { SqsRetryQueue } from '../../lambdas/shared/adapters/sqs-retry-queue';
import type { FailedDeliverySource } from '../../lambdas/shared/ports';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { drainQueue } from '../support/queue-contents';

/**
 * Issue 11, point 1: whatever sits beside a good entry on a page, the good entry is enqueued, the page
 * completes and the watermark moves. The ledger and queue are dynalite and fauxqs, so DynamoDB's own limits
 * (2,048-byte keys, 400 KB items) and SQS's apply; the source is a stand-in because no JSON emulator can
 * serialise a body nested 6,000 levels deep.
 */
let aws: LocalAws;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  aws = await startLocalAws(parsePipelineSettings({ WEBHOOK_ID: 'x' }));
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await aws?.stop();
});

const now = new Date('2026-11-28T13:00:00.000Z');
const base = {
  webhookId: 'wh',
  status: 'failed',
  httpStatusCode: 500,
  headers: {},
  webhookUrl: 'https://hooks.example.com/in',
  dateCreated: '2026-11-28T12:50:00.000Z',
};

function nested(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { a: v } : [v];
  return v;
}

const huge = (n: number) => 'x'.repeat(n);

/** The entries the security review used, and their neighbours. */
const hostile = fc.oneof(
  fc.jsonValue(),
  fc
    .integer({ min: 300, max: 8_000 })
    .map((depth) => ({ ...base, id: `deep-${depth}`, body: nested(depth) })),
  fc.integer({ min: 2_049, max: 4_000 }).map((n) => ({ ...base, id: huge(n), body: {} })),
  fc.constantFrom('status', 'webhookId', 'errorMessage', 'dateCreated').map((field) => ({
    ...base,
    id: `huge-${field}`,
    body: {},
    [field]: huge(500_000),
  })),
  fc.constant({
    ...base,
    id: 'huge-url',
    body: {},
    webhookUrl: `https://hooks.example.com/${huge(450_000)}`,
  }),
  fc.constant({ ...base, id: 'huge-id-deep', body: nested(6_000), webhookId: huge(300_000) }),
  fc
    .array(
      fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'Content-Type', 'content-type')),
      {
        maxLength: 5,
      },
    )
    .map((names) => ({
      ...base,
      id: `odd-headers-${names.length}`,
      body: { n: names.length },
      headers: Object.fromEntries(names.map((n, i) => [n, i % 2 === 0 ? `v${i}` : huge(1_000)])),
    })),
  fc.string().map((s) => ({ ...base, id: `surrogate-${s.length}`, body: `\ud800${s}` })),
  fc.record(
    {
      id: fc.string({ minLength: 1 }),
      status: fc.constant('failed'),
      body: fc.jsonValue(),
      webhookUrl: fc.string(),
    },
    { requiredKeys: [] },
  ),
);

let run = 0;

describe('hostile delivery-log entries against dynalite and fauxqs', () => {
  it('never keep the good entry beside them from being enqueued, nor the page from completing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 4 }), fc.nat(4), async (junk, at) => {
        run += 1;
        const webhookId = `wh-${run}`;
        const good = { ...base, webhookId, id: `good-${run}`, body: { run } };
        const entries = [
          ...junk.map((j) =>
            isObject(j) && 'webhookId' in j && j.webhookId === 'wh' ? { ...j, webhookId } : j,
          ),
        ];
        entries.splice(Math.min(at, entries.length), 0, good);
        const source: FailedDeliverySource = {
          async *failedDeliveries() {
            yield entries;
          },
          readPage: async () => ({ entries, pageCount: 1, hasNext: false }),
        };
        const ledger = new DynamoDbLedger({
          tableName: aws.tableName,
          ttlDays: 30,
          client: aws.doc,
          now: () => now,
        });
        const [result] = await pollFailedDeliveries({
          source,
          queue: new SqsRetryQueue({ queueUrl: aws.retryQueueUrl, client: aws.sqs }),
          ledger,
          settings: parsePipelineSettings({ WEBHOOK_ID: webhookId }),
          now: () => now,
          deadline: Date.now() + 60_000,
        });
        expect(result?.error, JSON.stringify(result?.error)).toBeUndefined();
        expect(result?.complete).toBe(true);
        expect(result?.found).toBe(entries.length);
        expect((await ledger.getWatermark(webhookId))?.through).toBe(now.toISOString());
        const queued = await drainQueue(aws.sqs, aws.retryQueueUrl);
        expect(queued.some((m) => m.deliveryId === good.id)).toBe(true);
        expect(unhandled).toEqual([]);
      }),
      { numRuns: 40 },
    );
  }, 180_000);

  it('keeps refusal records within DynamoDB limits: long ids hashed into the key, reasons and raw copies capped', async () => {
    const webhookId = 'wh-caps';
    const id = huge(3_000);
    const entries = [{ ...base, webhookId, id, body: {}, status: huge(500_000) }];
    const source: FailedDeliverySource = {
      async *failedDeliveries() {
        yield entries;
      },
      readPage: async () => ({ entries, pageCount: 1, hasNext: false }),
    };
    const ledger = new DynamoDbLedger({
      tableName: aws.tableName,
      ttlDays: 30,
      client: aws.doc,
      now: () => now,
    });
    const [result] = await pollFailedDeliveries({
      source,
      queue: new SqsRetryQueue({ queueUrl: aws.retryQueueUrl, client: aws.sqs }),
      ledger,
      settings: parsePipelineSettings({ WEBHOOK_ID: webhookId }),
      now: () => now,
      deadline: Date.now() + 60_000,
    });
    expect(result).toMatchObject({ invalid: 1, complete: true });
    const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
    // The refusal is keyed by the id as normalisation shortened it (a prefix and a hash of the whole).
    const scan = await aws.doc.send(
      new (await import('@aws-sdk/lib-dynamodb')).ScanCommand({
        TableName: aws.tableName,
        FilterExpression: 'webhookId = :w AND kind = :k',
        ExpressionAttributeValues: { ':w': webhookId, ':k': 'invalid' },
      }),
    );
    const item = scan.Items?.[0];
    expect(item?.pk.length).toBeLessThanOrEqual(2_048);
    expect(String(item?.deliveryId)).toMatch(/^x{64}…sha256:[0-9a-f]{32}$/);
    expect(String(item?.reason).length).toBeLessThanOrEqual(500);
    expect(String(item?.reason)).toContain('id is 3000 characters');
    expect(String(item?.raw).length).toBeLessThanOrEqual(16_384);
    expect(item?.rawTruncated).toBe(true);
    const again = await aws.doc.send(new GetCommand({ TableName: aws.tableName, Key: { pk: item?.pk } }));
    expect(again.Item).toBeDefined();
    expect(ledgerKeys.invalid(webhookId, huge(5_000))).toMatch(/^invalid#wh-caps#sha256:[0-9a-f]{64}$/);
  });
});

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

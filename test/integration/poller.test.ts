import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pollFailedDeliveries } from '../../lambdas/poller/poll-failed-deliveries';
import { DynamoDbLedger } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { GenesysDeliverySource } from '../../lambdas/shared/adapters/genesys-delivery-source';
import { SqsRetryQueue } from '../../lambdas/shared/adapters/sqs-retry-queue';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import type { RetryQueue } from '../../lambdas/shared/ports';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import {
  type EmulatedDelivery,
  type GenesysEmulator,
  startGenesysEmulator,
} from '../../local/genesys-emulator';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { drainQueue } from '../support/queue-contents';

// Both clocks are ours: the emulator lists by them and the poller windows by them, so late entries are exact.
let clock = new Date('2026-11-28T12:00:00.000Z');
const advance = (seconds: number) => {
  clock = new Date(clock.getTime() + seconds * 1000);
};
const ago = (seconds: number) => new Date(clock.getTime() - seconds * 1000).toISOString();

let emulator: GenesysEmulator;
let aws: LocalAws;
let source: GenesysDeliverySource;
let webhookCounter = 0;

beforeAll(async () => {
  emulator = await startGenesysEmulator({
    now: () => clock,
    clients: [{ clientId: 'id', clientSecret: 'secret' }],
  });
  aws = await startLocalAws(parsePipelineSettings({ WEBHOOK_ID: 'x' }));
  source = new GenesysDeliverySource({
    region: emulator.url,
    credentials: async () => ({ clientId: 'id', clientSecret: 'secret' }),
  });
});
afterAll(async () => {
  await aws?.stop();
  await emulator?.stop();
});

let webhookId: string;
beforeEach(async () => {
  webhookCounter += 1;
  webhookId = `wh-${webhookCounter}`;
  emulator.addWebhook(webhookId);
  await drainQueue(aws.sqs, aws.retryQueueUrl);
});

function delivery(
  id: string,
  secondsAgo: number,
  body: unknown,
  extra: Partial<EmulatedDelivery> = {},
): EmulatedDelivery {
  return {
    id,
    webhookId,
    status: 'failed',
    httpStatusCode: 503,
    body,
    headers: { 'Content-Type': 'application/json' },
    webhookUrl: 'http://127.0.0.1:9/hook',
    dateCreated: ago(secondsAgo),
    ...extra,
  };
}

function poll(
  queue: RetryQueue = new SqsRetryQueue({ queueUrl: aws.retryQueueUrl, client: aws.sqs }),
  deadlineMs = 20_000,
) {
  return pollFailedDeliveries({
    source,
    queue,
    ledger: new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 30, client: aws.doc, now: () => clock }),
    settings: parsePipelineSettings({
      WEBHOOK_ID: webhookId,
      LOOKBACK_HOURS: '1',
      POLL_OVERLAP_SECONDS: '360',
      TARGET_ALLOW_LOOPBACK: 'true', // targets on 127.0.0.1, as in local mode
    }),
    now: () => clock,
    deadline: Date.now() + deadlineMs,
  });
}

const keys = (messages: RetryMessage[]) => messages.map((m) => m.deliveryId).sort();

describe('poller against the Genesys emulator, fauxqs and dynalite', () => {
  it('enqueues each event once across overlapping polls and folds repeated attempts of one event', async () => {
    emulator.addDeliveries([
      delivery('a-1', 1200, { event: 'a' }),
      delivery('a-2', 1100, { event: 'a' }), // Genesys's second attempt at the same event
      delivery('a-3', 1000, { event: 'a' }),
      delivery('b-1', 900, '{"event":"b"}'),
      delivery('c-1', 60, 'plain text c', { headers: { 'Content-Type': 'text/plain' } }),
    ]);
    const [first] = await poll();
    expect(first, JSON.stringify(first)).toMatchObject({
      found: 5,
      enqueued: 3,
      duplicates: 2,
      invalid: 0,
      complete: true,
    });
    advance(60);
    const [second] = await poll(); // window starts 5 min before the watermark: c-1 is listed again
    expect(second).toMatchObject({ found: 1, enqueued: 0, duplicates: 1, complete: true });
    const messages = await drainQueue(aws.sqs, aws.retryQueueUrl);
    expect(keys(messages)).toEqual(['a-1', 'b-1', 'c-1']);
    expect(messages.find((m) => m.deliveryId === 'b-1')?.body).toBe('{"event":"b"}');
  });

  it('finds an entry that Genesys lists late through the overlap of the next poll', async () => {
    emulator.addDeliveries([
      delivery('late-1', 30, { late: true }, { listedAt: new Date(clock.getTime() + 120_000).toISOString() }),
      delivery('on-time', 20, { late: false }),
    ]);
    const [first] = await poll();
    expect(first).toMatchObject({ enqueued: 1 });
    advance(180); // late-1 is now listed; it was created before the watermark but inside the overlap
    const [second] = await poll();
    expect(second).toMatchObject({ enqueued: 1, duplicates: 1 });
    expect(keys(await drainQueue(aws.sqs, aws.retryQueueUrl))).toEqual(['late-1', 'on-time']);
  });

  it('stops at a 429 it cannot wait out, keeps the watermark, and completes on the next poll without loss', async () => {
    emulator.addDeliveries([delivery('r-1', 600, { n: 1 }), delivery('r-2', 500, { n: 2 })]);
    emulator.injectFaults({ status: 429, count: 1, retryAfterSeconds: 120, path: 'deliveries' });
    const [first] = await poll(undefined, 2_000);
    expect(first?.complete).toBe(false);
    expect(first?.error).toMatchObject({ status: 429 });
    expect(first?.enqueued).toBe(0);
    advance(60);
    const [second] = await poll();
    expect(second).toMatchObject({ complete: true, enqueued: 2 });
    expect(keys(await drainQueue(aws.sqs, aws.retryQueueUrl))).toEqual(['r-1', 'r-2']);
  });

  it('logs in again when the token has expired', async () => {
    emulator.addDeliveries([delivery('t-1', 100, { n: 1 })]);
    await poll();
    const logins = emulator.stats.logins;
    emulator.expireAllTokens();
    emulator.addDeliveries([delivery('t-2', 10, { n: 2 })]);
    advance(30);
    const [second] = await poll();
    expect(second).toMatchObject({ complete: true, enqueued: 1 });
    expect(emulator.stats.logins).toBe(logins + 1);
    expect(keys(await drainQueue(aws.sqs, aws.retryQueueUrl))).toEqual(['t-1', 't-2']);
  });

  it('keeps the watermark when SQS refuses a batch, then enqueues the same events on the next poll', async () => {
    emulator.addDeliveries([delivery('q-1', 3000, { n: 1 }), delivery('q-2', 2900, { n: 2 })]);
    const down: RetryQueue = {
      enqueue: async (messages) =>
        messages.map((m) => ({ eventKey: m.eventKey, reason: 'SQS is down', permanent: false })),
      setVisibility: async () => undefined,
      requeue: async () => undefined,
    };
    const [first] = await poll(down);
    expect(first).toMatchObject({ complete: false, enqueued: 0 });
    advance(60);
    const [second] = await poll();
    expect(second).toMatchObject({ complete: true, enqueued: 2 });
    expect(keys(await drainQueue(aws.sqs, aws.retryQueueUrl))).toEqual(['q-1', 'q-2']);
  });

  it('records entries it cannot enqueue, with a reason, and still enqueues the good ones beside them', async () => {
    emulator.addDeliveries([
      delivery('bad-url', 100, { n: 1 }, { webhookUrl: 'ftp://example.com/x' }),
      delivery('good', 90, { n: 2 }),
      delivery('metadata', 80, { n: 3 }, { webhookUrl: 'http://169.254.169.254/latest' }),
    ]);
    const [result] = await poll();
    expect(result).toMatchObject({ found: 3, enqueued: 1, invalid: 2, complete: true });
    const item = await aws.doc.send(
      new (await import('@aws-sdk/lib-dynamodb')).GetCommand({
        TableName: aws.tableName,
        Key: { pk: `invalid#${webhookId}#bad-url` },
      }),
    );
    expect(item.Item?.reason).toMatch(/scheme ftp is not allowed/);
    expect(keys(await drainQueue(aws.sqs, aws.retryQueueUrl))).toEqual(['good']);
  });

  it('reads every page of a large window', async () => {
    emulator.addDeliveries(
      Array.from({ length: 250 }, (_, i) => delivery(`p-${String(i).padStart(3, '0')}`, 1000 + i, { i })),
    );
    const before = emulator.stats.deliveryRequests;
    const [result] = await poll();
    expect(result).toMatchObject({ found: 250, enqueued: 250, complete: true });
    expect(emulator.stats.deliveryRequests - before).toBe(3);
    expect(new Set(keys(await drainQueue(aws.sqs, aws.retryQueueUrl))).size).toBe(250);
  });
});

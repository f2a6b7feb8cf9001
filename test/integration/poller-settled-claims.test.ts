import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CommandCounter } from '../../bench/support/command-counter';
import { pollerHandler } from '../../lambdas/poller/poller-handler';
import { SettledClaims } from '../../lambdas/poller/settled-claims';
import { DynamoDbLedger } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { DynamoDbPollLease } from '../../lambdas/shared/adapters/dynamodb-poll-lease';
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
import { lambdaContext } from '../../local/lambda-context';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { drainQueue } from '../support/queue-contents';

/**
 * The poller's memory of settled claims (issue 25), through the real handler, Genesys emulator, fauxqs and
 * dynalite: the overlap's re-listings cost a warm instance no GetItem, and memory never decides alone. Another
 * instance (its own memory), a claim left pending, an eviction: each is answered by the ledger, as before.
 */
let clock = new Date('2026-11-28T12:00:00.000Z');
const advance = (seconds: number) => {
  clock = new Date(clock.getTime() + seconds * 1000);
};
const ago = (seconds: number) => new Date(clock.getTime() - seconds * 1000).toISOString();

let emulator: GenesysEmulator;
let aws: LocalAws;
let source: GenesysDeliverySource;
const counter = new CommandCounter();
let webhookId: string;
let webhookCounter = 0;

beforeAll(async () => {
  emulator = await startGenesysEmulator({
    now: () => clock,
    clients: [{ clientId: 'id', clientSecret: 's' }],
  });
  aws = await startLocalAws(parsePipelineSettings({ WEBHOOK_ID: 'x' }));
  counter.attach(aws.doc.middlewareStack);
  source = new GenesysDeliverySource({
    region: emulator.url,
    credentials: async () => ({ clientId: 'id', clientSecret: 's' }),
  });
});
afterAll(async () => {
  await aws?.stop();
  await emulator?.stop();
});
beforeEach(async () => {
  webhookCounter += 1;
  webhookId = `wh-settled-${webhookCounter}`;
  emulator.addWebhook(webhookId);
  await drainQueue(aws.sqs, aws.retryQueueUrl);
});

function deliveries(prefix: string, count: number, newestSecondsAgo: number): EmulatedDelivery[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    webhookId,
    status: 'failed',
    httpStatusCode: 503,
    body: { prefix, i },
    headers: { 'Content-Type': 'application/json' },
    webhookUrl: `https://hooks.example.com/settled/${i % 7}`,
    dateCreated: ago(newestSecondsAgo + i / 10),
  }));
}

const sqsQueue = () => new SqsRetryQueue({ queueUrl: aws.retryQueueUrl, client: aws.sqs });

/** One poller instance, as one Lambda execution environment: its own handler, hence its own memory. */
function instance(queue: RetryQueue = sqsQueue(), settledClaims?: SettledClaims) {
  const handler = pollerHandler({
    source,
    queue,
    ledger: new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 30, client: aws.doc, now: () => clock }),
    // One lease in the table for every instance, as deployed.
    lease: new DynamoDbPollLease({ tableName: aws.tableName, client: aws.doc }),
    settings: parsePipelineSettings({ WEBHOOK_ID: webhookId, GENESYS_CLOUD_REGION: emulator.url }),
    now: () => clock,
    logger: new Logger({ logLevel: 'SILENT' }),
    ...(settledClaims ? { settledClaims } : {}),
  });
  return async () => {
    const before = { get: counter.count('GetItem'), put: counter.count('PutItem') };
    const summary = await handler({}, lambdaContext('poller', 30));
    return {
      summary,
      result: summary.webhooks[0],
      getItems: counter.count('GetItem') - before.get,
      putItems: counter.count('PutItem') - before.put,
    };
  };
}

/** Each delivery id at most once on the queue, and which ones. */
async function queued(): Promise<string[]> {
  const ids = (await drainQueue(aws.sqs, aws.retryQueueUrl)).map((m) => m.deliveryId).sort();
  expect(new Set(ids).size, 'an entry was enqueued twice').toBe(ids.length);
  return ids;
}

const ids = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i}`).sort();

describe('poller memory of settled claims (dynalite, fauxqs, Genesys emulator)', () => {
  it('an idle poll after a busy one makes at most 5 GetItem on a warm instance; a cold one asks the ledger', async () => {
    emulator.addDeliveries(deliveries('busy', 120, 1));
    const warm = instance();
    const busy = await warm();
    expect(busy.result).toMatchObject({ found: 120, enqueued: 120, complete: true });
    // Entries dated after the watermark are claimed without a read first: no completed poll listed them.
    expect(busy.getItems).toBeLessThanOrEqual(5);
    expect(busy.putItems).toBeGreaterThanOrEqual(120);

    advance(60); // the overlap lists all 120 again
    const idle = await warm();
    expect(idle.result).toMatchObject({ found: 120, enqueued: 0, duplicates: 120, complete: true });
    expect(idle.getItems).toBeLessThanOrEqual(5);

    // A cold instance (no memory) is answered by the ledger: nothing is enqueued again, at the old price.
    advance(60);
    const cold = await instance()();
    expect(cold.result).toMatchObject({ found: 120, enqueued: 0, duplicates: 120 });
    expect(cold.getItems).toBeGreaterThanOrEqual(120);
    expect(await queued()).toEqual(ids('busy', 120));
  });

  it('two instances with separate memories, polling in turn and at once, enqueue each entry exactly once', async () => {
    const a = instance();
    const b = instance();
    emulator.addDeliveries(deliveries('one', 30, 1));
    expect((await a()).result).toMatchObject({ enqueued: 30 });
    advance(60);
    emulator.addDeliveries(deliveries('two', 20, 1));
    const second = await b(); // B has never seen "one": the ledger tells it they are taken
    expect(second.result).toMatchObject({ found: 50, enqueued: 20, duplicates: 30 });
    // A read for each of "one" (listed before, dated before the watermark), none for the 20 new ones.
    expect(second.getItems).toBeGreaterThanOrEqual(30);
    expect(second.getItems).toBeLessThanOrEqual(30 + 5);
    advance(60);
    emulator.addDeliveries(deliveries('three', 10, 1));
    const third = await a(); // A remembers "one" only: "two" (B's) is asked of the ledger
    expect(third.result).toMatchObject({ found: 60, enqueued: 10, duplicates: 50 });
    // The ledger is asked for B's 20, never for A's own 30 nor for the 10 new ones.
    expect(third.getItems).toBeGreaterThanOrEqual(20);
    expect(third.getItems).toBeLessThanOrEqual(20 + 5);

    // Overlapping invocations of both instances: the lease lets one run, the other skips; none enqueues again.
    advance(60);
    emulator.addDeliveries(deliveries('four', 5, 1));
    const both = await Promise.all([a(), b(), a(), b()]);
    const ran = both.filter((p) => !p.summary.skipped);
    expect(ran.length).toBeGreaterThanOrEqual(1);
    expect(ran.reduce((sum, p) => sum + (p.result?.enqueued ?? 0), 0)).toBe(5);
    expect(await queued()).toEqual(
      [...ids('one', 30), ...ids('two', 20), ...ids('three', 10), ...ids('four', 5)].sort(),
    );
  });

  it('retries on the next poll a claim left pending (its send failed), and only then remembers it', async () => {
    emulator.addDeliveries(deliveries('flaky', 6, 1));
    let failing = true;
    const real = sqsQueue();
    // SQS refuses the odd entries once: their claims stay pending in the ledger.
    const queue: RetryQueue = {
      enqueue: async (messages) => {
        const refused = (m: RetryMessage) => failing && Number(m.deliveryId.split('-')[1]) % 2 === 1;
        const failures = await real.enqueue(messages.filter((m) => !refused(m)));
        return [
          ...failures,
          ...messages
            .filter(refused)
            .map((m) => ({ eventKey: m.eventKey, reason: 'SQS is down', permanent: false })),
        ];
      },
      setVisibility: (handle, seconds) => real.setVisibility(handle, seconds),
      requeue: (body, delay) => real.requeue(body, delay),
    };
    const settled = new SettledClaims();
    const poll = instance(queue, settled);
    // The poll fails (the alarm sees it) and keeps its watermark.
    await expect(poll()).rejects.toThrow(/could not enqueue every event: SQS is down/);
    expect(settled.size).toBe(3); // the three confirmed ones only

    failing = false;
    advance(60);
    // The watermark did not move, so the six are still unlisted: the pending three are claimed again at once
    // (their claim's condition takes a pending claim), the confirmed three are answered by the memory.
    const second = await poll();
    expect(second.result).toMatchObject({ found: 6, enqueued: 3, duplicates: 3, complete: true });
    expect(second.getItems).toBeLessThanOrEqual(5);
    expect(second.putItems).toBeGreaterThanOrEqual(3);
    expect(second.putItems).toBeLessThanOrEqual(3 + 2);
    expect(settled.size).toBe(6);

    advance(60);
    const third = await poll();
    expect(third.result).toMatchObject({ found: 6, enqueued: 0, duplicates: 6 });
    expect(third.getItems).toBeLessThanOrEqual(5);
    expect(await queued()).toEqual(ids('flaky', 6));
  });
});

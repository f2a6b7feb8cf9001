import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pollerHandler } from '../../lambdas/poller/poller-handler';
import { DynamoDbLedger } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { DynamoDbPollLease, POLL_LEASE_KEY } from '../../lambdas/shared/adapters/dynamodb-poll-lease';
import { GenesysDeliverySource } from '../../lambdas/shared/adapters/genesys-delivery-source';
import { SqsRetryQueue } from '../../lambdas/shared/adapters/sqs-retry-queue';
import type { FailedDeliverySource } from '../../lambdas/shared/ports';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type GenesysEmulator, startGenesysEmulator } from '../../local/genesys-emulator';
import { lambdaContext } from '../../local/lambda-context';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { drainQueue } from '../support/queue-contents';

/**
 * Overlapping polls without reserved concurrency (issue 19): the poll lease in the ledger table, on dynalite,
 * with the Genesys emulator and fauxqs. Overlap is made by a gate, not by timing: the first poll is held inside
 * its read of the delivery log while the second one runs.
 */
let emulator: GenesysEmulator;
let aws: LocalAws;
let webhookCounter = 0;
const CLIENT = { clientId: 'id', clientSecret: 'secret' };

beforeAll(async () => {
  emulator = await startGenesysEmulator({ clients: [CLIENT] });
  aws = await startLocalAws(parsePipelineSettings({ WEBHOOK_ID: 'x' }));
});
afterAll(async () => {
  await aws?.stop();
  await emulator?.stop();
});

/** A fresh webhook with one failed delivery, and the delivery log behind a gate the test opens. */
function setup() {
  webhookCounter += 1;
  const webhookId = `wh-lease-${webhookCounter}`;
  emulator.addWebhook(webhookId);
  emulator.addDeliveries([
    {
      id: `${webhookId}-d1`,
      webhookId,
      status: 'failed',
      httpStatusCode: 503,
      body: { n: webhookCounter },
      headers: { 'Content-Type': 'application/json' },
      webhookUrl: 'https://hooks.example.com/lease',
      dateCreated: new Date(Date.now() - 600_000).toISOString(),
    },
  ]);
  const real = new GenesysDeliverySource({ region: emulator.url, credentials: async () => CLIENT });
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => {
    entered = resolve;
  });
  let reads = 0;
  const gated: FailedDeliverySource = {
    failedDeliveries: (window, options) => real.failedDeliveries(window, options),
    readPage: async (window, page, options) => {
      reads += 1;
      entered();
      await gate;
      return real.readPage(window, page, options);
    },
  };
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'poller' });
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  // The per-webhook lag is published at once by a single metric; it is not what these tests look at.
  vi.spyOn(metrics, 'singleMetric').mockImplementation(
    () => ({ addDimension: () => undefined, addMetric: () => undefined }) as never,
  );
  const added = vi.spyOn(metrics, 'addMetric');
  const handler = pollerHandler({
    source: gated,
    queue: new SqsRetryQueue({ queueUrl: aws.retryQueueUrl, client: aws.sqs }),
    ledger: new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 30, client: aws.doc }),
    lease: new DynamoDbPollLease({ tableName: aws.tableName, client: aws.doc }),
    settings: parsePipelineSettings({ WEBHOOK_ID: webhookId, GENESYS_CLOUD_REGION: emulator.url }),
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics,
  });
  const skips = () => added.mock.calls.filter(([name]) => name === 'PollsSkipped').length;
  return { handler, open, inside, reads: () => reads, skips };
}

const leaseItem = async () =>
  (await aws.doc.send(new GetCommand({ TableName: aws.tableName, Key: { pk: POLL_LEASE_KEY } }))).Item;

describe('poll lease (dynalite)', () => {
  it('of two concurrent polls, one runs and one skips with PollsSkipped; the lease is released after', async () => {
    await drainQueue(aws.sqs, aws.retryQueueUrl);
    const { handler, open, inside, reads, skips } = setup();
    const first = handler({}, lambdaContext('poller', 30));
    await inside; // the first poll holds the lease and is reading the log
    const second = await handler({}, lambdaContext('poller', 30));
    expect(second).toEqual({ webhooks: [], skipped: true });
    expect(skips()).toBe(1);
    expect(reads()).toBe(1); // the skipped poll never read the delivery log
    open();
    const ran = await first;
    expect(ran.skipped).toBeUndefined();
    expect(ran.webhooks).toEqual([expect.objectContaining({ found: 1, enqueued: 1, complete: true })]);
    expect(await drainQueue(aws.sqs, aws.retryQueueUrl)).toHaveLength(1);
    const item = await leaseItem();
    expect(Number(item?.leaseUntil)).toBeLessThanOrEqual(Date.now());
    expect(item?.releasedAt).toEqual(expect.any(String));
  });

  it('takes over a lease whose holder died (expired), and skips while one is live', async () => {
    const live = setup();
    const now = Date.now();
    const hold = (holder: string, leaseUntil: number) =>
      aws.doc.send(
        new PutCommand({
          TableName: aws.tableName,
          Item: { pk: POLL_LEASE_KEY, kind: 'lease', holder, leaseUntil, expiresAt: 0 },
        }),
      );
    await hold('a-live-poll', now + 120_000);
    live.open();
    expect(await live.handler({}, lambdaContext('poller', 30))).toEqual({ webhooks: [], skipped: true });
    expect((await leaseItem())?.holder).toBe('a-live-poll'); // not released by the poll that skipped

    await hold('a-poll-that-timed-out', now - 1_000);
    const ran = await live.handler({}, lambdaContext('poller', 30));
    expect(ran.skipped).toBeUndefined();
    expect(ran.webhooks).toEqual([expect.objectContaining({ found: 1, enqueued: 1 })]);
    expect(live.skips()).toBe(1);
  });

  it('lets a retried invocation (same request id) re-enter its own unexpired lease', async () => {
    const { handler, open } = setup();
    open();
    const context = lambdaContext('poller', 30);
    const lease = new DynamoDbPollLease({ tableName: aws.tableName, client: aws.doc });
    expect(await lease.acquire(context.awsRequestId, new Date(Date.now() + 60_000))).toBe(true);
    expect(await lease.acquire('someone-else', new Date(Date.now() + 60_000))).toBe(false);
    const ran = await handler({}, context);
    expect(ran.skipped).toBeUndefined();
    // Released by its holder; a stale release by another holder does not end a new lease.
    expect(await lease.acquire('next-poll', new Date(Date.now() + 60_000))).toBe(true);
    await lease.release(context.awsRequestId);
    expect((await leaseItem())?.holder).toBe('next-poll');
    expect(Number((await leaseItem())?.leaseUntil)).toBeGreaterThan(Date.now());
    await lease.release('next-poll');
  });
});

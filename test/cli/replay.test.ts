import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayCommand } from '../../cli/commands/replay';
import { queueDepth } from '../../cli/commands/status';
import { DynamoDbLedger } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { GenesysDeliverySource } from '../../lambdas/shared/adapters/genesys-delivery-source';
import { normaliseDelivery } from '../../lambdas/shared/domain/normalise-delivery';
import { GenesysApiError, OperatorError } from '../../lambdas/shared/errors';
import type { FailedDeliverySource } from '../../lambdas/shared/ports';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import {
  type EmulatedDelivery,
  type GenesysEmulator,
  startGenesysEmulator,
} from '../../local/genesys-emulator';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { recordCall } from '../support/ledger-seed';
import { LOCAL_TARGETS } from '../support/local-targets';
import { drainQueue } from '../support/queue-contents';
import { testCli } from './cli-test-context';

/**
 * `replay` against the Genesys emulator and fauxqs/dynalite: only the window asked for is enqueued, repeated
 * attempts of one event are folded, and an event the ledger already knows is enqueued again (no dedupe).
 */
const CLIENT = { clientId: 'replay-client', clientSecret: 'replay-client-secret' };
const HOUR = 3_600_000;
const now = Date.now();
const since = new Date(now - 4 * HOUR);
const until = new Date(now - 1 * HOUR);
const settings = parsePipelineSettings({ WEBHOOK_ID: 'wh-replay' });

let emulator: GenesysEmulator;
let aws: LocalAws;
let source: GenesysDeliverySource;
let ledger: DynamoDbLedger;

function entry(id: string, at: number, event: string): EmulatedDelivery {
  return {
    id,
    webhookId: 'wh-replay',
    status: 'failed',
    httpStatusCode: 503,
    body: { event },
    headers: {},
    webhookUrl: 'https://hooks.example.com/replay',
    dateCreated: new Date(at).toISOString(),
  };
}

const deliveries = [
  entry('before', since.getTime() - 60_000, 'e-before'),
  entry('first', since.getTime(), 'e-first'), // the start is inclusive
  entry('known', now - 3 * HOUR, 'e-known'),
  entry('repeat-a', now - 2.5 * HOUR, 'e-repeat'),
  entry('repeat-b', now - 2 * HOUR, 'e-repeat'), // a later attempt of the same event: folded
  entry('delivered', now - 1.5 * HOUR, 'e-delivered'),
  entry('at-end', until.getTime(), 'e-end'), // the end is exclusive
  entry('after', now - 0.5 * HOUR, 'e-after'),
];

beforeAll(async () => {
  emulator = await startGenesysEmulator({ clients: [CLIENT], deliveries });
  aws = await startLocalAws(settings);
  source = new GenesysDeliverySource({ region: emulator.url, credentials: async () => CLIENT });
  ledger = new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 1, client: aws.doc });
  const toMessage = (id: string) => {
    const n = normaliseDelivery(
      deliveries.find((d) => d.id === id),
      { webhookId: 'wh-replay', forwardCredentials: false, targets: LOCAL_TARGETS, now: new Date() },
    );
    if (!n.ok) throw new Error(n.reason);
    return n.message;
  };
  // Already enqueued once (its messages expired with the outage): the poller's dedupe would skip it.
  const known = toMessage('known');
  await ledger.claim(known);
  await ledger.markEnqueued([known.eventKey]);
  const delivered = toMessage('delivered');
  await ledger.claim(delivered);
  const attempt = { messageId: 'm-1', at: new Date().toISOString(), durationMs: 3 };
  await recordCall(
    ledger,
    delivered,
    { ...attempt, outcome: 'delivered', status: 200 },
    { kind: 'delivered' },
  );
}, 60_000);

afterAll(async () => {
  await aws?.stop();
  await emulator?.stop();
});

describe('replay', () => {
  it('--dry-run shows exactly the window, and enqueues nothing', async () => {
    const cli = testCli(aws);
    const code = await replayCommand(
      cli.ctx,
      { webhook: 'wh-replay', since, until, dryRun: true },
      { source, settings },
    );
    expect(code).toBe(0);
    const ids = cli
      .out()
      .trim()
      .split('\n')
      .map((l) => l.split(/\s{2,}/)[1]);
    expect(ids).toEqual(['first', 'known', 'repeat-a']);
    expect(cli.out()).toMatch(/would enqueue\s+known .*\(ledger: enqueued\)/);
    expect(cli.err()).toContain('5 failed entries, 4 event(s), 1 already delivered');
    expect((await queueDepth(aws.sqs, aws.retryQueueUrl)).visible).toBe(0);
  });

  it('asks first, and enqueues nothing when the confirmation is refused', async () => {
    const cli = testCli(aws, async () => {
      throw new OperatorError('Enqueue? Not asking: stdin is not a terminal; pass --yes to go ahead.');
    });
    await expect(
      replayCommand(cli.ctx, { webhook: 'wh-replay', since, until, dryRun: false }, { source, settings }),
    ).rejects.toThrow(/pass --yes/);
    expect((await queueDepth(aws.sqs, aws.retryQueueUrl)).visible).toBe(0);
  });

  it('enqueues exactly the failed events of the window, bypassing the dedupe, and records them', async () => {
    const cli = testCli(aws);
    const code = await replayCommand(
      cli.ctx,
      { webhook: 'wh-replay', since, until, dryRun: false },
      { source, settings },
    );
    expect(code).toBe(0);
    const enqueued = await drainQueue(aws.sqs, aws.retryQueueUrl);
    expect(enqueued.map((m) => m.deliveryId).sort()).toEqual(['first', 'known', 'repeat-a']);
    expect(enqueued.find((m) => m.deliveryId === 'repeat-a')?.body).toBe('{"event":"e-repeat"}');
    for (const m of enqueued) expect((await ledger.getEvent(m.eventKey))?.status).toBe('enqueued');
    expect(cli.err()).toContain('3 event(s) enqueued');
  });

  it('halves a window the source cannot page whole, and reads every part', async () => {
    // A stand-in for a window over the source's page cap: anything longer than 40 minutes is refused.
    const capped: FailedDeliverySource = {
      readPage: (w, n, o) => source.readPage(w, n, o),
      async *failedDeliveries(window, options) {
        if (window.end.getTime() - window.start.getTime() > 40 * 60_000) {
          yield [];
          throw new GenesysApiError('too many pages', 200, 'window.too.large', undefined);
        }
        yield* source.failedDeliveries(window, options);
      },
    };
    const cli = testCli(aws);
    const code = await replayCommand(
      cli.ctx,
      { webhook: 'wh-replay', since, until, dryRun: true },
      { source: capped, settings },
    );
    expect(code).toBe(0);
    expect(cli.err()).toContain('5 failed entries, 4 event(s), 1 already delivered');
  });

  it('fails naming the window it could not read, and enqueues nothing', async () => {
    // One answer and its three retries: the page cannot be read.
    emulator.injectFaults({ status: 500, count: 4, path: 'deliveries' });
    const cli = testCli(aws);
    const failure = await replayCommand(
      cli.ctx,
      { webhook: 'wh-replay', since, until, dryRun: false },
      { source, settings },
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(OperatorError);
    expect(String(failure)).toMatch(
      new RegExp(
        `could not read the delivery log of webhook wh-replay from ${since.toISOString().replace(/\./g, '\\.')} to .*nothing was enqueued.*500`,
      ),
    );
    expect((await queueDepth(aws.sqs, aws.retryQueueUrl)).visible).toBe(0);
  });
});

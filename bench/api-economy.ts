import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { pollerHandler } from '../lambdas/poller/poller-handler';
import { SettledClaims } from '../lambdas/poller/settled-claims';
import { DynamoDbLedger } from '../lambdas/shared/adapters/dynamodb-ledger';
import { GenesysDeliverySource } from '../lambdas/shared/adapters/genesys-delivery-source';
import { parsePipelineSettings } from '../lambdas/shared/settings';
import { startGenesysEmulator } from '../local/genesys-emulator';
import { lambdaContext } from '../local/lambda-context';
import { startLocalAws } from '../local/local-aws';
import type { Goal } from './bench';
import type { PipelineRun } from './end-to-end';
import { CommandCounter } from './support/command-counter';
import { failedDeliveries } from './support/deliveries';
import { MemoryLedger, MemoryPollLease, MemoryRetryQueue } from './support/memory-ports';
import { emfMetrics, silenced } from './support/silence';

const CLIENT = { clientId: 'economy-client', clientSecret: 'economy-client-secret' };

/** Genesys calls made by one poll of one webhook with `newFailures` entries in its window. */
export interface PollEconomy {
  readonly newFailures: number;
  /** Delivery-log requests of the first poll, and the goal 1 + ⌈n/100⌉. */
  readonly logRequests: number;
  readonly goal: number;
  /** Delivery-log requests of the next poll, with nothing new (the overlap re-reads the last five minutes). */
  readonly nextPollLogRequests: number;
}

/** Genesys calls per poll, and the bytes a poll logs. */
export interface GenesysEconomy {
  readonly polls: readonly PollEconomy[];
  /** Logins over every poll of the run: one token serves them all (its lifetime is 24 h). */
  readonly logins: number;
  readonly pollsMade: number;
  /** Bytes the poller handler writes to its log (INFO lines and EMF metrics) for a poll that finds nothing. */
  readonly idlePollLogBytes: number;
  /** The custom metrics (name and dimensions) a poll of a webhook with no failures publishes, from its EMF lines. */
  readonly idlePollMetrics: readonly string[];
}

/**
 * Polls one webhook per size through the real poller handler and Genesys adapter against the emulator, with
 * in-memory ledger and queue (their calls are counted in the end-to-end runs). All polls share one adapter, as
 * a warm poller does, so the login count shows the token being reused.
 */
export async function measureGenesysEconomy(sizes: readonly number[]): Promise<GenesysEconomy> {
  const now = Date.now();
  const emulator = await startGenesysEmulator({
    clients: [CLIENT],
    webhookIds: [...sizes.map((n) => `wh-economy-${n}`), 'wh-economy-quiet'],
    deliveries: sizes.flatMap((n) =>
      failedDeliveries({
        count: n,
        webhookId: `wh-economy-${n}`,
        now,
        urlFor: (i) => `https://hooks.example.com/economy/${i}`,
      }),
    ),
  });
  const source = new GenesysDeliverySource({ region: emulator.url, credentials: async () => CLIENT });
  const ledger = new MemoryLedger();
  const queue = new MemoryRetryQueue();
  const poll = async (webhookId: string) => {
    const handler = pollerHandler({
      source,
      queue,
      ledger,
      lease: new MemoryPollLease(),
      settings: parsePipelineSettings({ GENESYS_CLOUD_REGION: emulator.url, WEBHOOK_ID: webhookId }),
      logger: new Logger({ serviceName: 'poller', logLevel: 'INFO' }),
      metrics: new Metrics({ namespace: 'Bench', serviceName: 'poller' }),
    });
    const before = emulator.stats.deliveryRequests;
    const { bytes, text } = await silenced(() => handler({}, lambdaContext('poller', 55)), { capture: true });
    return { requests: emulator.stats.deliveryRequests - before, bytes, metrics: emfMetrics(text) };
  };
  try {
    const polls: PollEconomy[] = [];
    let idlePollLogBytes = 0;
    let idlePollMetrics: string[] = [];
    let pollsMade = 0;
    for (const n of sizes) {
      const first = await poll(`wh-economy-${n}`);
      const next = await poll(`wh-economy-${n}`);
      pollsMade += 2;
      idlePollLogBytes = next.bytes;
      if (queue.sent.filter((m) => m.webhookId === `wh-economy-${n}`).length !== n) {
        throw new Error(`poll of ${n} failures did not enqueue them all`);
      }
      polls.push({
        newFailures: n,
        logRequests: first.requests,
        goal: 1 + Math.ceil(n / 100),
        nextPollLogRequests: next.requests,
      });
    }
    // A webhook with no failure at all: what an idle month publishes (the polls above still re-list their overlap).
    const quiet = await poll('wh-economy-quiet');
    pollsMade += 1;
    idlePollMetrics = quiet.metrics;
    return { polls, logins: emulator.stats.logins, pollsMade, idlePollLogBytes, idlePollMetrics };
  } finally {
    await emulator.stop();
  }
}

/** Ledger writes when failures arrive continuously, so each is re-listed by the polls that re-read the overlap. */
export interface SteadyStateWrites {
  readonly deliveries: number;
  readonly polls: number;
  /** DynamoDB calls by name over all the polls, per delivery. */
  readonly dynamoDbCallsPerDelivery: Record<string, number>;
  /** PutItem + UpdateItem per delivery, failed conditional writes included (DynamoDB bills those too). */
  readonly writesPerDelivery: number;
  /** GetItem of each poll, in order: the first claims every delivery, the next ones find nothing new. */
  readonly getItemPerPoll: readonly number[];
}

/** The poller's ledger calls with and without its memory of settled claims, measured in the same run. */
export interface SteadyStateComparison {
  /** One warm poller instance for every poll, remembering what it saw settled (as deployed). */
  readonly cached: SteadyStateWrites;
  /** No memory (settled-claims capacity 0): every listing asks the ledger, as before it; a cold instance each poll. */
  readonly uncached: SteadyStateWrites;
}

/** Issue 25's goals: re-listed entries cost a warm poller no ledger read. */
export function settledClaimGoals(steady: SteadyStateComparison, idlePoll: PipelineRun['idlePoll']): Goal[] {
  const reads = steady.cached.dynamoDbCallsPerDelivery.GetItem ?? 0;
  const idle = steady.cached.getItemPerPoll[1] ?? 0;
  const endToEndIdle = idlePoll.dynamoDbCalls.GetItem ?? 0;
  return [
    {
      goal: 'Idle poll right after a busy one (warm instance) ≤ 5 GetItem',
      measured: `${idle} (${steady.uncached.getItemPerPoll[1]} without the memory of settled claims); end-to-end idle poll ${endToEndIdle}`,
      met: idle <= 5 && endToEndIdle <= 5,
    },
    {
      goal: "Poller's GetItem per delivery, failures arriving continuously ≤ 1.5",
      measured: `${reads} (${steady.uncached.dynamoDbCallsPerDelivery.GetItem ?? 0} without the memory)`,
      met: reads <= 1.5,
    },
  ];
}

/** Both steady states, back to back on the same deliveries. */
export async function compareSteadyStateWrites(deliveries: number): Promise<SteadyStateComparison> {
  const uncached = await measureSteadyStateWrites(deliveries, 0);
  const cached = await measureSteadyStateWrites(deliveries);
  return { cached, uncached };
}

/**
 * Polls every POLL_INTERVAL_SECONDS (60) for as long as fresh failures stay inside the POLL_OVERLAP_SECONDS
 * (300) re-read, with the real DynamoDB ledger on dynalite, and counts the ledger calls. A delivery listed again
 * costs a failed conditional claim and a failed conditional update: writes that DynamoDB bills although they
 * change nothing. The poller's clock is advanced a minute per poll instead of waiting for it.
 */
export async function measureSteadyStateWrites(
  deliveries: number,
  settledClaims?: number,
): Promise<SteadyStateWrites> {
  const now = Date.now();
  const webhookId = 'wh-steady';
  const emulator = await startGenesysEmulator({
    clients: [CLIENT],
    webhookIds: [webhookId],
    // Created over the last minute: exactly what one poll a minute finds new.
    deliveries: failedDeliveries({ count: deliveries, webhookId, now, urlFor: () => '' }).map((d, i) => ({
      ...d,
      webhookUrl: `https://hooks.example.com/steady/${i}`,
      dateCreated: new Date(now - 1_000 - Math.floor((58_000 * i) / Math.max(1, deliveries))).toISOString(),
    })),
  });
  const settings = parsePipelineSettings({ GENESYS_CLOUD_REGION: emulator.url, WEBHOOK_ID: webhookId });
  const aws = await startLocalAws(settings);
  const counter = new CommandCounter();
  counter.attach(aws.doc.middlewareStack);
  const source = new GenesysDeliverySource({ region: emulator.url, credentials: async () => CLIENT });
  const ledger = new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 30, client: aws.doc });
  const queue = new MemoryRetryQueue();
  // Until the first poll's window start has moved past the newest delivery: overlap / interval + 2 polls.
  const polls = Math.ceil(settings.POLL_OVERLAP_SECONDS / settings.POLL_INTERVAL_SECONDS) + 2;
  let at = now;
  // One handler for every poll, as one warm Lambda instance runs them.
  const handler = pollerHandler({
    source,
    queue,
    ledger,
    lease: new MemoryPollLease(),
    settings,
    now: () => new Date(at),
    logger: new Logger({ serviceName: 'poller', logLevel: 'ERROR' }),
    ...(settledClaims === undefined ? {} : { settledClaims: new SettledClaims(settledClaims) }),
  });
  const getItemPerPoll: number[] = [];
  try {
    for (let k = 0; k < polls; k += 1) {
      at = now + k * settings.POLL_INTERVAL_SECONDS * 1000;
      const before = counter.count('GetItem');
      await handler({}, lambdaContext('poller', 55));
      getItemPerPoll.push(counter.count('GetItem') - before);
    }
    if (queue.sent.length !== deliveries) {
      throw new Error(`steady-state polls enqueued ${queue.sent.length} of ${deliveries} deliveries`);
    }
    const calls = counter.snapshot();
    const writes = (calls.PutItem ?? 0) + (calls.UpdateItem ?? 0);
    return {
      deliveries,
      polls,
      dynamoDbCallsPerDelivery: Object.fromEntries(
        Object.entries(calls).map(([name, count]) => [name, Math.round((count / deliveries) * 100) / 100]),
      ),
      writesPerDelivery: Math.round((writes / deliveries) * 100) / 100,
      getItemPerPoll,
    };
  } finally {
    await aws.stop();
    await emulator.stop();
  }
}

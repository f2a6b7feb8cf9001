import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { PollSummary } from '../lambdas/poller/poller-handler';
import { GenesysDeliverySource } from '../lambdas/shared/adapters/genesys-delivery-source';
import { parsePipelineSettings } from '../lambdas/shared/settings';
import { startGenesysEmulator } from '../local/genesys-emulator';
import { startLocalPipeline } from '../local/local-pipeline';
import { failedDeliveries } from './support/deliveries';
import { type Receivers, startReceivers } from './support/receivers';
import { since } from './support/stats';

const CLIENT = { clientId: 'bench-client', clientSecret: 'bench-client-secret' };
const WEBHOOK_ID = 'wh-catch-up';
const SMALL_WEBHOOK_ID = 'wh-catch-up-small';

/** What the catch-up run measured: a backlog left by an outage, recovered through local mode. */
export interface CatchUpRun {
  readonly deliveries: number;
  readonly pollIntervalSeconds: number;
  /** From the first poll to the last event enqueued, and to the last delivery answered. */
  readonly enqueuedSeconds: number;
  readonly deliveredSeconds: number;
  readonly polls: number;
  /** When (seconds from the first poll) the second webhook's single failure was enqueued. */
  readonly smallWebhookEnqueuedSeconds: number | null;
  readonly genesysRequests: number;
  readonly minimumRequests: number;
  readonly busiestMinuteRequests: number;
  readonly responses429: number;
  readonly finalLagSeconds: number;
}

/** What the seed-style loop does with the same backlog in the same time. */
export interface SeedCatchUpRun {
  readonly iterations: number;
  readonly distinctDelivered: number;
  readonly secondsPerIteration: number;
}

/**
 * Issue 10's scenario in local mode, as `npm start` runs it: one webhook with `deliveries` failures spread
 * over the last hour, a second webhook with one, polls every `pollIntervalSeconds`; real time, real sockets,
 * Genesys's rate limit as the emulator counts it.
 */
export async function runCatchUp(
  receivers: Receivers,
  deliveries: number,
  pollIntervalSeconds: number,
  timeoutMs: number,
): Promise<CatchUpRun> {
  const now = Date.now();
  const arrivals: number[] = [];
  const emulator = await startGenesysEmulator({
    clients: [CLIENT],
    deliveries: [
      ...spreadOverTheHour(
        failedDeliveries({
          count: deliveries,
          webhookId: WEBHOOK_ID,
          now,
          urlFor: (i) => `${receivers.healthyUrl}/hooks/${i % 20}`,
        }),
        now,
      ),
      ...failedDeliveries({
        count: 1,
        webhookId: SMALL_WEBHOOK_ID,
        now,
        urlFor: () => `${receivers.healthyUrl}/small`,
      }),
    ],
    log: (line) => {
      if (line.includes('/deliveries')) arrivals.push(Date.now());
    },
  });
  const settings = parsePipelineSettings({
    GENESYS_CLOUD_REGION: emulator.url,
    WEBHOOK_ID: `${WEBHOOK_ID},${SMALL_WEBHOOK_ID}`,
    POLL_INTERVAL_SECONDS: String(pollIntervalSeconds),
  });
  const pipeline = await startLocalPipeline({ settings, credentials: CLIENT, waitTimeSeconds: 1 });
  const answeredBefore = receivers.answered();
  const total = deliveries + 1;
  let enqueued = 0;
  let polls = 0;
  let enqueuedAt: number | undefined;
  let smallAt: number | undefined;
  let last: PollSummary | undefined;
  try {
    const started = performance.now();
    pipeline.startSchedule((summary) => {
      polls += 1;
      console.error(
        `poll ${polls} at ${round(since(started) / 1000)} s: ${summary.webhooks.map((w) => `${w.webhookId} +${w.enqueued} lag ${w.lagSeconds} s${w.error ? ` (${w.error.message})` : ''}`).join(', ')}; delivered ${receivers.answered() - answeredBefore}`,
      );
      last = summary;
      for (const w of summary.webhooks) {
        enqueued += w.enqueued;
        if (w.webhookId === SMALL_WEBHOOK_ID && w.enqueued > 0) smallAt ??= since(started);
      }
      if (enqueued >= total) enqueuedAt ??= since(started);
    });
    const until = Date.now() + timeoutMs;
    while (
      (receivers.answered() - answeredBefore < total || enqueuedAt === undefined) &&
      Date.now() < until
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const deliveredMs = since(started);
    return {
      deliveries,
      pollIntervalSeconds,
      enqueuedSeconds: round((enqueuedAt ?? Number.NaN) / 1000),
      deliveredSeconds: round(deliveredMs / 1000),
      polls,
      smallWebhookEnqueuedSeconds: smallAt === undefined ? null : round(smallAt / 1000),
      genesysRequests: emulator.stats.deliveryRequests,
      minimumRequests: Math.ceil(deliveries / 100) + 1,
      busiestMinuteRequests: busiestMinute(arrivals),
      responses429: emulator.stats.responsesByStatus[429] ?? 0,
      finalLagSeconds: Math.max(0, ...(last?.webhooks.map((w) => w.lagSeconds) ?? [])),
    };
  } finally {
    await pipeline.stop();
    await emulator.stop();
  }
}

/**
 * The seed's loop on the same backlog: once a minute, read the last hour's first page and POST each entry in
 * turn. It never pages, so it sends the same first page every minute and never reaches the rest. The
 * iterations run back to back here (their count, not the minute between them, decides what is delivered).
 */
export async function runSeedCatchUp(
  receivers: Receivers,
  deliveries: number,
  iterations: number,
): Promise<SeedCatchUpRun> {
  const now = Date.now();
  const emulator = await startGenesysEmulator({
    clients: [CLIENT],
    deliveries: spreadOverTheHour(
      failedDeliveries({
        count: deliveries,
        webhookId: WEBHOOK_ID,
        now,
        urlFor: (i) => `${receivers.healthyUrl}/hooks/${i % 20}`,
      }),
      now,
    ),
  });
  const source = new GenesysDeliverySource({ region: emulator.url, credentials: async () => CLIENT });
  const delivered = new Set<string>();
  try {
    const started = performance.now();
    for (let i = 0; i < iterations; i++) {
      const window = { webhookId: WEBHOOK_ID, start: new Date(Date.now() - 3_600_000), end: new Date() };
      const page = await source.readPage(window, 1);
      for (const entry of page.entries) {
        const { id, webhookUrl, headers, body } = entry as {
          id: string;
          webhookUrl: string;
          headers: Record<string, string>;
          body: unknown;
        };
        const response = await fetch(webhookUrl, {
          method: 'POST',
          headers,
          body: typeof body === 'string' ? body : JSON.stringify(body),
        });
        await response.arrayBuffer();
        delivered.add(id);
      }
    }
    return {
      iterations,
      distinctDelivered: delivered.size,
      secondsPerIteration: round(since(started) / 1000 / iterations),
    };
  } finally {
    await emulator.stop();
  }
}

/** Spreads entries over the hour before `now` (an hour-long outage), oldest a minute inside the lookback. */
function spreadOverTheHour<T extends { dateCreated: string }>(entries: T[], now: number): T[] {
  const step = (3_600_000 - 61_000) / Math.max(1, entries.length);
  return entries.map((e, i) => ({
    ...e,
    dateCreated: new Date(now - 3_600_000 + 60_000 + i * step).toISOString(),
  }));
}

function busiestMinute(times: readonly number[]): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[j] ?? 0) <= (times[i] ?? 0) - 60_000) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

// `npm run bench:catch-up [-- --deliveries N --interval S]`: this section alone, written beside the others.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      deliveries: { type: 'string', default: '35000' },
      interval: { type: 'string', default: '20' },
    },
  });
  const n = Number(values.deliveries);
  const interval = Number(values.interval);
  const receivers = await startReceivers();
  try {
    const pipeline = await runCatchUp(receivers, n, interval, 20 * 60_000);
    const seed = await runSeedCatchUp(receivers, n, 3);
    const report = { startedAt: new Date().toISOString(), pipeline, seed };
    const out = fileURLToPath(new URL('./results/catch-up.json', import.meta.url));
    await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await receivers.stop();
  }
}

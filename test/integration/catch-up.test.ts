import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLedger, MemoryRetryQueue } from '../../bench/support/memory-ports';
import { pollFailedDeliveries, type WebhookPollResult } from '../../lambdas/poller/poll-failed-deliveries';
import { GenesysDeliverySource } from '../../lambdas/shared/adapters/genesys-delivery-source';
import { deriveSettings } from '../../lambdas/shared/derived-settings';
import { type PipelineSettings, parsePipelineSettings } from '../../lambdas/shared/settings';
import {
  type EmulatedDelivery,
  type GenesysEmulator,
  startGenesysEmulator,
} from '../../local/genesys-emulator';
import { seededRandom } from '../support/seeded-random';

/**
 * The poller against the Genesys emulator over real sockets, on a virtual clock shared by both sides: the
 * client's rate-limit waits advance it instead of sleeping, every request to the emulator costs it some
 * latency, and the emulator sees each arrival up to half a second late (network jitter), so a minute of
 * Genesys's rate limit passes in well under a second of test time. Ledger and queue are in memory: this is
 * about how the log is read, and 35,000 emulated DynamoDB writes would take minutes.
 */
class VirtualClock {
  constructor(public ms: number) {}
  readonly now = () => this.ms;
  readonly sleep = async (ms: number) => {
    this.ms += ms;
  };
}

interface Harness {
  readonly clock: VirtualClock;
  readonly emulator: GenesysEmulator;
  readonly source: GenesysDeliverySource;
  /** Server-side arrival times (the emulator's clock) of delivery-log requests. */
  readonly arrivals: number[];
}

const T0 = Date.parse('2026-11-28T12:00:00.000Z');
let running: GenesysEmulator | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function harness(
  options: { skewMs?: number; latencyMs?: number; seed?: number; serverLimit?: number } = {},
): Promise<Harness> {
  const clock = new VirtualClock(T0);
  const random = seededRandom(options.seed ?? 7);
  const arrivals: number[] = [];
  // Each request costs virtual latency; the server counts it up to 500 ms after it was sent (jitter).
  const latency = options.latencyMs ?? 40;
  let last = 0;
  const emulator = await startGenesysEmulator({
    clients: [{ clientId: 'id', clientSecret: 'secret' }],
    ...(options.serverLimit === undefined ? {} : { rateLimitPerMinute: options.serverLimit }),
    // Genesys's clock, read once per request as it arrives: ours plus skew, plus the network's jitter.
    now: () => {
      clock.ms += latency;
      last = clock.ms + (options.skewMs ?? 0) + Math.floor(random() * 500);
      return new Date(last);
    },
    log: (line) => {
      if (line.includes('/deliveries')) arrivals.push(last);
    },
  });
  running = emulator;
  const source = new GenesysDeliverySource({
    region: emulator.url,
    credentials: async () => ({ clientId: 'id', clientSecret: 'secret' }),
    sleep: clock.sleep,
    now: clock.now,
  });
  return { clock, emulator, source, arrivals };
}

function failed(webhookId: string, id: string, createdMs: number, listedAfterMs = 0): EmulatedDelivery {
  return {
    id,
    webhookId,
    status: 'failed',
    httpStatusCode: 503,
    body: { id },
    headers: { 'Content-Type': 'application/json' },
    webhookUrl: `https://hooks.example.com/${webhookId}`,
    dateCreated: new Date(createdMs).toISOString(),
    ...(listedAfterMs > 0 ? { listedAt: new Date(createdMs + listedAfterMs).toISOString() } : {}),
  };
}

/** Runs polls on the schedule (one every POLL_INTERVAL_SECONDS, each with the Lambda's time budget). */
async function runPolls(
  h: Harness,
  settings: PipelineSettings,
  ledger: MemoryLedger,
  queue: MemoryRetryQueue,
  until: (results: WebhookPollResult[], poll: number) => boolean,
  maxPolls: number,
): Promise<WebhookPollResult[][]> {
  const budgetMs = (deriveSettings(settings).pollerTimeoutSeconds - 5) * 1000;
  const all: WebhookPollResult[][] = [];
  for (let poll = 1; poll <= maxPolls; poll++) {
    const startedAt = h.clock.ms;
    const results = await pollFailedDeliveries({
      source: h.source,
      queue,
      ledger,
      settings,
      now: () => new Date(h.clock.ms),
      clock: () => h.clock.ms,
      deadline: startedAt + budgetMs,
    });
    all.push(results);
    if (until(results, poll)) break;
    h.clock.ms = Math.max(h.clock.ms, startedAt + settings.POLL_INTERVAL_SECONDS * 1000);
  }
  return all;
}

function maxInAnyMinute(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] ?? 0) <= (sorted[i] ?? 0) - 60_000) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('catch-up after a big outage', () => {
  it('reads 35,000 failures of one webhook at about the fewest pages, under the rate limit, without starving another', async () => {
    const h = await harness();
    const big = 35_000;
    const hour = 3_600_000;
    const entries: EmulatedDelivery[] = [];
    // Spread over the last hour before the first poll, as an hour-long outage leaves them.
    for (let i = 0; i < big; i++)
      entries.push(failed('wh-big', `big-${i}`, T0 - hour + 1_000 + i * ((hour - 2_000) / big)));
    entries.push(failed('wh-small', 'small-1', T0 - 30 * 60_000));
    h.emulator.addDeliveries(entries);
    const settings = parsePipelineSettings({ WEBHOOK_ID: 'wh-big,wh-small', POLL_INTERVAL_SECONDS: '20' });
    const ledger = new MemoryLedger();
    const queue = new MemoryRetryQueue();
    const polls = await runPolls(
      h,
      settings,
      ledger,
      queue,
      (results) => results.every((r) => r.complete && r.lagSeconds <= settings.POLL_INTERVAL_SECONDS),
      40,
    );

    const first = polls[0] ?? [];
    expect(first.find((r) => r.webhookId === 'wh-small')).toMatchObject({ enqueued: 1, complete: true });
    const counts = new Map<string, number>();
    for (const m of queue.sent) counts.set(m.deliveryId, (counts.get(m.deliveryId) ?? 0) + 1);
    expect(counts.size).toBe(big + 1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // Every poll moved the big webhook's watermark until it caught up: none stalled, none errored.
    for (const results of polls) {
      const r = results.find((x) => x.webhookId === 'wh-big');
      expect(r?.stalled, JSON.stringify(r)).toBe(false);
      expect(r?.error === undefined || /budget/.test(r.error.message), JSON.stringify(r)).toBe(true);
    }
    const pages = h.emulator.stats.deliveryRequests;
    const minimum = Math.ceil(big / 100) + 1;
    expect(pages).toBeGreaterThanOrEqual(minimum);
    expect(pages).toBeLessThanOrEqual(Math.ceil(minimum * 1.05));
    // As the server counts: by arrival time, jitter included, and it never had to answer 429.
    expect(maxInAnyMinute(h.arrivals)).toBeLessThanOrEqual(300);
    expect(h.emulator.stats.responsesByStatus[429] ?? 0).toBe(0);
    const last = polls.at(-1) ?? [];
    for (const r of last) expect(r.lagSeconds).toBeLessThanOrEqual(settings.POLL_INTERVAL_SECONDS);
    console.info(
      `catch-up: ${polls.length} polls, ${pages} pages (minimum ${minimum}), busiest server minute ${maxInAnyMinute(h.arrivals)} requests, ` +
        `${Math.round((h.clock.ms - T0) / 1000)} s of virtual time`,
    );
  }, 120_000);

  for (const skewSeconds of [-30, 30]) {
    it(`enqueues entries listed up to 300 s late with the Genesys clock ${Math.abs(skewSeconds)} s ${skewSeconds < 0 ? 'behind' : 'ahead of'} ours`, async () => {
      const h = await harness({ skewMs: skewSeconds * 1000, latencyMs: 5 });
      const settings = parsePipelineSettings({ WEBHOOK_ID: 'wh-late' });
      const ledger = new MemoryLedger();
      const queue = new MemoryRetryQueue();
      // Created (by Genesys's clock) every 7 s over ten minutes, each listed 0 to 300 s late.
      const lateness = [0, 1, 59, 120, 240, 270, 290, 299, 300];
      const entries: EmulatedDelivery[] = [];
      for (let i = 0; i < 90; i++) {
        const created = T0 + skewSeconds * 1000 + i * 7_000;
        entries.push(failed('wh-late', `late-${i}`, created, (lateness[i % lateness.length] ?? 0) * 1000));
      }
      h.emulator.addDeliveries(entries);
      await runPolls(h, settings, ledger, queue, (_r, poll) => poll >= 20, 20);
      const enqueued = new Set(queue.sent.map((m) => m.deliveryId));
      const missing = entries.filter((e) => !enqueued.has(e.id)).map((e) => e.id);
      expect(missing).toEqual([]);
      expect(queue.sent).toHaveLength(entries.length);
    });
  }

  it('follows the inin-ratelimit-* headers when the server allows fewer requests than the client would send', async () => {
    // The token's limit is 40 a minute, as if other clients shared it; the client's own budget is 280.
    const h = await harness({ serverLimit: 40 });
    const entries: EmulatedDelivery[] = [];
    for (let i = 0; i < 6_000; i++) entries.push(failed('wh-shared', `s-${i}`, T0 - 3_000_000 + i * 400));
    h.emulator.addDeliveries(entries);
    const settings = parsePipelineSettings({ WEBHOOK_ID: 'wh-shared' });
    const queue = new MemoryRetryQueue();
    await runPolls(h, settings, new MemoryLedger(), queue, (r) => r.every((x) => x.complete), 20);
    expect(new Set(queue.sent.map((m) => m.deliveryId)).size).toBe(6_000);
    expect(h.emulator.stats.responsesByStatus[429] ?? 0).toBe(0);
    expect(maxInAnyMinute(h.arrivals)).toBeLessThanOrEqual(40);
  });
});

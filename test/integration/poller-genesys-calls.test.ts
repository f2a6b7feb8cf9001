import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLedger, MemoryRetryQueue } from '../../bench/support/memory-ports';
import { pollFailedDeliveries, type WebhookPollResult } from '../../lambdas/poller/poll-failed-deliveries';
import { GenesysDeliverySource } from '../../lambdas/shared/adapters/genesys-delivery-source';
import type { DeliveryPage, DeliveryWindow, FailedDeliverySource } from '../../lambdas/shared/ports';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import {
  type EmulatedDelivery,
  type GenesysEmulator,
  startGenesysEmulator,
} from '../../local/genesys-emulator';

/**
 * Issue 25: Genesys calls of one poll of n new failures ≤ 1 + ⌈n/100⌉, counted at the emulator over HTTP, with
 * the real poller and adapter (ledger and queue in memory). No timing is asserted: the poll's deadline is far.
 */
const CLIENT = { clientId: 'calls-client', clientSecret: 'calls-secret' };
const MINUTE = 60_000;
let running: GenesysEmulator | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

function failed(webhookId: string, i: number, createdMs: number): EmulatedDelivery {
  return {
    id: `${webhookId}-${i}`,
    webhookId,
    status: 'failed',
    httpStatusCode: 503,
    body: { i },
    headers: { 'Content-Type': 'application/json' },
    webhookUrl: `https://hooks.example.com/${webhookId}/${i}`,
    dateCreated: new Date(createdMs).toISOString(),
  };
}

/** `count` failures spread evenly from `oldest` to `newest` minutes before `now`. */
function spread(webhookId: string, count: number, now: number, oldest = 52, newest = 8): EmulatedDelivery[] {
  const span = (oldest - newest) * MINUTE;
  return Array.from({ length: count }, (_, i) =>
    failed(webhookId, i, now - newest * MINUTE - Math.floor((span * i) / Math.max(1, count))),
  );
}

interface Run {
  readonly results: WebhookPollResult[];
  /** Webhook id of each delivery-log request, in the order the emulator saw them. */
  readonly requests: string[];
  readonly queue: MemoryRetryQueue;
}

async function pollOnce(webhookIds: string[], deliveries: EmulatedDelivery[], now: number): Promise<Run> {
  const requests: string[] = [];
  const emulator = await startGenesysEmulator({
    clients: [CLIENT],
    webhookIds,
    deliveries,
    log: (line) => {
      const m = /\/api\/v2\/webhooks\/([^/?]+)\/deliveries/.exec(line);
      if (m?.[1] !== undefined) requests.push(decodeURIComponent(m[1]));
    },
  });
  running = emulator;
  const queue = new MemoryRetryQueue();
  const results = await pollFailedDeliveries({
    source: new GenesysDeliverySource({ region: emulator.url, credentials: async () => CLIENT }),
    queue,
    ledger: new MemoryLedger(),
    settings: parsePipelineSettings({ WEBHOOK_ID: webhookIds.join(',') }),
    now: () => new Date(now),
    deadline: Date.now() + 10 * MINUTE,
  });
  return { results, requests, queue };
}

function enqueuedOnce(queue: MemoryRetryQueue, deliveries: readonly EmulatedDelivery[]): void {
  const sent = queue.sent.map((m) => m.deliveryId);
  expect(new Set(sent).size).toBe(sent.length);
  expect(new Set(sent)).toEqual(new Set(deliveries.map((d) => d.id)));
}

describe('Genesys calls per poll', () => {
  it.each([0, 1, 99, 100, 101, 250, 1_000, 10_000])(
    'a poll of %i new failures costs at most 1 + ⌈n/100⌉ delivery-log requests',
    async (n) => {
      const now = Date.now();
      const deliveries = spread('wh-calls', n, now);
      const { results, requests, queue } = await pollOnce(['wh-calls'], deliveries, now);
      expect(results[0]).toMatchObject({ complete: true, stalled: false, enqueued: n });
      expect(results[0]?.through).toBe(new Date(now).toISOString());
      enqueuedOnce(queue, deliveries);
      expect(requests.length).toBeLessThanOrEqual(1 + Math.ceil(n / 100));
      expect(results[0]?.pages).toBe(requests.length);
      if (n === 1_000) expect(requests.length).toBeLessThanOrEqual(11);
      if (n === 10_000) expect(requests.length).toBeLessThanOrEqual(101);
    },
    60_000,
  );

  it('costs one page more when failures run into the last minutes, where entries may still be listed late', async () => {
    // The overlap's part is read as an ordinary part, so the cut where it starts may leave one page short.
    const now = Date.now();
    const deliveries = spread('wh-recent', 10_000, now, 45, 1);
    const { results, requests, queue } = await pollOnce(['wh-recent'], deliveries, now);
    expect(results[0]).toMatchObject({ complete: true, enqueued: 10_000 });
    enqueuedOnce(queue, deliveries);
    expect(requests.length).toBeLessThanOrEqual(102);
  }, 60_000);

  it('takes turns between webhooks: a small one is read in the first turn, two big ones share every turn', async () => {
    const now = Date.now();
    const big = spread('wh-big-a', 5_000, now);
    const other = spread('wh-big-b', 5_000, now);
    const small = spread('wh-small', 1, now);
    const { results, requests, queue } = await pollOnce(
      ['wh-big-a', 'wh-big-b', 'wh-small'],
      [...big, ...other, ...small],
      now,
    );
    for (const r of results) expect(r).toMatchObject({ complete: true, stalled: false });
    enqueuedOnce(queue, [...big, ...other, ...small]);
    const count = (id: string, within = requests.length) =>
      requests.slice(0, within).filter((w) => w === id).length;
    // First turn: 20 pages before the pace is known, a third each; the small webhook's one read is among them.
    expect(requests.slice(0, 20)).toContain('wh-small');
    expect(count('wh-big-a', 20)).toBeGreaterThanOrEqual(6);
    expect(count('wh-big-b', 20)).toBeGreaterThanOrEqual(6);
    expect(count('wh-small')).toBe(1);
    expect(count('wh-big-a')).toBeLessThanOrEqual(51);
    expect(count('wh-big-b')).toBeLessThanOrEqual(51);
  }, 60_000);

  it('falls back to splitting by time, skipping nothing, when page ties straddle a page edge', async () => {
    // 1,000 failures on 8 instants: every page edge falls inside a run of equal dates, so no count can confirm.
    const now = Date.now();
    const deliveries = Array.from({ length: 1_000 }, (_, i) =>
      failed('wh-ties', i, now - 40 * MINUTE + Math.floor(i / 125) * MINUTE),
    );
    const { results, queue } = await pollOnce(['wh-ties'], deliveries, now);
    expect(results[0]).toMatchObject({ complete: true, stalled: false, enqueued: 1_000 });
    enqueuedOnce(queue, deliveries);
  }, 60_000);
});

/**
 * A delivery log that pages in an order unrelated to dates (by a hash of the id), with honest totals: a chain's
 * count can never confirm a page, so the poller must split by time and still enqueue everything exactly once.
 */
class UnorderedLog implements FailedDeliverySource {
  reads = 0;
  constructor(private readonly entries: readonly EmulatedDelivery[]) {}
  // The poller reads page by page; the whole-window iterator is not used.
  async *failedDeliveries(): AsyncIterable<readonly unknown[]> {}
  async readPage(window: DeliveryWindow, pageNumber: number): Promise<DeliveryPage> {
    this.reads += 1;
    const matching = this.entries
      .filter((e) => {
        const ms = Date.parse(e.dateCreated);
        return ms >= window.start.getTime() && ms < window.end.getTime();
      })
      .sort((a, b) => hash(a.id) - hash(b.id));
    const pageCount = Math.ceil(matching.length / 100);
    return {
      entries: matching.slice((pageNumber - 1) * 100, pageNumber * 100),
      pageCount,
      hasNext: pageNumber < pageCount,
      total: matching.length,
    };
  }
}

function hash(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}

describe('a delivery log whose first page is not its oldest entries', () => {
  it('is read entirely: the count fails and the window is split by time instead', async () => {
    const now = Date.now();
    const deliveries = spread('wh-unordered', 3_000, now);
    const source = new UnorderedLog(deliveries);
    const queue = new MemoryRetryQueue();
    const results = await pollFailedDeliveries({
      source,
      queue,
      ledger: new MemoryLedger(),
      settings: parsePipelineSettings({ WEBHOOK_ID: 'wh-unordered' }),
      now: () => new Date(now),
      deadline: Date.now() + 10 * MINUTE,
    });
    expect(results[0], JSON.stringify(results[0])).toMatchObject({
      complete: true,
      stalled: false,
      enqueued: 3_000,
    });
    enqueuedOnce(queue, deliveries);
    // The chain's attempt costs its first read and the one whose count failed; splitting costs what it did.
    expect(source.reads).toBeLessThanOrEqual(Math.ceil(3_000 / 100) + 8);
  });
});

describe('the last minutes of a window read by chain', () => {
  it('are left to the next poll when the probe counted nothing there, and an entry listed there late is enqueued then', async () => {
    let at = Date.parse('2026-11-28T12:00:00.000Z');
    const deliveries = spread('wh-tail', 2_000, at);
    // Created two minutes before the first poll, listed a minute after it: invisible to the first poll.
    const late = {
      ...failed('wh-tail', 9_999, at - 2 * MINUTE),
      listedAt: new Date(at + MINUTE).toISOString(),
    };
    let requests = 0;
    const emulator = await startGenesysEmulator({
      clients: [CLIENT],
      webhookIds: ['wh-tail'],
      deliveries: [...deliveries, late],
      now: () => new Date(at),
      log: (line) => {
        if (line.includes('/deliveries')) requests += 1;
      },
    });
    running = emulator;
    const source = new GenesysDeliverySource({ region: emulator.url, credentials: async () => CLIENT });
    const ledger = new MemoryLedger();
    const queue = new MemoryRetryQueue();
    const poll = () =>
      pollFailedDeliveries({
        source,
        queue,
        ledger,
        settings: parsePipelineSettings({ WEBHOOK_ID: 'wh-tail' }),
        now: () => new Date(at),
        deadline: Date.now() + 10 * MINUTE,
      });
    const [first] = await poll();
    expect(first).toMatchObject({ complete: true, enqueued: 2_000, through: new Date(at).toISOString() });
    // The probe, then the chain's 20 pages: the tail, empty when probed, is not read.
    expect(requests).toBeLessThanOrEqual(21);
    at += 2 * MINUTE;
    const [second] = await poll();
    expect(second).toMatchObject({ complete: true, enqueued: 1 });
    enqueuedOnce(queue, [...deliveries, late]);
  }, 60_000);
});

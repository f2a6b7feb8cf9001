import { afterAll, describe, expect, it } from 'vitest';
import { type PlannedEvent, runPipeline } from '../support/backpressure-run';
import { startSingleHost } from '../support/single-host';

/**
 * Chaos on the topology most orgs have: every webhook on one host, many paths. Paths that hang forever, hang
 * once, are rate-limited for tens of seconds, fail once, are gone, always fail, or are healthy. Asserts every
 * event's final state: delivered when its target accepts within its budget, in the DLQ otherwise — and never a
 * healthy event in the DLQ.
 */
const MAX_RETRIES = 4;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe('single-host chaos', () => {
  it('ends every event where it belongs: delivered unless its own path never accepts it', async () => {
    const limitedUntil = Date.now() + 20_000;
    const host = await startSingleHost({
      '/healthy/': () => 200,
      '/hang-forever/': () => 'hang',
      // A path that stalls once (its first request), then answers: a transient stall.
      '/hang-once/': (_n, _now, first) => (first ? 'hang' : 200),
      '/limited/': (_n, now) => (now < limitedUntil ? { status: 429, retryAfter: '2' } : 200),
      '/fail-once/': (n) => (n === 1 ? 503 : 200),
      '/reset-once/': (n) => (n === 1 ? 'reset' : 200),
      '/gone/': () => 410,
      '/broken/': () => 500,
    });
    cleanups.push(host.stop);

    const plan: { kind: string; count: number; ends: 'delivered' | 'dlq' }[] = [
      { kind: 'healthy', count: 120, ends: 'delivered' },
      { kind: 'hang-forever', count: 15, ends: 'dlq' },
      { kind: 'hang-once', count: 15, ends: 'delivered' },
      { kind: 'limited', count: 40, ends: 'delivered' },
      { kind: 'fail-once', count: 30, ends: 'delivered' },
      { kind: 'reset-once', count: 20, ends: 'delivered' },
      { kind: 'gone', count: 10, ends: 'dlq' },
      { kind: 'broken', count: 10, ends: 'dlq' },
    ];
    const events: (PlannedEvent & { kind: string; ends: 'delivered' | 'dlq' })[] = [];
    for (const { kind, count, ends } of plan) {
      for (let i = 0; i < count; i += 1) {
        // A few paths per kind, as a gateway routes several webhooks of one kind.
        events.push({
          url: `${host.url}/${kind}/route-${i % 3}`,
          body: `{"kind":"${kind}","n":${i}}`,
          kind,
          ends,
        });
      }
    }
    // Interleaved, as the delivery log lists them.
    events.sort(
      (a, b) => ((a.body.length * 31 + a.url.length) % 7) - ((b.body.length * 31 + b.url.length) % 7),
    );

    const run = await runPipeline(
      events,
      {
        MAX_RETRIES: String(MAX_RETRIES),
        RETRY_DELAY_SECONDS: '1',
        MAX_RETRY_DELAY_SECONDS: '4',
        // Room for a loaded CI machine: a healthy answer must not look like a stall.
        DELIVERY_TIMEOUT_SECONDS: '3',
        // The hang-forever path is held back after its first stalls: its events wait this long, then the DLQ.
        MAX_HOLD_SECONDS: '30',
      },
      240_000,
    );
    cleanups.push(run.stop);

    const acceptedKeys = new Set(host.hits.filter((h) => h.answer === 200).map((h) => h.key));
    const wrong: string[] = [];
    const counts = { delivered: 0, dlq: 0 };
    for (const [i, e] of events.entries()) {
      const key = run.keys[i] ?? '';
      const delivered = acceptedKeys.has(key);
      const inDlq = run.dlq.has(key);
      if (delivered) counts.delivered += 1;
      if (inDlq) counts.dlq += 1;
      const ok = e.ends === 'delivered' ? delivered && !inDlq : inDlq && !delivered;
      if (!ok) wrong.push(`${e.kind} ${e.url}: delivered=${delivered} dlq=${inDlq} (${key})`);
    }
    for (const w of wrong.slice(0, 5)) {
      const key = w.slice(w.lastIndexOf('(') + 1, -1);
      const ev = await run.ledger.getEvent(key);
      console.log(w, ev?.finalReason, JSON.stringify(ev?.attempts));
    }
    const requests = Object.fromEntries(
      plan.map(({ kind }) => [kind, host.hits.filter((h) => h.path.startsWith(`/${kind}/`)).length]),
    );
    console.log(
      `single-host chaos: ${JSON.stringify({ events: events.length, ...counts, requests, held: run.outcomes.filter((o) => o.result === 'held').length, seconds: run.seconds })}`,
    );

    expect(wrong).toEqual([]);
    expect(counts).toEqual({ delivered: 225, dlq: 35 });
    // A path that always answers 500 on a host whose other paths work spends its budget: exactly MAX_RETRIES
    // counted calls per event, each a real call.
    for (let i = 0; i < events.length; i += 1) {
      if (events[i]?.kind !== 'broken') continue;
      const attempts = (await run.ledger.getEvent(run.keys[i] ?? ''))?.attempts ?? [];
      expect(attempts.filter((a) => a.counted !== false)).toHaveLength(MAX_RETRIES);
    }
    // A gone target is a verdict at once: one call per event.
    expect(requests.gone).toBe(10);
    // Held back, the rate-limited path was asked far fewer times than once per event per limited second.
    expect(host.hits.filter((h) => h.answer === 429).length).toBeLessThan(40 * 4);
  }, 300_000);
});

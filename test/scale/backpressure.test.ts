import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../support/backpressure-run';
import { startSingleHost } from '../support/single-host';

/**
 * Target backpressure and outage ride-out through the whole local pipeline: a rate-limited host is asked once per
 * Retry-After, not once per event; a host that is down holds its events without spending their budgets, and they
 * all flow when it answers again; a host that never comes back has its events dead-lettered after
 * MAX_HOLD_SECONDS, through the redrive policy.
 */
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe.concurrent('target backpressure', () => {
  it('a host answering 429 (Retry-After: 2) for 25 s: all 150 events delivered, fewer 429s than events', async () => {
    const until = Date.now() + 25_000;
    const host = await startSingleHost({
      '/': (_n, now) => (now < until ? { status: 429, retryAfter: '2' } : 200),
    });
    cleanups.push(host.stop);
    const events = Array.from({ length: 150 }, (_, i) => ({
      url: `${host.url}/hooks/${i % 10}`,
      body: `{"n":${i}}`,
    }));

    const run = await runPipeline(
      events,
      {
        MAX_RETRIES: '4',
        RETRY_DELAY_SECONDS: '1',
        MAX_RETRY_DELAY_SECONDS: '8',
        DELIVERY_TIMEOUT_SECONDS: '3',
      },
      180_000,
    );
    cleanups.push(run.stop);

    const delivered = new Set(host.hits.filter((h) => h.answer === 200).map((h) => h.key));
    const tooMany = host.hits.filter((h) => h.answer === 429).length;
    console.log(
      `429 test: ${JSON.stringify({ events: 150, delivered: delivered.size, tooMany, dlq: run.dlq.size, seconds: run.seconds })}`,
    );
    expect(run.keys.every((k) => delivered.has(k))).toBe(true);
    expect(run.dlq.size).toBe(0);
    expect(tooMany).toBeLessThan(150);
  }, 240_000);

  it('rides out a 40 s outage: all 60 events delivered, none dead-lettered; a healthy host beside it unaffected; a host that never returns is dead-lettered after MAX_HOLD_SECONDS', async () => {
    const flaky = await startSingleHost({ '/': () => 200 });
    await flaky.down();
    const dead = await startSingleHost({ '/': () => 200 });
    await dead.down();
    const healthy = await startSingleHost({ '/': () => 200 });
    cleanups.push(flaky.stop, dead.stop, healthy.stop);
    const back = setTimeout(() => void flaky.up(), 40_000);
    cleanups.push(async () => clearTimeout(back));
    const started = Date.now();

    const events = [
      ...Array.from({ length: 60 }, (_, i) => ({ url: `${flaky.url}/path-${i}`, body: `{"flaky":${i}}` })),
      ...Array.from({ length: 10 }, (_, i) => ({ url: `${dead.url}/path-${i}`, body: `{"dead":${i}}` })),
      ...Array.from({ length: 20 }, (_, i) => ({
        url: `${healthy.url}/path-${i}`,
        body: `{"healthy":${i}}`,
      })),
    ];
    const run = await runPipeline(
      events,
      {
        MAX_RETRIES: '3',
        RETRY_DELAY_SECONDS: '1',
        MAX_RETRY_DELAY_SECONDS: '8',
        DELIVERY_TIMEOUT_SECONDS: '3',
        MAX_HOLD_SECONDS: '75',
      },
      240_000,
    );
    cleanups.push(run.stop);

    const deliveredAt = new Map<string, number>();
    for (const o of run.outcomes)
      if (o.result === 'delivered' && o.eventKey) deliveredAt.set(o.eventKey, Date.now());
    const flakyKeys = run.keys.slice(0, 60);
    const deadKeys = run.keys.slice(60, 70);
    const healthyKeys = run.keys.slice(70);
    const flakyDelivered = new Set(flaky.hits.filter((h) => h.answer === 200).map((h) => h.key));
    const healthyDelivered = new Set(healthy.hits.filter((h) => h.answer === 200).map((h) => h.key));
    const healthyDone = run.outcomes.filter(
      (o) => o.result === 'delivered' && o.target?.startsWith(`${new URL(healthy.url).origin}/~`),
    );
    console.log(
      `outage test: ${JSON.stringify({ flakyDelivered: flakyDelivered.size, dlq: run.dlq.size, healthyDelivered: healthyDelivered.size, seconds: run.seconds, flakyCalls: flaky.hits.length })}`,
    );

    expect(flakyKeys.every((k) => flakyDelivered.has(k) && !run.dlq.has(k))).toBe(true);
    expect(healthyKeys.every((k) => healthyDelivered.has(k) && !run.dlq.has(k))).toBe(true);
    expect(healthyDone.every((o) => o.attempt === 1)).toBe(true);
    // The host that never came back: its events in the DLQ, held back (no retries spent), after about 75 s.
    expect(deadKeys.every((k) => run.dlq.has(k))).toBe(true);
    for (const key of deadKeys) {
      const event = await run.ledger.getEvent(key);
      expect(event?.status).toBe('exhausted');
      expect(event?.finalReason).toMatch(/^target held back for (7[5-9]|[89]\d|1\d\d) s/);
      expect((event?.attempts ?? []).filter((a) => a.counted !== false).length).toBeLessThanOrEqual(3);
    }
    expect(run.seconds).toBeGreaterThanOrEqual(75);
    expect(Date.now() - started).toBeGreaterThanOrEqual(75_000);
  }, 300_000);
});

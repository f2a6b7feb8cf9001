import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../support/backpressure-run';
import { startSingleHost } from '../support/single-host';

/**
 * The target gate when Lambda runs many instances, each with its own memory: the holds live in the ledger table,
 * so a cold instance for every batch, or four warm ones side by side, treat a host as one gate would. Through the
 * whole local pipeline (fauxqs, dynalite, real HTTP servers); every event's final state is asserted.
 */
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const FAST = {
  MAX_RETRIES: '3',
  RETRY_DELAY_SECONDS: '1',
  MAX_RETRY_DELAY_SECONDS: '8',
  DELIVERY_TIMEOUT_SECONDS: '3',
};

describe.concurrent('many redeliverer instances', () => {
  it('a cold instance for every batch against a host down for 25 s: all 40 delivered, none in the DLQ', async () => {
    const host = await startSingleHost({ '/': () => 200 });
    await host.down();
    const back = setTimeout(() => void host.up(), 25_000);
    cleanups.push(host.stop, async () => clearTimeout(back));
    const events = Array.from({ length: 40 }, (_, i) => ({
      url: `${host.url}/hooks/${i}`,
      body: `{"n":${i}}`,
    }));

    const run = await runPipeline(events, { ...FAST, MAX_HOLD_SECONDS: '300' }, 180_000, {
      redelivererInstances: 'per-invocation',
    });
    cleanups.push(run.stop);

    const delivered = new Set(host.hits.filter((h) => h.answer === 200).map((h) => h.key));
    const calls = run.outcomes.filter((o) => o.targetCalled).length;
    console.log(
      `cold instances, 25 s outage: ${JSON.stringify({ events: 40, delivered: delivered.size, dlq: run.dlq.size, calls, seconds: run.seconds })}`,
    );
    expect(run.keys.every((k) => delivered.has(k))).toBe(true);
    expect(run.dlq.size).toBe(0);
    for (const key of run.keys) expect((await run.ledger.getEvent(key))?.status).toBe('delivered');
  }, 240_000);

  it('a host answering 429 (no Retry-After) for 12 s, 4 instances: all 8 events delivered, none dead-lettered', async () => {
    const until = Date.now() + 12_000;
    const host = await startSingleHost({ '/': (_n, now) => (now < until ? 429 : 200) });
    cleanups.push(host.stop);
    const events = Array.from({ length: 8 }, (_, i) => ({
      url: `${host.url}/hooks/${i}`,
      body: `{"r":${i}}`,
    }));

    const run = await runPipeline(events, { ...FAST, MAX_HOLD_SECONDS: '300' }, 180_000);
    cleanups.push(run.stop);

    const delivered = new Set(host.hits.filter((h) => h.answer === 200).map((h) => h.key));
    const tooMany = host.hits.filter((h) => h.answer === 429).length;
    console.log(
      `429 for 12 s: ${JSON.stringify({ events: 8, delivered: delivered.size, tooMany, calls: host.hits.length, dlq: run.dlq.size, seconds: run.seconds })}`,
    );
    expect(run.keys.every((k) => delivered.has(k))).toBe(true);
    expect(run.dlq.size).toBe(0);
    for (const key of run.keys) expect((await run.ledger.getEvent(key))?.status).toBe('delivered');
  }, 240_000);

  it('a single event to a host that went down (refusing for 15 s): held, not dead-lettered, then delivered', async () => {
    const host = await startSingleHost({ '/': () => 200 });
    await host.down();
    const back = setTimeout(() => void host.up(), 15_000);
    cleanups.push(host.stop, async () => clearTimeout(back));

    const run = await runPipeline(
      [{ url: `${host.url}/quiet`, body: '{"single":true}' }],
      {
        ...FAST,
        MAX_HOLD_SECONDS: '300',
      },
      180_000,
    );
    cleanups.push(run.stop);

    const event = await run.ledger.getEvent(run.keys[0] ?? '');
    const tries = run.outcomes.filter((o) => o.targetCalled).length;
    console.log(`single event: ${JSON.stringify({ tries, status: event?.status, seconds: run.seconds })}`);
    expect(run.dlq.size).toBe(0);
    expect(event?.status).toBe('delivered');
    expect(event?.attempts.filter((a) => a.counted !== false)).toHaveLength(1);
    expect(host.hits.filter((h) => h.answer === 200)).toHaveLength(1);
  }, 240_000);

  it('BATCH_SIZE 30 against a healthy target that takes 4 s: every call answered, none timed out', async () => {
    const slow = await startSlowHost(4_000);
    cleanups.push(slow.stop);
    const events = Array.from({ length: 30 }, (_, i) => ({
      url: `${slow.url}/hooks/${i}`,
      body: `{"s":${i}}`,
    }));

    const run = await runPipeline(
      events,
      { ...FAST, BATCH_SIZE: '30', DELIVERY_TIMEOUT_SECONDS: '6', MAX_HOLD_SECONDS: '300' },
      180_000,
    );
    cleanups.push(run.stop);

    const timedOut = run.outcomes.filter((o) => o.error?.includes('TIMEOUT')).length;
    console.log(
      `BATCH_SIZE 30, 4 s target: ${JSON.stringify({ events: 30, requests: slow.requests(), timedOut, dlq: run.dlq.size, seconds: run.seconds })}`,
    );
    expect(timedOut).toBe(0);
    expect(slow.requests()).toBe(30);
    expect(run.dlq.size).toBe(0);
    for (const key of run.keys) expect((await run.ledger.getEvent(key))?.status).toBe('delivered');
  }, 240_000);
});

/** A healthy target that answers 200 after `ms`. */
async function startSlowHost(ms: number) {
  const { createServer } = await import('node:http');
  let requests = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      const t = setTimeout(() => res.writeHead(200).end('ok'), ms);
      timers.add(t);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    stop: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

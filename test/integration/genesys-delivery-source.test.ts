import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GenesysDeliverySource,
  type GenesysDeliverySourceOptions,
} from '../../lambdas/shared/adapters/genesys-delivery-source';
import { GenesysApiError } from '../../lambdas/shared/errors';
import type { DeliveryWindow } from '../../lambdas/shared/ports';
import {
  type EmulatedDelivery,
  type GenesysEmulator,
  startGenesysEmulator,
} from '../../local/genesys-emulator';

const WEBHOOK = 'wh-orders';
const START = Date.parse('2026-11-28T12:00:00.000Z');
const CREDENTIALS = { clientId: 'local-client-id', clientSecret: 'local-client-secret' };

function delivery(i: number, overrides: Partial<EmulatedDelivery> = {}): EmulatedDelivery {
  return {
    id: `d-${String(i).padStart(4, '0')}`,
    webhookId: WEBHOOK,
    status: 'failed',
    httpStatusCode: 500,
    body: { order: i },
    headers: { 'Content-Type': 'application/json' },
    webhookUrl: 'https://hooks.example.com/orders',
    dateCreated: new Date(START + i * 1000).toISOString(),
    ...overrides,
  };
}

/** A fake clock shared by the emulator and the adapter; sleeping advances it instead of waiting. */
function fakeTime(startMs = START + 3_600_000) {
  const t = { ms: startMs, waits: [] as number[] };
  return {
    t,
    now: () => t.ms,
    sleep: async (ms: number) => {
      t.waits.push(ms);
      t.ms += ms;
    },
  };
}

let emulator: GenesysEmulator | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function setup(
  deliveries: EmulatedDelivery[],
  options: Partial<GenesysDeliverySourceOptions> = {},
  emulatorOptions: { webhookIds?: string[] } = {},
) {
  const time = fakeTime();
  const requestTimes: number[] = [];
  emulator = await startGenesysEmulator({
    deliveries,
    now: () => new Date(time.t.ms),
    log: () => requestTimes.push(time.t.ms),
    ...emulatorOptions,
  });
  const source = new GenesysDeliverySource({
    region: emulator.url,
    credentials: async () => CREDENTIALS,
    sleep: time.sleep,
    now: time.now,
    ...options,
  });
  return { e: emulator, source, time, requestTimes };
}

const wholeDay: DeliveryWindow = {
  webhookId: WEBHOOK,
  start: new Date(START - 86_400_000),
  end: new Date(START + 86_400_000),
};

async function collect(source: GenesysDeliverySource, window = wholeDay, deadline?: number) {
  const pages: (readonly unknown[])[] = [];
  for await (const page of source.failedDeliveries(window, deadline === undefined ? {} : { deadline })) {
    pages.push(page);
  }
  return pages;
}

const ids = (pages: (readonly unknown[])[]) => pages.flat().map((d) => (d as { id: string }).id);

async function failure(promise: Promise<unknown>): Promise<GenesysApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GenesysApiError);
  return error as GenesysApiError;
}

describe('GenesysDeliverySource against the emulator', () => {
  it('pages 250 entries at pageSize 100 in 3 calls, every entry once, one login', async () => {
    const { e, source } = await setup(Array.from({ length: 250 }, (_, i) => delivery(i)));
    const pages = await collect(source);
    expect(pages.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(new Set(ids(pages)).size).toBe(250);
    expect(e.stats.deliveryRequests).toBe(3);
    expect(e.stats.logins).toBe(1);
  });

  it('asks for failed entries only, in [start, end)', async () => {
    const at = (ms: number, id: string, status: 'failed' | 'succeeded' = 'failed') =>
      delivery(0, { id, status, dateCreated: new Date(ms).toISOString() });
    const { source } = await setup([
      at(START - 1, 'before-start'),
      at(START, 'at-start'),
      at(START + 59_999, 'just-before-end'),
      at(START + 60_000, 'at-end'),
      at(START + 30_000, 'succeeded', 'succeeded'),
    ]);
    const window = { webhookId: WEBHOOK, start: new Date(START), end: new Date(START + 60_000) };
    expect(ids(await collect(source, window)).sort()).toEqual(['at-start', 'just-before-end']);
  });

  it('finds a late entry in a later poll, reusing the token', async () => {
    const { e, source, time } = await setup([
      delivery(1),
      delivery(2, { listedAt: new Date(START + 3_600_000 + 240_000).toISOString() }),
    ]);
    expect(ids(await collect(source))).toEqual(['d-0001']);
    time.t.ms += 300_000;
    expect(ids(await collect(source)).sort()).toEqual(['d-0001', 'd-0002']);
    expect(e.stats.logins).toBe(1);
  });

  it('waits out a 429 Retry-After on the fake clock and finishes without loss', async () => {
    const { e, source, time } = await setup(Array.from({ length: 150 }, (_, i) => delivery(i)));
    e.injectFaults({ status: 429, count: 1, retryAfterSeconds: 30, path: 'deliveries' });
    const pages = await collect(source, wholeDay, time.t.ms + 120_000);
    expect(time.t.waits).toEqual([30_000]);
    expect(new Set(ids(pages)).size).toBe(150);
    expect(e.stats.responsesByStatus[429]).toBe(1);
  });

  it('gives up with a 429 GenesysApiError when the Retry-After would pass the deadline', async () => {
    const { e, source, time } = await setup([delivery(1)]);
    e.injectFaults({ status: 429, count: 1, retryAfterSeconds: 120, path: 'deliveries' });
    const error = await failure(collect(source, wholeDay, time.t.ms + 60_000));
    expect(error.status).toBe(429);
    expect(error.code).toBe('too.many.requests.retry.after');
    expect(error.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.cause).toBeInstanceOf(Error);
    expect(time.t.waits).toEqual([]);
  });

  it('logs in again after the token expires, and after it is revoked', async () => {
    const { e, source } = await setup([delivery(1)]);
    expect(ids(await collect(source))).toEqual(['d-0001']);
    e.expireAllTokens();
    expect(ids(await collect(source))).toEqual(['d-0001']);
    e.revokeAllTokens();
    expect(ids(await collect(source))).toEqual(['d-0001']);
    expect(e.stats.logins).toBe(3);
    expect(e.stats.responsesByStatus[401]).toBe(2);
  });

  it('renews the token before it expires on the clock', async () => {
    const { e, source, time } = await setup([delivery(1)]);
    await collect(source);
    time.t.ms += 86_400_000 - 60_000;
    await collect(source);
    expect(e.stats.logins).toBe(2);
    expect(e.stats.responsesByStatus[401]).toBeUndefined();
  });

  it('fails clearly when a fresh token is rejected too', async () => {
    const { e, source } = await setup([delivery(1)]);
    e.injectFaults({ status: 401, count: 2, path: 'deliveries' });
    const error = await failure(collect(source));
    expect(error.status).toBe(401);
    expect(error.message).toContain('rejected a fresh access token');
    expect(error.correlationId).toBeDefined();
    expect(e.stats.logins).toBe(2);
  });

  it('reports bad credentials as a 401 without the secret, and picks up a rotated secret', async () => {
    const secret = 'sup3r-s3cret-value';
    let credentials = { clientId: 'local-client-id', clientSecret: secret };
    const { e, source } = await setup([delivery(1)], { credentials: async () => credentials });
    const error = await failure(collect(source));
    expect(error.status).toBe(401);
    expect(error.code).toBe('bad.credentials');
    expect(error.message).toContain('login failed');
    const basic = Buffer.from(`local-client-id:${secret}`).toString('base64');
    const everything = `${error.message} ${String(error.cause)} ${JSON.stringify(error)} ${error.stack}`;
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(basic);
    credentials = CREDENTIALS;
    expect(ids(await collect(source))).toEqual(['d-0001']);
    expect(e.stats.logins).toBe(1);
  });

  it('names an unknown webhook in a 404 error, and says a real org has no delivery-log API', async () => {
    const { source } = await setup([delivery(1)]);
    const error = await failure(collect(source, { ...wholeDay, webhookId: 'wh-missing' }));
    expect(error.status).toBe(404);
    expect(error.code).toBe('not.found');
    expect(error.message).toContain('webhook wh-missing not found in Genesys Cloud');
    expect(error.message).toContain(
      "The delivery-log endpoint is this project's design, not a published Genesys Cloud API, so a real org answers 404 for every webhook: use the EventBridge source",
    );
  });

  it('passes a 400 on with the platform message', async () => {
    const { source } = await setup([delivery(1)], { pageSize: 500 });
    const error = await failure(collect(source));
    expect(error.status).toBe(400);
    expect(error.message).toContain('pageSize must be a whole number from 1 to 100');
  });

  it('retries 503s with a short backoff, then gives up with a 503 GenesysApiError', async () => {
    const { e, source, time } = await setup([delivery(1)]);
    e.injectFaults({ status: 503, count: 2, path: 'deliveries' });
    expect(ids(await collect(source))).toEqual(['d-0001']);
    expect(time.t.waits).toEqual([500, 1_000]);
    e.injectFaults({ status: 503, count: 10, path: 'deliveries' });
    const error = await failure(collect(source));
    expect(error.status).toBe(503);
    expect(error.code).toBe('service.unavailable');
  });

  it('keeps at most maxRequestsPerMinute requests (logins included) in any rolling minute', async () => {
    const { source, time, requestTimes } = await setup(
      Array.from({ length: 60 }, (_, i) => delivery(i)),
      { pageSize: 10, maxRequestsPerMinute: 5 },
    );
    const pages = await collect(source);
    expect(new Set(ids(pages)).size).toBe(60);
    expect(requestTimes).toHaveLength(7);
    for (const t of requestTimes) {
      expect(requestTimes.filter((u) => u >= t && u < t + 60_000).length).toBeLessThanOrEqual(5);
    }
    expect(time.t.waits.length).toBeGreaterThan(0);
  });

  it('stops with a GenesysApiError when the client-side budget would pass the deadline', async () => {
    const { source, time } = await setup(
      Array.from({ length: 60 }, (_, i) => delivery(i)),
      { pageSize: 10, maxRequestsPerMinute: 2 },
    );
    const error = await failure(collect(source, wholeDay, time.t.ms + 10_000));
    expect(error.code).toBe('client.rate.limit');
  });
});

async function fakeGenesys(answer: (url: string) => { status: number; body: string } | undefined) {
  const server = createServer((req, res) => {
    req.resume();
    const reply =
      req.url === '/oauth/token'
        ? { status: 200, body: JSON.stringify({ access_token: 't', token_type: 'bearer', expires_in: 3600 }) }
        : answer(req.url ?? '');
    if (!reply) return; // never answers
    res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('GenesysDeliverySource against a misbehaving server', () => {
  it('rejects a page without an entities array', async () => {
    const region = await fakeGenesys(() => ({ status: 200, body: JSON.stringify({ items: [] }) }));
    const time = fakeTime();
    const source = new GenesysDeliverySource({ region, credentials: async () => CREDENTIALS, ...time });
    const error = await failure(collect(source));
    expect(error.message).toContain('without an entities array');
  });

  it('bounds a request that never answers with the timeout', async () => {
    const region = await fakeGenesys(() => undefined);
    const time = fakeTime();
    const source = new GenesysDeliverySource({
      region,
      credentials: async () => CREDENTIALS,
      requestTimeoutMs: 100,
      ...time,
    });
    const error = await failure(collect(source));
    expect(error.status).toBeUndefined();
    expect(error.message).toContain('could not be reached');
    expect(time.t.waits).toEqual([500, 1_000, 2_000]);
  });

  it('reports an unreachable host as a GenesysApiError without a status', async () => {
    const region = await fakeGenesys(() => undefined);
    for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
    const time = fakeTime();
    const source = new GenesysDeliverySource({ region, credentials: async () => CREDENTIALS, ...time });
    const error = await failure(collect(source));
    expect(error.status).toBeUndefined();
    expect(error.message).toContain('login failed');
    expect(String(error.cause)).toContain('ECONNREFUSED');
  });
});

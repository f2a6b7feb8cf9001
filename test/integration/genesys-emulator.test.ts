import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type EmulatedDelivery,
  type GenesysEmulator,
  type GenesysEmulatorOptions,
  loadDeliveriesFile,
  startGenesysEmulator,
} from '../../local/genesys-emulator';
import type { DeliveryListing } from '../../local/genesys-emulator/list-deliveries';

const WEBHOOK = 'wh-1';
const BASIC = `Basic ${Buffer.from('local-client-id:local-client-secret').toString('base64')}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function delivery(i: number, overrides: Partial<EmulatedDelivery> = {}): EmulatedDelivery {
  return {
    id: `d-${String(i).padStart(4, '0')}`,
    webhookId: WEBHOOK,
    status: 'failed',
    httpStatusCode: 503,
    body: { event: i },
    headers: { 'Content-Type': 'application/json' },
    webhookUrl: 'https://hooks.example.com/in',
    dateCreated: new Date(Date.UTC(2026, 10, 28, 12, 0, 0) + i * 1000).toISOString(),
    ...overrides,
  };
}

let emulator: GenesysEmulator | undefined;
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

async function start(options: GenesysEmulatorOptions = {}): Promise<GenesysEmulator> {
  emulator = await startGenesysEmulator(options);
  return emulator;
}

async function login(e: GenesysEmulator, authorization = BASIC, grant = 'grant_type=client_credentials') {
  return fetch(`${e.url}/oauth/token`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: grant,
  });
}

async function token(e: GenesysEmulator): Promise<string> {
  const body = (await (await login(e)).json()) as { access_token: string };
  return body.access_token;
}

function list(e: GenesysEmulator, bearer: string | undefined, query: string, webhook = WEBHOOK) {
  return fetch(`${e.url}/api/v2/webhooks/${webhook}/deliveries?${query}`, {
    headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
  });
}

/** The emulator's own listing type, with the entity fields these tests read. */
type Listing = Omit<DeliveryListing, 'entities'> & { entities: { id: string; body: unknown }[] };

async function expectErrorBody(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const correlationId = res.headers.get('inin-correlation-id');
  expect(correlationId).toMatch(UUID);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toEqual({
    message: expect.any(String),
    code,
    status,
    contextId: correlationId,
    details: [],
    errors: [],
  });
  return body;
}

describe('genesys emulator: login', () => {
  it('issues a bearer token for the demo client', async () => {
    const e = await start({ tokenLifetimeSeconds: 600 });
    const res = await login(e);
    expect(res.status).toBe(200);
    expect(res.headers.get('inin-correlation-id')).toMatch(UUID);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 600 });
    expect(e.stats.logins).toBe(1);
  });

  it('answers bad credentials with 401 bad.credentials and a bad grant with 400', async () => {
    const e = await start();
    const wrong = `Basic ${Buffer.from('local-client-id:nope').toString('base64')}`;
    await expectErrorBody(await login(e, wrong), 401, 'bad.credentials');
    await expectErrorBody(await login(e, 'Bearer x'), 401, 'bad.credentials');
    await expectErrorBody(await login(e, BASIC, 'grant_type=password'), 400, 'bad.request');
    expect(e.stats.logins).toBe(0);
  });
});

describe('genesys emulator: delivery log', () => {
  it('pages with page-number listings and relative URIs; every entry on exactly one page', async () => {
    const e = await start({ deliveries: Array.from({ length: 30 }, (_, i) => delivery(i)) });
    const t = await token(e);
    const first = (await (await list(e, t, 'filterStatus=failed')).json()) as Listing;
    expect(first).toMatchObject({ pageSize: 25, pageNumber: 1, total: 30, pageCount: 2 });
    expect(first.entities).toHaveLength(25);
    expect(first.nextUri).toBe(
      `/api/v2/webhooks/${WEBHOOK}/deliveries?filterStatus=failed&pageSize=25&pageNumber=2`,
    );
    expect(first.previousUri).toBeUndefined();
    expect(first.lastUri).toContain('pageNumber=2');
    expect(first.selfUri).toContain('pageNumber=1');
    const second = (await (
      await fetch(`${e.url}${first.nextUri}`, { headers: { authorization: `Bearer ${t}` } })
    ).json()) as Listing;
    expect(second.nextUri).toBeUndefined();
    expect(second.previousUri).toContain('pageNumber=1');
    const ids = [...first.entities, ...second.entities].map((d) => d.id);
    expect(new Set(ids).size).toBe(30);
    // Order within a page is deliberately not by date.
    expect(first.entities.map((d) => d.id)).not.toEqual([...first.entities.map((d) => d.id)].sort());
    // The internal listedAt never leaks.
    expect(first.entities[0]).not.toHaveProperty('listedAt');
  });

  it('windows on dateCreated, start inclusive and end exclusive, and filters by status', async () => {
    const e = await start({
      deliveries: [
        delivery(0),
        delivery(1, { status: 'succeeded', httpStatusCode: 200 }),
        delivery(2),
        delivery(3),
      ],
    });
    const t = await token(e);
    const q = `startDate=${delivery(0).dateCreated}&endDate=${delivery(3).dateCreated}`;
    const failed = (await (await list(e, t, `filterStatus=failed&${q}`)).json()) as Listing;
    expect(failed.entities.map((d) => d.id).sort()).toEqual(['d-0000', 'd-0002']);
    const all = (await (await list(e, t, q)).json()) as Listing;
    expect(all.total).toBe(3);
  });

  it('lists an entry only once its listedAt has passed on the injected clock', async () => {
    let now = new Date('2026-11-28T12:01:00.000Z');
    const e = await start({
      now: () => now,
      deliveries: [delivery(0), delivery(1, { listedAt: '2026-11-28T12:04:00.000Z' })],
    });
    const t = await token(e);
    const before = (await (await list(e, t, 'filterStatus=failed')).json()) as Listing;
    expect(before.entities.map((d) => d.id)).toEqual(['d-0000']);
    now = new Date('2026-11-28T12:04:00.000Z');
    const after = (await (await list(e, t, 'filterStatus=failed')).json()) as Listing;
    expect(after.entities.map((d) => d.id).sort()).toEqual(['d-0000', 'd-0001']);
  });

  it('returns string bodies (JSON text and plain text) exactly as given', async () => {
    const jsonText = '{"b":1,  "a":2}';
    const e = await start({
      deliveries: [delivery(0, { body: jsonText }), delivery(1, { body: 'plain text\n' })],
    });
    const res = await list(e, await token(e), '');
    const bodies = ((await res.json()) as Listing).entities.map((d) => d.body).sort();
    expect(bodies).toEqual([jsonText, 'plain text\n'].sort());
  });

  it('rejects pageSize 101, pageSize 0, a bad date and a bad status with 400 bad.request', async () => {
    const e = await start({ deliveries: [delivery(0)] });
    const t = await token(e);
    const body = await expectErrorBody(await list(e, t, 'pageSize=101'), 400, 'bad.request');
    expect(body.message).toContain('pageSize');
    await expectErrorBody(await list(e, t, 'pageSize=0'), 400, 'bad.request');
    await expectErrorBody(await list(e, t, 'startDate=yesterday'), 400, 'bad.request');
    await expectErrorBody(await list(e, t, 'filterStatus=broken'), 400, 'bad.request');
    expect((await list(e, t, 'pageSize=100')).status).toBe(200);
  });

  it('answers 404 not.found for an unknown webhook and an unknown path', async () => {
    const e = await start({ deliveries: [delivery(0)], webhookIds: [WEBHOOK, 'wh-empty'] });
    const t = await token(e);
    await expectErrorBody(await list(e, t, '', 'wh-unknown'), 404, 'not.found');
    expect((await list(e, t, '', 'wh-empty')).status).toBe(200);
    await expectErrorBody(await fetch(`${e.url}/api/v2/nothing`), 404, 'not.found');
    e.addWebhook('wh-unknown');
    expect((await list(e, t, '', 'wh-unknown')).status).toBe(200);
  });

  it('answers 401 for a missing, invalid, expired or revoked token', async () => {
    const e = await start({ deliveries: [delivery(0)] });
    await expectErrorBody(await list(e, undefined, ''), 401, 'authentication.required');
    await expectErrorBody(await list(e, 'not-a-token', ''), 401, 'bad.credentials');
    const expiring = await token(e);
    e.expireAllTokens();
    await expectErrorBody(await list(e, expiring, ''), 401, 'bad.credentials');
    const revoked = await token(e);
    expect((await list(e, revoked, '')).status).toBe(200);
    e.revokeAllTokens();
    await expectErrorBody(await list(e, revoked, ''), 401, 'bad.credentials');
    expect((await list(e, await token(e), '')).status).toBe(200);
  });
});

describe('genesys emulator: rate limit and faults', () => {
  it('answers 429 with Retry-After after 300 requests per token in a rolling minute', async () => {
    let now = new Date('2026-11-28T12:00:00.000Z');
    const e = await start({ now: () => now, deliveries: [delivery(0)] });
    const t = await token(e);
    for (let i = 1; i <= 300; i++) {
      const res = await list(e, t, '');
      expect(res.status).toBe(200);
      if (i === 300) {
        expect(res.headers.get('inin-ratelimit-allowed')).toBe('300');
        expect(res.headers.get('inin-ratelimit-count')).toBe('300');
        expect(Number(res.headers.get('inin-ratelimit-reset'))).toBeGreaterThan(0);
      }
      await res.arrayBuffer();
    }
    now = new Date('2026-11-28T12:00:20.000Z');
    const limited = await list(e, t, '');
    expect(limited.headers.get('retry-after')).toBe('40');
    const body = await expectErrorBody(limited, 429, 'too.many.requests.retry.after');
    expect(body.message).toBe('Rate limit exceeded the maximum. Retry the request in [40] seconds');
    // Another token has its own budget; the first recovers once the minute has rolled.
    expect((await list(e, await token(e), '')).status).toBe(200);
    now = new Date('2026-11-28T12:01:00.001Z');
    expect((await list(e, t, '')).status).toBe(200);
    expect(e.stats.responsesByStatus[429]).toBe(1);
  });

  it('injects faults for the next requests, optionally of one path only', async () => {
    const e = await start({ deliveries: [delivery(0)] });
    e.injectFaults({ status: 503, count: 2, path: 'deliveries' });
    const t = await token(e);
    await expectErrorBody(await list(e, t, ''), 503, 'service.unavailable');
    await expectErrorBody(await list(e, t, ''), 503, 'service.unavailable');
    expect((await list(e, t, '')).status).toBe(200);

    e.injectFaults({ status: 429, count: 1, retryAfterSeconds: 7, path: 'login' });
    const throttled = await login(e);
    expect(throttled.headers.get('retry-after')).toBe('7');
    await expectErrorBody(throttled, 429, 'too.many.requests.retry.after');
    e.injectFaults({ status: 401, count: 1 });
    await expectErrorBody(await list(e, t, ''), 401, 'authentication.required');
    expect((await list(e, t, '')).status).toBe(200);
    expect(e.stats.deliveryRequests).toBe(5);
    expect(e.stats.responsesByStatus).toMatchObject({ 200: 3, 503: 2, 429: 1, 401: 1 });
  });
});

describe('loadDeliveriesFile', () => {
  it('loads a valid file and names the file and entry index of a bad one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'genesys-emulator-'));
    const good = join(dir, 'good.json');
    await writeFile(good, JSON.stringify([delivery(0), delivery(1, { body: 'text' })]));
    expect((await loadDeliveriesFile(good)).map((d) => d.id)).toEqual(['d-0000', 'd-0001']);

    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify([delivery(0), { ...delivery(1), status: 'lost' }]));
    await expect(loadDeliveriesFile(bad)).rejects.toThrow(
      /bad\.json: entry 1 \(id "d-0001"\) is invalid:\n {2}status must be "failed" or "succeeded" \(got "lost"\)/,
    );
    const notArray = join(dir, 'object.json');
    await writeFile(notArray, '{}');
    await expect(loadDeliveriesFile(notArray)).rejects.toThrow(/object\.json must hold a JSON array/);
    await expect(loadDeliveriesFile(join(dir, 'missing.json'))).rejects.toThrow(
      /Cannot read deliveries file/,
    );
  });
});

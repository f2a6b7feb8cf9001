import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpWebhookSender } from '../../lambdas/shared/adapters/http-webhook-sender';
import {
  PermanentDeliveryError,
  RetryableDeliveryError,
  TargetUnreachableError,
} from '../../lambdas/shared/errors';
import { LOCAL_TARGETS } from '../support/local-targets';

interface Received {
  readonly method: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A real target on 127.0.0.1:0 that records what arrives and answers with `respond`. */
async function target(respond: (res: ServerResponse) => void = (res) => res.writeHead(204).end()) {
  const received: Received[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks) });
      respond(res);
    });
  });
  server.on('connection', () => {
    connections++;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  cleanups.push(async () => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${port}/hook`, port, received, connections: () => connections };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function sender(timeoutSeconds = 5, extra: Partial<ConstructorParameters<typeof HttpWebhookSender>[0]> = {}) {
  // Targets listen on 127.0.0.1: opt in to loopback, as local mode does.
  const s = new HttpWebhookSender({ timeoutSeconds, targets: LOCAL_TARGETS, ...extra });
  cleanups.push(() => s.close());
  return s;
}

describe('HttpWebhookSender against a real target', () => {
  it.each([
    {
      kind: 'JSON-serialised object',
      body: '{"eventBody":{"id":"c-1","text":"héllo ✓"}}',
      type: 'application/json',
    },
    { kind: 'JSON string kept verbatim', body: '  { "a" : 1 ,"b":[ 1,2 ] }\n', type: 'application/json' },
    { kind: 'plain text', body: 'name=ß&x=1\r\nline two', type: 'text/plain; charset=utf-8' },
  ])('delivers a $kind byte for byte with its Content-Type and Idempotency-Key', async ({ body, type }) => {
    const t = await target();
    const result = await sender().send({
      url: t.url,
      headers: { 'Content-Type': type, 'Idempotency-Key': 'k'.repeat(64), 'X-Custom': 'v' },
      body,
    });

    expect(result.status).toBe(204);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(t.received).toHaveLength(1);
    const got = t.received[0];
    expect(got?.method).toBe('POST');
    expect(got?.body.equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(got?.headers['content-type']).toBe(type);
    expect(got?.headers['idempotency-key']).toBe('k'.repeat(64));
    expect(got?.headers['x-custom']).toBe('v');
    expect(got?.headers['content-length']).toBe(String(Buffer.byteLength(body)));
  });

  it('does not forward Host, Connection or Content-Length from the message, nor invent Authorization', async () => {
    const t = await target();
    await sender().send({
      url: t.url,
      headers: {
        Host: 'evil.example.net',
        Connection: 'close',
        'Content-Length': '999',
        'Transfer-Encoding': 'chunked',
        'Content-Type': 'application/json',
      },
      body: '{"a":1}',
    });

    const headers = t.received[0]?.headers ?? {};
    expect(headers.host).toBe(`127.0.0.1:${t.port}`);
    expect(headers.connection).not.toBe('close');
    expect(headers['content-length']).toBe('7');
    expect(headers['transfer-encoding']).toBeUndefined();
    expect(headers.authorization).toBeUndefined();
  });

  it('returns a redirect as is, without following it', async () => {
    const t = await target((res) => res.writeHead(301, { Location: '/elsewhere' }).end('moved'));
    const result = await sender().send({ url: t.url, headers: {}, body: 'x' });
    expect(result.status).toBe(301);
    expect(t.received).toHaveLength(1);
  });

  it('returns the status of a target whose answer is larger than it cares to read', async () => {
    const t = await target((res) => res.writeHead(200).end(Buffer.alloc(512 * 1024, 'x')));
    const result = await sender().send({ url: t.url, headers: {}, body: 'x' });
    expect(result.status).toBe(200);
  });

  it('returns the Retry-After header of a 429', async () => {
    const t = await target((res) => res.writeHead(429, { 'Retry-After': '17' }).end('slow down'));
    const result = await sender().send({ url: t.url, headers: {}, body: 'x' });
    expect(result).toMatchObject({ status: 429, retryAfter: '17' });
  });

  it('gives up on a target that never answers with a retryable timeout error', async () => {
    const t = await target(() => undefined);
    const started = Date.now();
    const error = await sender(1)
      .send({ url: t.url, headers: { Authorization: 'Bearer top-secret' }, body: 'x' })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RetryableDeliveryError);
    // Connected, then no answer: a stuck path, not a host that took no connection.
    expect(error).not.toBeInstanceOf(TargetUnreachableError);
    expect((error as Error).message).toMatch(/: TIMEOUT$/);
    expect((error as Error).message).not.toContain('top-secret');
    expect((error as Error).cause).toBeDefined();
    // Generous bound: proves the 1 s timeout applied, not the default, without racing it.
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('reports a refused connection as the host unreachable (retryable, never the event’s), naming ECONNREFUSED', async () => {
    const t = await target();
    for (const c of cleanups.splice(0)) await c(); // close the target: its port now refuses
    const error = await sender()
      .send({ url: t.url, headers: {}, body: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetUnreachableError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).message).toContain(`127.0.0.1:${t.port}`);
  });

  it('reuses one keep-alive connection for sequential sends', async () => {
    const t = await target((res) =>
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok'.repeat(1000)),
    );
    const s = sender();
    for (let i = 0; i < 5; i++) {
      const result = await s.send({ url: t.url, headers: {}, body: `n=${i}` });
      expect(result.status).toBe(200);
      // node frees the connection in a later tick than the one the body ends in; a real caller always does
      // other I/O (the ledger write) before its next send, so yield one macrotask as it would.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(t.received).toHaveLength(5);
    expect(t.connections()).toBe(1);
  });

  it('refuses, before connecting, a name that resolves to a metadata address', async () => {
    const t = await target();
    const s = sender(5, {
      lookup: (_hostname, options, callback) => {
        if (options.all) callback(null, [{ address: '169.254.169.254', family: 4 }]);
        else callback(null, '169.254.169.254', 4);
      },
    });
    const error = await s
      .send({ url: `http://metadata-alias.test:${t.port}/hook`, headers: {}, body: 'x' })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect((error as Error).message).toMatch(/metadata-alias\.test resolves to 169\.254\.169\.254/);
    expect(t.connections()).toBe(0);
  });

  it('connects through the guarded resolver when the address is allowed', async () => {
    const t = await target();
    const s = sender(5, {
      lookup: (_hostname, options, callback) => {
        if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
        else callback(null, '127.0.0.1', 4);
      },
    });
    const result = await s.send({ url: `http://allowed-alias.test:${t.port}/hook`, headers: {}, body: 'x' });
    expect(result.status).toBe(204);
    expect(t.received[0]?.headers.host).toBe(`allowed-alias.test:${t.port}`);
  });

  it('sends again, once, on a new connection when a pooled connection turns out closed by the target', async () => {
    // The second request on a connection finds it closed, as when the target's idle timeout fires first.
    const used = new WeakSet<object>();
    const t = await target((res) => {
      const socket = res.socket;
      if (socket === null) return;
      if (used.has(socket)) {
        socket.destroy();
        return;
      }
      used.add(socket);
      res.writeHead(204).end();
    });
    const s = sender();
    expect((await s.send({ url: t.url, headers: {}, body: 'first' })).status).toBe(204);
    await new Promise((resolve) => setImmediate(resolve));

    const result = await s.send({ url: t.url, headers: {}, body: 'second' });

    expect(result.status).toBe(204);
    expect(t.received.map((r) => r.body.toString())).toEqual(['first', 'second', 'second']);
    expect(t.connections()).toBe(2);
  });

  it('does not send again when a new connection is closed without an answer', async () => {
    const t = await target((res) => res.socket?.destroy());
    const error = await sender()
      .send({ url: t.url, headers: {}, body: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect((error as Error).message).toMatch(/ECONNRESET/);
    expect(t.received).toHaveLength(1);
  });

  it('drops a connection whose answer was too large to drain, and sends the next on a new one', async () => {
    const t = await target((res) => res.writeHead(200).end(Buffer.alloc(512 * 1024, 'x')));
    const s = sender();
    expect((await s.send({ url: t.url, headers: {}, body: 'a' })).status).toBe(200);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await s.send({ url: t.url, headers: {}, body: 'b' })).status).toBe(200);
    expect(t.received).toHaveLength(2);
    expect(t.connections()).toBe(2);
  });

  it('returns the status of a target whose body never ends, giving up on the body at the timeout', async () => {
    const t = await target((res) => {
      res.writeHead(202, { 'Content-Type': 'text/plain' });
      res.write('partial');
    });
    const result = await sender(1).send({ url: t.url, headers: {}, body: 'x' });
    expect(result.status).toBe(202);
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]:8080/hook',
    'https://[::ffff:169.254.169.254]/hook',
  ])('refuses the literal address %s without resolving or connecting', async (url) => {
    const looked: string[] = [];
    const error = await sender(5, {
      lookup: (hostname, _options, callback) => {
        looked.push(hostname);
        callback(new Error('not expected'), '', 4);
      },
    })
      .send({ url, headers: {}, body: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect((error as Error).message).toMatch(/link-local or cloud metadata address/);
    expect(looked).toEqual([]);
  });

  it('refuses as permanent a header value that cannot be sent, without naming the value', async () => {
    const t = await target();
    const error = await sender()
      .send({ url: t.url, headers: { 'X-Token': 'secret\r\nX-Injected: 1' }, body: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect((error as Error).message).toMatch(/ERR_INVALID_CHAR/);
    expect((error as Error).message).not.toContain('secret');
    expect(t.received).toHaveLength(0);
  });
});

describe('HttpWebhookSender with the deployed stack’s default target policy', () => {
  const toLoopback: ConstructorParameters<typeof HttpWebhookSender>[0]['lookup'] = (
    _h,
    options,
    callback,
  ) => {
    if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  };

  it.each([
    ['a loopback literal', (port: number) => `http://127.0.0.1:${port}/hook`, /loopback/],
    [
      'an IPv4-mapped loopback literal',
      (port: number) => `http://[::ffff:127.0.0.1]:${port}/hook`,
      /loopback/,
    ],
    ['localhost', (port: number) => `http://localhost:${port}/hook`, /loopback/],
    [
      'a name that resolves to loopback',
      (port: number) => `http://rebind.test:${port}/hook`,
      /resolves to 127/,
    ],
  ])('refuses %s as permanent without connecting', async (_name, url, message) => {
    const t = await target();
    const s = new HttpWebhookSender({ timeoutSeconds: 5, lookup: toLoopback });
    cleanups.push(() => s.close());
    const error = await s.send({ url: url(t.port), headers: {}, body: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect((error as Error).message).toMatch(message);
    expect(t.connections()).toBe(0);
  });

  it('connects to the same name once local mode’s policy allows loopback', async () => {
    const t = await target();
    const s = sender(5, { lookup: toLoopback });
    const result = await s.send({ url: `http://rebind.test:${t.port}/hook`, headers: {}, body: 'x' });
    expect(result.status).toBe(204);
  });
});

import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { redeliver } from '../../lambdas/redeliverer/redeliver';
import { HttpWebhookSender } from '../../lambdas/shared/adapters/http-webhook-sender';
import { RetryableDeliveryError } from '../../lambdas/shared/errors';
import { LOCAL_TARGETS } from '../support/local-targets';
import { selfSignedCert } from '../support/self-signed-cert';
import { fakeDeps, retryMessage, sqsInput } from '../unit/redeliver-fakes';

/**
 * Targets that misbehave below HTTP: each is a raw net or tls server on 127.0.0.1, so the sender meets exactly
 * the bytes (or the silence) a hostile or broken target sends. Every send must settle by its deadline and be
 * classified retryable; the guard below turns "never settles" into a failure instead of a hung test.
 */
const TIMEOUT_SECONDS = 1;
/** Far beyond the deadline, so a slow machine cannot fail the test, yet far short of the test's own timeout. */
const GUARD_MS = TIMEOUT_SECONDS * 1000 + 8_000;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A TCP server on 127.0.0.1:0 that hands each connection to `onSocket`. */
async function rawTarget(onSocket: (socket: Socket) => void, allowHalfOpen = false): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** Calls `fn` once the request head (and, if asked, `bytes` of it) has arrived. */
function afterRequestHead(socket: Socket, fn: () => void): void {
  let seen = '';
  const onData = (chunk: Buffer) => {
    seen += chunk.toString('latin1');
    if (seen.includes('\r\n\r\n')) {
      socket.off('data', onData);
      fn();
    }
  };
  socket.on('data', onData);
}

function sender(extra: Partial<ConstructorParameters<typeof HttpWebhookSender>[0]> = {}) {
  const s = new HttpWebhookSender({ timeoutSeconds: TIMEOUT_SECONDS, targets: LOCAL_TARGETS, ...extra });
  cleanups.push(() => void s.close());
  return s;
}

/** The send's rejection, or 'unsettled' if it is still pending long after its deadline. */
async function settle(s: HttpWebhookSender, url: string, body = '{"a":1}'): Promise<unknown> {
  let guard: NodeJS.Timeout | undefined;
  const unsettled = new Promise<'unsettled'>((resolve) => {
    guard = setTimeout(() => resolve('unsettled'), GUARD_MS);
  });
  try {
    return await Promise.race([
      s.send({ url, headers: { 'Content-Type': 'application/json' }, body }).then(
        (answer) => ({ answered: answer.status }),
        (error: unknown) => error,
      ),
      unsettled,
    ]);
  } finally {
    clearTimeout(guard);
  }
}

describe('HttpWebhookSender against targets that misbehave below HTTP', () => {
  it('settles on an unrequested 101 Switching Protocols, retryable', async () => {
    const port = await rawTarget((socket) =>
      afterRequestHead(socket, () =>
        // Keeps the socket open afterwards, as a WebSocket server would.
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
      ),
    );
    const error = await settle(sender(), `http://127.0.0.1:${port}/hook`);
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect((error as Error).message).toMatch(/UNREQUESTED_UPGRADE/);
  });

  it('settles on a 101 without an Upgrade header (node hands it on as a final answer), retryable', async () => {
    const port = await rawTarget((socket) =>
      afterRequestHead(socket, () => socket.write('HTTP/1.1 101 Switching Protocols\r\n\r\n')),
    );
    const error = await settle(sender(), `http://127.0.0.1:${port}/hook`);
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect((error as Error).message).toMatch(/INFORMATIONAL_ANSWER/);
  });

  it('settles at the deadline on endless 1xx informational answers, retryable', async () => {
    const port = await rawTarget((socket) =>
      afterRequestHead(socket, () => {
        const timer = setInterval(() => socket.write('HTTP/1.1 102 Processing\r\n\r\n'), 20);
        socket.on('close', () => clearInterval(timer));
      }),
    );
    const error = await settle(sender(), `http://127.0.0.1:${port}/hook`);
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect((error as Error).message).toMatch(/TIMEOUT/);
  });

  it.each([
    ['closes its side after the request, without a word', ''],
    ['closes its side mid status line', 'HTTP/1.1 20'],
    ['closes its side mid headers', 'HTTP/1.1 200 OK\r\nContent-Type: text/pl'],
  ])('settles when the target half-closes: %s, retryable', async (_name, partial) => {
    const port = await rawTarget(
      (socket) => afterRequestHead(socket, () => socket.end(partial)), // FIN; its read side stays open
      true,
    );
    const error = await settle(sender(), `http://127.0.0.1:${port}/hook`);
    expect(error).toBeInstanceOf(RetryableDeliveryError);
  });

  it('settles at the deadline when the target accepts but never reads a large body, retryable', async () => {
    const port = await rawTarget((socket) => socket.pause());
    const error = await settle(sender(), `http://127.0.0.1:${port}/hook`, 'x'.repeat(4 * 1024 * 1024));
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect((error as Error).message).toMatch(/TIMEOUT/);
  });

  it('settles at the deadline when a TLS handshake never gets an answer, retryable', async () => {
    // Reads the ClientHello and says nothing.
    const port = await rawTarget((socket) => socket.resume());
    const error = await settle(sender(), `https://127.0.0.1:${port}/hook`);
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect((error as Error).message).toMatch(/TIMEOUT/);
  });

  it('settles at the deadline when a real TLS server stalls mid-handshake, retryable', async () => {
    const { key, cert } = selfSignedCert();
    let helloSeen = false;
    const server = createTlsServer({
      key,
      cert,
      // Never calls back: the server holds the handshake after the ClientHello, forever.
      SNICallback: () => {
        helloSeen = true;
      },
    });
    server.on('tlsClientError', () => undefined);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const sockets: Socket[] = [];
    server.on('connection', (s: Socket) => sockets.push(s));
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      server.close();
    });
    const { port } = server.address() as AddressInfo;
    // A name (so the client sends SNI) that the injected resolver maps to the server.
    const s = sender({
      lookup: (_hostname, options, callback) => {
        if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
        else callback(null, '127.0.0.1', 4);
      },
    });
    const error = await settle(s, `https://stalling.test:${port}/hook`);
    expect(helloSeen).toBe(true);
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect((error as Error).message).toMatch(/TIMEOUT/);
  });

  it('settles on a certificate it cannot trust (self-signed), retryable', async () => {
    const { key, cert } = selfSignedCert();
    const server = createTlsServer({ key, cert }, (socket) => socket.end());
    server.on('tlsClientError', () => undefined);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => server.close());
    const { port } = server.address() as AddressInfo;
    const error = await settle(sender(), `https://127.0.0.1:${port}/hook`);
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect((error as Error).message).toMatch(/SELF_SIGNED/);
  });

  it('leads the redeliverer to schedule a retry after an unrequested 101', async () => {
    const port = await rawTarget((socket) =>
      afterRequestHead(socket, () => socket.write('HTTP/1.1 101 Switching Protocols\r\n\r\n')),
    );
    const { deps } = fakeDeps(sender());
    const message = retryMessage({ targetUrl: `http://127.0.0.1:${port}/hook` });
    const outcome = await redeliver(sqsInput(message), {
      ...deps,
      settings: { ...deps.settings, TARGET_ALLOW_LOOPBACK: true },
    });
    expect(outcome).toMatchObject({ result: 'retry-scheduled', targetCalled: true });
    expect(outcome.error).toMatch(/INFORMATIONAL_ANSWER/);
  });
});

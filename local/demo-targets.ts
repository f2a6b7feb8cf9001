import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a demo target received. */
export interface ReceivedRequest {
  readonly path: string;
  readonly idempotencyKey: string | undefined;
  readonly contentType: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly answered: number;
}

export interface DemoTargets {
  readonly url: string;
  /** Every request, in arrival order. */
  readonly received: ReceivedRequest[];
  stop(): Promise<void>;
}

/**
 * Webhook endpoints for the demo: `/healthy` answers 200; `/flaky` answers 503 to the first `flakyFailures`
 * requests of each event (by Idempotency-Key), then 200; `/gone` answers 410; `/down` always 503.
 */
export async function startDemoTargets(
  options: { port?: number; flakyFailures?: number } = {},
): Promise<DemoTargets> {
  const flakyFailures = options.flakyFailures ?? 2;
  const received: ReceivedRequest[] = [];
  const seenByKey = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://local').pathname;
      const key = header(req, 'idempotency-key');
      const count = (seenByKey.get(`${path}|${key}`) ?? 0) + 1;
      seenByKey.set(`${path}|${key}`, count);
      let status = 404;
      if (path === '/healthy') status = 200;
      else if (path === '/flaky') status = count <= flakyFailures ? 503 : 200;
      else if (path === '/gone') status = 410;
      else if (path === '/down') status = 503;
      received.push({
        path,
        idempotencyKey: key,
        contentType: header(req, 'content-type'),
        headers: req.headers,
        body: Buffer.concat(chunks),
        answered: status,
      });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'not now');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

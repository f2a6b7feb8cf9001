import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'ok' | '5xx' | '429' | 'hang' | 'reset';

export interface ChaosHit {
  readonly key: string;
  readonly body: string;
  readonly fault: Fault;
}

/**
 * A webhook endpoint that misbehaves until `recoverAt`: answers 503, 429 with Retry-After, hangs past the
 * client's timeout, or resets the connection, each chosen by `random`; after `recoverAt` it answers 200.
 */
export async function startChaosTarget(options: {
  random: () => number;
  faultRate: number;
  recoverAt: number;
}) {
  const hits: ChaosHit[] = [];
  const hanging = new Set<import('node:http').ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      let fault: Fault = 'ok';
      if (Date.now() < options.recoverAt && options.random() < options.faultRate) {
        const faults: Fault[] = ['5xx', '429', 'hang', 'reset'];
        fault = faults[Math.floor(options.random() * faults.length)] ?? '5xx';
      }
      hits.push({ key, body: Buffer.concat(chunks).toString('utf8'), fault });
      if (fault === 'ok') res.writeHead(200).end('ok');
      else if (fault === '5xx') res.writeHead(503).end();
      else if (fault === '429') res.writeHead(429, { 'retry-after': '1' }).end();
      else if (fault === 'reset') req.socket.destroy();
      else hanging.add(res); // never answered: the client's timeout must fire
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

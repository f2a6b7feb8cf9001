import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How one path of a host behaves for the `n`-th request of one event (its Idempotency-Key), from 1. */
export type PathBehaviour = (
  n: number,
  now: number,
  /** True for the very first request to this path, whatever the event. */
  firstOnPath: boolean,
) => number | 'hang' | 'reset' | { status: number; retryAfter: string };

export interface HostHit {
  readonly path: string;
  readonly key: string;
  readonly body: string;
  /** What the host did: a status, 'hang' or 'reset'. */
  readonly answer: number | 'hang' | 'reset';
}

/**
 * One host, many paths: the topology most orgs have (one API gateway or load balancer in front of every webhook).
 * Each path behaves by its own rule, counted per event; every request is recorded.
 */
export async function startSingleHost(paths: Record<string, PathBehaviour>, port = 0) {
  const hits: HostHit[] = [];
  const perKey = new Map<string, number>();
  const seenPaths = new Set<string>();
  const hanging = new Set<ServerResponse>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://host').pathname;
      const key = String(req.headers['idempotency-key'] ?? '');
      const rule = Object.entries(paths).find(([prefix]) => path.startsWith(prefix))?.[1];
      const n = (perKey.get(`${path} ${key}`) ?? 0) + 1;
      perKey.set(`${path} ${key}`, n);
      const firstOnPath = !seenPaths.has(path);
      seenPaths.add(path);
      const decided = rule ? rule(n, Date.now(), firstOnPath) : 404;
      const answer = typeof decided === 'object' ? decided.status : decided;
      hits.push({ path, key, body: Buffer.concat(chunks).toString('utf8'), answer });
      if (decided === 'hang') hanging.add(res);
      else if (decided === 'reset') req.socket.destroy();
      else if (typeof decided === 'object')
        res.writeHead(decided.status, { 'retry-after': decided.retryAfter }).end();
      else res.writeHead(decided).end(String(decided));
    });
  };
  let server: Server | undefined;
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer(handle);
      s.once('error', reject);
      s.listen(p, '127.0.0.1', () => {
        server = s;
        resolve((s.address() as AddressInfo).port);
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      for (const r of hanging) r.destroy();
      hanging.clear();
      if (!s) return resolve();
      s.close(() => resolve());
      s.closeAllConnections();
    });
  const boundPort = await listen(port);
  return {
    url: `http://127.0.0.1:${boundPort}`,
    port: boundPort,
    hits,
    /** Stops accepting connections (the port then refuses them), keeping the record of hits. */
    down: close,
    /** Listens again on the same port. */
    up: () => listen(boundPort),
    stop: close,
  };
}

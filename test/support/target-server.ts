import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TargetHit {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly status: number;
}

/**
 * A webhook target whose answer per path is scripted by the hit number (1-based) on that path, and, where the
 * script needs them, by the request's body and the hits before it.
 */
export async function startTargetServer(
  script: Record<string, (hit: number, body: Buffer, before: readonly TargetHit[]) => number>,
) {
  const hits: TargetHit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const n = hits.filter((h) => h.path === path).length + 1;
      const body = Buffer.concat(chunks);
      const status = script[path]?.(n, body, hits) ?? 404;
      hits.push({ path, headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    hitsOn: (path: string) => hits.filter((h) => h.path === path),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

import { Worker } from 'node:worker_threads';

/**
 * The webhook targets of the benchmarks, in a worker thread of their own so that answering requests does not
 * compete with the code under test for one event loop (a real target is another machine). Two servers:
 * `healthyUrl` answers 200 (after `latencyMs`, when given) and counts each answer in shared memory, so the
 * benchmark can watch progress without messages; `blackHoleUrl` accepts connections and never answers.
 */
export interface Receivers {
  readonly healthyUrl: string;
  readonly blackHoleUrl: string;
  /** Requests answered 200 so far. */
  answered(): number;
  /** Requests the black hole has swallowed so far. */
  swallowed(): number;
  /** Sets the answer delay of the healthy server from now on. */
  setLatency(ms: number): Promise<void>;
  stop(): Promise<void>;
}

// Plain JavaScript: a worker started from source needs no loader, whatever runs the benchmark.
const WORKER_SOURCE = `
const { createServer } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const counters = new Int32Array(workerData.counters);
let latencyMs = workerData.latencyMs;
const healthy = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    const answer = () => {
      Atomics.add(counters, 0, 1);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
    };
    if (latencyMs > 0) setTimeout(answer, latencyMs); else answer();
  });
});
healthy.keepAliveTimeout = 60000;
const held = new Set();
const blackHole = createServer((req) => {
  Atomics.add(counters, 1, 1);
  req.resume();
  held.add(req.socket);
  req.socket.on('close', () => held.delete(req.socket));
});
blackHole.requestTimeout = 0;
blackHole.headersTimeout = 0;
let listening = 0;
const ready = () => {
  listening += 1;
  if (listening === 2) parentPort.postMessage({ healthy: healthy.address().port, blackHole: blackHole.address().port });
};
healthy.listen(0, '127.0.0.1', ready);
blackHole.listen(0, '127.0.0.1', ready);
parentPort.on('message', (m) => {
  if (m.latencyMs !== undefined) { latencyMs = m.latencyMs; parentPort.postMessage({ latencyMs }); }
  if (m.stop) {
    for (const s of held) s.destroy();
    healthy.closeAllConnections();
    blackHole.closeAllConnections();
    healthy.close();
    blackHole.close(() => parentPort.postMessage({ stopped: true }));
  }
});
`;

interface Ports {
  readonly healthy: number;
  readonly blackHole: number;
}

function isPorts(v: unknown): v is Ports {
  return typeof v === 'object' && v !== null && 'healthy' in v && 'blackHole' in v;
}

/** Starts both target servers in one worker thread. */
export async function startReceivers(options: { latencyMs?: number } = {}): Promise<Receivers> {
  const counters = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { counters: counters.buffer, latencyMs: options.latencyMs ?? 0 },
  });
  const next = <T>(accept: (m: unknown) => m is T): Promise<T> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if (!accept(m)) return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        resolve(m);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  const ports = await next(isPorts);
  return {
    healthyUrl: `http://127.0.0.1:${ports.healthy}`,
    blackHoleUrl: `http://127.0.0.1:${ports.blackHole}`,
    answered: () => Atomics.load(counters, 0),
    swallowed: () => Atomics.load(counters, 1),
    async setLatency(ms) {
      const done = next(
        (m): m is { latencyMs: number } => typeof m === 'object' && m !== null && 'latencyMs' in m,
      );
      worker.postMessage({ latencyMs: ms });
      await done;
    },
    async stop() {
      const done = next((m): m is { stopped: true } => typeof m === 'object' && m !== null && 'stopped' in m);
      worker.postMessage({ stop: true });
      await done;
      await worker.terminate();
    },
  };
}

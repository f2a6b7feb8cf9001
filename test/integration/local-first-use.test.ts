import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ROOT, startLocalMode } from '../cli/demo-process';
import { startTargetServer } from '../support/target-server';

/**
 * Issue 23, local mode as a new user meets it: the commands as the README and docs/operations.md write them,
 * `npm start` itself where npm's own handling of the command line is the point.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-first-use-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Free ports for everything, so nothing here meets another run's emulators. */
const FREE_PORTS = {
  LOCAL_SQS_PORT: '0',
  LOCAL_DYNAMODB_PORT: '0',
  LOCAL_GENESYS_PORT: '0',
  LOCAL_EVENTBRIDGE_PORT: '0',
};

/** Runs `npm <args>` in the project, as a user types it. */
function npm(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 100_000,
): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(
      'npm',
      args,
      { cwd: ROOT, env: cleanEnv({ ...FREE_PORTS, ...env }), timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 },
      (error, stdout, stderr) =>
        done({
          code: error ? Number((error as { code?: unknown }).code ?? 1) : 0,
          out: `${stdout}${stderr}`,
        }),
    );
  });
}

/** Listens on 127.0.0.1 (any free port), to hold a port as another program would. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, server };
}

describe('5. flags', () => {
  it('npm start -- --help prints the options and starts nothing', async () => {
    const { code, out } = await npm(['start', '--', '--help']);
    expect(code, out).toBe(0);
    expect(out).toContain('Usage: npm start [-- OPTIONS]');
    expect(out).toContain('--until-settled');
    expect(out).not.toMatch(/SQS endpoint/);
  }, 60_000);

  it('npm start -- --until-setled is refused with a "did you mean", exit 2', async () => {
    const { code, out } = await npm(['start', '--', '--until-setled']);
    expect(code).toBe(2);
    expect(out).toContain(
      'npm start: unknown option --until-setled (did you mean --until-settled?); npm start -- --help lists the options',
    );
    expect(out).not.toMatch(/SQS endpoint/);
  }, 60_000);

  it('npm start --until-settled (without --) is honoured, with a note on how to write it', async () => {
    const { code, out } = await npm(['start', '--until-settled']);
    expect(code, out).toBe(0);
    expect(out).toContain(
      'note: npm took --until-settled as an option of its own (write npm start -- --until-settled); honoured anyway',
    );
    expect(out).toMatch(/stopping \(settled\)/);
  }, 120_000);
});

describe('6. misspelt settings in .env', () => {
  it('are named in the banner, with what they most likely meant', async () => {
    const cwd = await mkdtemp(join(dir, 'dotenv-'));
    await writeFile(join(cwd, '.env'), 'MAX_RETRY=5\nGENESYS_REGION=eu-west-1\nAWS_PROFILE=dev\n');
    const demo = startLocalMode({}, { cwd });
    try {
      await demo.waitFor(/Polling now/);
      const out = demo.output();
      expect(out).toMatch(/ignored\s+MAX_RETRY in \.env \(not a setting; did you mean MAX_RETRIES\?\)/);
      expect(out).toMatch(
        /ignored\s+GENESYS_REGION in \.env \(not a setting; did you mean GENESYS_CLOUD_REGION\?\)/,
      );
      expect(out).not.toContain('AWS_PROFILE');
    } finally {
      await demo.stop();
    }
  }, 60_000);
});

describe('7. every emulator listens on 127.0.0.1 only', () => {
  it.runIf(process.platform === 'linux')(
    'SQS, DynamoDB, Genesys, EventBridge and the demo targets refuse 127.0.0.2 (which 0.0.0.0 would take)',
    async () => {
      const demo = startLocalMode({});
      try {
        await demo.waitFor(/EventBridge PutEvents\s+http:\/\/127\.0\.0\.1:\d+/);
        const out = demo.output();
        const ports = [
          /SQS endpoint\s+http:\/\/127\.0\.0\.1:(\d+)/,
          /DynamoDB endpoint\s+http:\/\/127\.0\.0\.1:(\d+)/,
          /Genesys Cloud emulator\s+http:\/\/127\.0\.0\.1:(\d+)/,
          /demo targets\s+http:\/\/127\.0\.0\.1:(\d+)/,
          /EventBridge PutEvents\s+http:\/\/127\.0\.0\.1:(\d+)/,
        ].map((p) => Number(p.exec(out)?.[1]));
        expect(ports.every((p) => p > 0)).toBe(true);
        const reach = (host: string, port: number) =>
          new Promise<string>((done) => {
            const socket = connect(port, host);
            socket.once('connect', () => {
              socket.destroy();
              done('open');
            });
            socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'));
          });
        for (const port of ports) {
          expect(await reach('127.0.0.1', port), `127.0.0.1:${port}`).toBe('open');
          expect(await reach('127.0.0.2', port), `127.0.0.2:${port}`).toBe('ECONNREFUSED');
        }
      } finally {
        await demo.stop();
      }
    },
    60_000,
  );
});

describe('8. ports', () => {
  it('every port in use is named in one run, before anything starts', async () => {
    const a = await holdPort();
    const b = await holdPort();
    try {
      const demo = startLocalMode({ LOCAL_SQS_PORT: String(a.port), LOCAL_DYNAMODB_PORT: String(b.port) });
      const code = await demo.exited;
      const out = demo.output();
      expect(code).toBe(1);
      expect(out).toMatch(/^Local mode cannot start: fix these 2 settings/);
      expect(out).toContain(`LOCAL_SQS_PORT: port ${a.port} is in use`);
      expect(out).toContain(`LOCAL_DYNAMODB_PORT: port ${b.port} is in use`);
      expect(out).not.toMatch(/SQS endpoint/);
    } finally {
      a.server.close();
      b.server.close();
    }
  }, 60_000);

  it('LOCAL_SQS_PORT=abc reads plainly', async () => {
    const demo = startLocalMode({ LOCAL_SQS_PORT: 'abc' });
    expect(await demo.exited).toBe(1);
    expect(demo.output().trim()).toBe(
      'LOCAL_SQS_PORT must be a port number from 0 to 65535 (0 picks a free port) (got "abc")',
    );
  }, 60_000);
});

describe('3 and 4. EventBridge only against a real org, and the example events sent by hand', () => {
  it('a region and ROUTES_FILE, no WEBHOOK_ID: starts without Genesys credentials and delivers the samples byte for byte', async () => {
    const target = await startTargetServer({
      '/genesys/audits': () => 200,
      '/genesys/conversations': () => 200,
    });
    try {
      // examples/eventbridge/routes.json, pointed at a server of this test.
      const routes = (
        JSON.parse(await readFile(resolve(ROOT, 'examples/eventbridge/routes.json'), 'utf8')) as {
          url: string;
        }[]
      ).map((r) => ({ ...r, url: `${target.url}${new URL(r.url).pathname}` }));
      const routesFile = join(dir, 'routes.json');
      await writeFile(routesFile, JSON.stringify(routes));
      const demo = startLocalMode({ GENESYS_CLOUD_REGION: 'eu-west-1', ROUTES_FILE: routesFile });
      try {
        const endpoint = (await demo.waitFor(/EventBridge PutEvents\s+(http:\/\/127\.0\.0\.1:\d+)/))[1] ?? '';
        expect(demo.output()).toMatch(
          /^EventBridge-only mode \(GENESYS_CLOUD_REGION=eu-west-1, no WEBHOOK_ID\): no poller and no Genesys credentials/,
        );
        expect(demo.output()).not.toMatch(/GENESYS_CLOUD_CLIENT_ID/);
        // What `aws --endpoint-url <endpoint> events put-events --entries file://…` sends.
        const client = new EventBridgeClient({
          endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        });
        const expected: string[] = [];
        for (const file of ['user-presence-audit.json', 'conversation-customer-end.json']) {
          const entries = JSON.parse(await readFile(resolve(ROOT, 'examples/eventbridge', file), 'utf8')) as {
            Source: string;
            DetailType: string;
            Detail: string;
          }[];
          const out = await client.send(new PutEventsCommand({ Entries: entries }));
          expect(out.FailedEntryCount).toBe(0);
          expected.push(...entries.map((e) => JSON.stringify(JSON.parse(e.Detail))));
        }
        client.destroy();
        await demo.waitFor(/delivered[\s\S]*delivered/);
        expect(target.hits.map((h) => h.body.toString('utf8')).sort()).toEqual(expected.sort());
        expect(target.hits.map((h) => h.path).sort()).toEqual(['/genesys/audits', '/genesys/conversations']);
      } finally {
        await demo.stop();
      }
    } finally {
      await target.stop();
    }
  }, 90_000);
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetId } from '../../lambdas/shared/domain/target-id';
import { deriveTargetKey } from '../../lambdas/shared/domain/target-signing-key';
import { loadDeliveriesFile, rebaseDeliveries } from '../../local/genesys-emulator/emulated-delivery';
import { ROOT, startLocalMode } from '../cli/demo-process';
import { startTargetServer } from '../support/target-server';

const README = resolve(ROOT, 'README.md');
const BLOCK = /(<!-- demo-output:start -->\n```\n)([\s\S]*?)(```\n<!-- demo-output:end -->)/;
const SHIFT_CLOCK = pathToFileURL(resolve(ROOT, 'test/cli/shift-clock.mjs')).href;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-demo-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `npm start`'s program as a new user would, on free ports, until it exits. */
async function runDemo(
  env: Record<string, string>,
  options: { args?: string[]; cwd?: string; preload?: string } = {},
) {
  const demo = startLocalMode(env, { args: ['--until-settled'], ...options });
  const timer = setTimeout(() => void demo.stop(), 100_000);
  const code = await demo.exited;
  clearTimeout(timer);
  return { code, out: demo.output() };
}

/** A line of demo output without what changes from run to run: times, ports, jittered delays. */
function normalise(line: string): string {
  return line
    .replace(/^\[\+\s*[\d.]+s\]/, '[+ T]')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
    .replace(/whsec_[A-Za-z0-9+/=]+/g, 'whsec_KEY')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'EVENT-ID')
    .replace(/next in \d+ s/, 'next in N s')
    .replace(/\d+ already-known/, 'N already-known')
    .trimEnd();
}

/** A demo target's id as the output names it: `/~` and its path's hash (the origin's port changes per run). */
const demoId = (path: string) => `/~${targetId(`http://127.0.0.1:1${path}`).split('/~')[1]}`;

const isPollLine = (line: string) => / poll \S+: \d+ found/.test(line);

describe('npm start (demo mode)', () => {
  it('recovers the demo deliveries, dead-letters the rest, and prints what the README shows', async () => {
    const { code, out } = await runDemo({});
    expect(code, out).toBe(0);
    expect(out).toMatch(/SQS endpoint\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toMatch(/retry queue\s+\S+genesys-webhook-recovery-retry/);
    expect(out).toMatch(/dead letter queue\s+\S+genesys-webhook-recovery-dlq/);
    expect(out).toMatch(
      /export AWS_ENDPOINT_URL_SQS=http:\/\/127\.0\.0\.1:\d+ AWS_ENDPOINT_URL_DYNAMODB=http:\/\/127\.0\.0\.1:\d+/,
    );
    expect(out).toMatch(/AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --endpoint-url/);
    for (const id of ['dlv-0001', 'dlv-0003', 'dlv-0005', 'dlv-0008'])
      expect(out).toMatch(new RegExp(`delivered\\s+${id}`));
    expect(out).toMatch(/giving up\s+dlv-0004 .*HTTP 410/);
    expect(out).toMatch(/giving up\s+dlv-0006 .*HTTP 503, attempt 3/);
    expect(out).toMatch(/invalid\s+dlv-0007 .*scheme ftp/);
    expect(out).toMatch(/DLQ \S+ now holds 2 message\(s\)/);
    // Signed by default; with no SIGNING_SECRET the generated key is printed so a local target can verify.
    expect(out).toMatch(/signing\s+Standard Webhooks, with the generated key whsec_[A-Za-z0-9+/]{43}=/);
    // The EventBridge source beside it: delivered, a duplicate skipped, retried, dead-lettered, unmatched.
    expect(out).toMatch(
      /EventBridge PutEvents\s+http:\/\/127\.0\.0\.1:\d+\s+\(routes conversation-ends, acd, audits\)/,
    );
    expect(out).toMatch(
      new RegExp(
        `eventbridge\\s+(\\S+) \\(route conversation-ends\\) → \\S+${demoId('/healthy')}[\\s\\S]*delivered\\s+\\1 → `,
      ),
    );
    expect(out).toMatch(
      /eventbridge\s+\S+ \(route conversation-ends\): same content as an event already taken in, not delivered again/,
    );
    expect(out).toMatch(new RegExp(`retry\\s+\\S+ → \\S+${demoId('/flaky')} \\(HTTP 503, attempt 1`));
    expect(out).toMatch(
      new RegExp(
        `eventbridge\\s+(\\S+) \\(route audits\\)[\\s\\S]*giving up\\s+\\1 → \\S+${demoId('/gone')} \\(HTTP 410`,
      ),
    );
    expect(out).toMatch(/unmatched\s+\S+: no route takes topic v2\.users\.\S+\.presence/);
    expect(out).toMatch(
      /Summary: 6 enqueued, \d+ already-known entries skipped .*, 1 invalid entries recorded, 6 delivered, .* 3 given up/,
    );
    // A rule queues every copy; the redeliverer delivers one of the two with the same content.
    expect(out).toMatch(/EventBridge: 4 enqueued, 1 duplicates not delivered again, 1 unmatched/);
    // 8. Every poll line adds up: found = new + already known + invalid (+ invalid recorded before).
    const polls = [...out.matchAll(/poll \S+: (\d+) found = (.*)$/gm)];
    expect(polls.length).toBeGreaterThan(2);
    for (const [line, found, parts] of polls) {
      const sum = [...(parts ?? '').matchAll(/(\d+) [a-z]/g)].reduce((n, m) => n + Number(m[1]), 0);
      expect(sum, line).toBe(Number(found));
    }

    const lines = out.trimEnd().split('\n');
    const readme = await readFile(README, 'utf8');
    if (process.env.UPDATE_DEMO_OUTPUT === '1') {
      // Regenerate the README's sample from this run: the default ports, the first poll's lines only.
      const ports = {
        sqs: /SQS endpoint\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1],
        dynamo: /DynamoDB endpoint\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1],
        genesys: /Genesys Cloud emulator\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1],
        eventBridge: /EventBridge PutEvents\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1],
      };
      const polled = new Set<string>();
      const sample = lines
        .filter((l) => {
          if (!isPollLine(l)) return true;
          const webhook = / poll (\S+):/.exec(l)?.[1] ?? '';
          if (polled.has(webhook)) return false;
          polled.add(webhook);
          return true;
        })
        .map((l) =>
          l
            .replaceAll(`127.0.0.1:${ports.sqs}`, '127.0.0.1:4566')
            .replaceAll(`127.0.0.1:${ports.dynamo}`, '127.0.0.1:4567')
            .replaceAll(`127.0.0.1:${ports.genesys}`, '127.0.0.1:9000')
            .replaceAll(`127.0.0.1:${ports.eventBridge}`, '127.0.0.1:4568'),
        );
      await writeFile(
        README,
        readme.replace(BLOCK, (_m, a: string, _b, c: string) => `${a}${sample.join('\n')}\n${c}`),
      );
      return;
    }
    const block = BLOCK.exec(readme)?.[2];
    expect(block, 'README.md has a demo-output block').toBeDefined();
    const shown = new Set((block ?? '').trimEnd().split('\n').map(normalise));
    const printed = new Set(lines.map(normalise));
    // Every line of the README's sample is one the demo printed, and the demo printed nothing the sample lacks
    // (poll lines aside: how many polls fall in a run depends on timing). To refresh the sample:
    // UPDATE_DEMO_OUTPUT=1 npx vitest run test/integration/local-demo.test.ts
    expect(
      [...shown].filter((l) => !printed.has(l)),
      'README lines the demo did not print',
    ).toEqual([]);
    expect(
      [...printed].filter((l) => !isPollLine(l) && !shown.has(l)),
      'demo lines missing from the README',
    ).toEqual([]);
  }, 120_000);

  it('seeds the emulator from LOCAL_DELIVERIES_FILE and redelivers to the endpoints it names', async () => {
    const target = await startTargetServer({ '/hook': () => 200 });
    const file = join(dir, 'deliveries.json');
    const entry = (id: string, body: unknown) => ({
      id,
      webhookId: 'file-webhook',
      status: 'failed',
      httpStatusCode: 500,
      body,
      headers: {},
      webhookUrl: `${target.url}/hook`,
      dateCreated: '-1m',
    });
    await writeFile(file, JSON.stringify([entry('f-1', { a: 1 }), entry('f-2', 'plain')]));
    try {
      const { code, out } = await runDemo({ LOCAL_DELIVERIES_FILE: file, POLL_INTERVAL_SECONDS: '2' });
      expect(code, out).toBe(0);
      expect(out).toMatch(/deliveries from .*deliveries\.json/);
      expect(out).toMatch(/webhooks file-webhook/);
      expect(
        target
          .hitsOn('/hook')
          .map((h) => h.body.toString())
          .sort(),
      ).toEqual(['plain', '{"a":1}']);
    } finally {
      await target.stop();
    }
  }, 60_000);

  it('signs with SIGNING_SECRET: the target verifies every redelivery with the standardwebhooks package', async () => {
    const key = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const target = await startTargetServer({ '/hook': () => 200 });
    const dir = await mkdtemp(join(tmpdir(), 'deliveries-'));
    const file = join(dir, 'deliveries.json');
    const entry = (id: string, body: unknown) => ({
      id,
      webhookId: 'signed-webhook',
      status: 'failed',
      httpStatusCode: 500,
      body,
      headers: {},
      webhookUrl: `${target.url}/hook`,
      dateCreated: new Date(Date.now() - 60_000).toISOString(),
    });
    await writeFile(file, JSON.stringify([entry('s-1', { a: 'ü' }), entry('s-2', 'plain ✓')]));
    try {
      const { code, out } = await runDemo({
        LOCAL_DELIVERIES_FILE: file,
        POLL_INTERVAL_SECONDS: '2',
        SIGNING_SECRET: key,
      });
      expect(code, out).toBe(0);
      expect(out).toMatch(/signing\s+Standard Webhooks, with SIGNING_SECRET from the environment or \.env/);
      expect(out).not.toContain(key);
      const hits = target.hitsOn('/hook');
      expect(hits).toHaveLength(2);
      for (const hit of hits) {
        const headers = hit.headers as Record<string, string>;
        expect(() =>
          // The webhook's own key, derived from the secret (signing-key --webhook signed-webhook prints it).
          new Webhook(deriveTargetKey(key, 'webhook:signed-webhook')).verify(
            hit.body.toString('utf8'),
            headers,
            {
              jsonParse: false,
            },
          ),
        ).not.toThrow();
        expect(headers['webhook-id']).toBe(headers['idempotency-key']);
      }
    } finally {
      await target.stop();
    }
  }, 60_000);

  it('exits non-zero before starting anything when SIGNING_SECRET is not a key, without echoing it', async () => {
    const { code, out } = await runDemo({ SIGNING_SECRET: 'whsec_c2hvcnQ=' });
    expect(code).toBe(1);
    expect(out).toMatch(/Signing secret SIGNING_SECRET \(key 1\) must decode to 24–64 bytes/);
    expect(out).not.toContain('c2hvcnQ');
    expect(out).not.toMatch(/SQS endpoint/);
  }, 30_000);

  it('2. runs the example deliveries file with a clock 30 days ahead', async () => {
    const { code, out } = await runDemo(
      {
        LOCAL_DELIVERIES_FILE: 'local/example-deliveries.json',
        TEST_CLOCK_OFFSET_MS: String(30 * 86_400_000),
        POLL_INTERVAL_SECONDS: '2',
        MAX_RETRIES: '1',
        DELIVERY_TIMEOUT_SECONDS: '2',
        // Nothing listens on the example's 127.0.0.1:8080: a host taking no connection is held, not a verdict,
        // so the run settles once the hold's bound has passed.
        MAX_HOLD_SECONDS: '10',
      },
      { preload: SHIFT_CLOCK },
    );
    expect(code, out).toBe(0);
    expect(out).toMatch(/enqueued\s+example-0001 \(example-webhook\)/);
    expect(out).toMatch(/poll example-webhook: 1 found = 1 new/);
    expect(out).not.toMatch(/stopped early/);
  }, 60_000);

  it('2. moves a saved log whose dates are past the 14-day lookback, and says so', async () => {
    const file = join(dir, 'old.json');
    const old = (id: string, dateCreated: string) => ({
      id,
      webhookId: 'old-webhook',
      status: 'failed',
      httpStatusCode: 503,
      body: {},
      headers: {},
      webhookUrl: 'http://127.0.0.1:9/x',
      dateCreated,
    });
    await writeFile(
      file,
      JSON.stringify([old('o-1', '2026-11-28T12:00:00Z'), old('o-2', '2026-11-28T12:05:00Z')]),
    );
    const now = new Date('2026-12-28T12:00:00Z');
    const { deliveries, rebase } = rebaseDeliveries(
      await loadDeliveriesFile(file, now),
      now,
      335 * 3_600_000,
    );
    expect(rebase?.newestWas).toBe('2026-11-28T12:05:00.000Z');
    expect(deliveries.map((d) => d.dateCreated)).toEqual([
      '2026-12-28T11:54:00.000Z',
      '2026-12-28T11:59:00.000Z',
    ]);
  });

  it('8. names the file, the entry index, its id and the field, in two lines', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify([{ id: 'x-1', webhookId: 'w', status: 'failed', body: {}, headers: {} }]),
    );
    const { code, out } = await runDemo({ LOCAL_DELIVERIES_FILE: file });
    expect(code).toBe(1);
    const lines = out.trim().split('\n');
    expect(lines.length, out).toBeLessThanOrEqual(2);
    expect(lines[0]).toMatch(/^Deliveries file .*bad\.json: entry 0 \(id "x-1"\) is invalid:$/);
    expect(lines[1]).toMatch(/httpStatusCode is missing \(an HTTP status from 100 to 599, or null/);
    expect(lines[1]).toMatch(/webhookUrl is missing/);
    expect(lines[1]).toMatch(/dateCreated is missing/);
    expect(out).not.toMatch(/Invalid input/);
  }, 30_000);

  it('8. broken JSON: names the line and column', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '[\n  { "id": "a", }\n]\n');
    const { code, out } = await runDemo({ LOCAL_DELIVERIES_FILE: file });
    expect(code).toBe(1);
    expect(out.trim()).toMatch(/^Deliveries file .*broken\.json is not valid JSON at line 2, column \d+: /);
    expect(out.trim().split('\n')).toHaveLength(1);
  }, 30_000);

  it('4. reports every bad setting at once, before starting anything', async () => {
    const { code, out } = await runDemo({ MAX_RETRIES: '0', BATCH_SIZE: 'x', LOCAL_SQS_PORT: 'abc' });
    expect(code).toBe(1);
    expect(out).toMatch(/^Local mode cannot start: fix these 3 settings/);
    expect(out).toMatch(/MAX_RETRIES must be a whole number of attempts from 1 to 995/);
    expect(out).toMatch(/BATCH_SIZE must be/);
    expect(out).toMatch(/LOCAL_SQS_PORT must be/);
    expect(out).not.toMatch(/SQS endpoint/);
  }, 30_000);

  it('4. a .env without a region: says it runs the demo and which settings it ignored', async () => {
    const cwd = await mkdtemp(join(dir, 'dotenv-'));
    await writeFile(
      join(cwd, '.env'),
      'GENESYS_CLOUD_CLIENT_ID=my-client\nGENESYS_CLOUD_CLIENT_SECRET=my-secret\nWEBHOOK_ID=my-webhook\n',
    );
    const demo = startLocalMode({}, { cwd });
    try {
      await demo.waitFor(/Polling now/);
      const out = demo.output();
      expect(out).toMatch(/^Demo mode \(GENESYS_CLOUD_REGION is not set\)/);
      expect(out).toMatch(
        /ignored\s+WEBHOOK_ID \(the demo polls the webhooks its delivery log holds: demo-orders, demo-calls\)/,
      );
      expect(out).toMatch(
        /ignored\s+GENESYS_CLOUD_CLIENT_ID \(the demo's emulator accepts only its own demo credentials\)/,
      );
      expect(out).toMatch(/ignored\s+GENESYS_CLOUD_CLIENT_SECRET/);
      expect(out).not.toContain('my-secret');
    } finally {
      await demo.stop();
    }
  }, 60_000);

  it('4. a region set: says it polls the real org, and that LOCAL_DELIVERIES_FILE is ignored', async () => {
    const demo = startLocalMode({
      GENESYS_CLOUD_REGION: 'http://127.0.0.1:9',
      GENESYS_CLOUD_CLIENT_ID: 'my-client',
      GENESYS_CLOUD_CLIENT_SECRET: 'my-secret',
      WEBHOOK_ID: 'my-webhook',
      LOCAL_DELIVERIES_FILE: 'local/example-deliveries.json',
    });
    try {
      await demo.waitFor(/Polling now/);
      const out = demo.output();
      expect(out).toMatch(
        /^Real-org mode \(GENESYS_CLOUD_REGION=http:\/\/127\.0\.0\.1:9\): polling webhooks my-webhook as OAuth client my-client/,
      );
      expect(out).toMatch(
        /ignored\s+LOCAL_DELIVERIES_FILE \(it seeds the demo emulator; only used when GENESYS_CLOUD_REGION is not set\)/,
      );
      expect(out).not.toMatch(/replay from the demo/);
    } finally {
      await demo.stop();
    }
  }, 60_000);
});

import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { startTargetServer } from '../support/target-server';

/** Runs `npm start`'s program as a new user would, on free ports, until every demo event has settled. */
function runDemo(env: Record<string, string>, args: string[] = ['--until-settled']) {
  return new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...args], {
      env: { ...process.env, LOCAL_SQS_PORT: '0', LOCAL_DYNAMODB_PORT: '0', LOCAL_GENESYS_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`demo did not settle in time:\n${out}`));
    }, 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('npm start (demo mode)', () => {
  it('recovers the demo deliveries and dead-letters the rest, then exits cleanly', async () => {
    const { code, out } = await runDemo({ GENESYS_CLOUD_REGION: '', POLL_INTERVAL_SECONDS: '3' });
    expect(code, out).toBe(0);
    expect(out).toMatch(/SQS endpoint\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toMatch(/retry queue\s+\S+genesys-webhook-recovery-retry/);
    expect(out).toMatch(/dead letter queue\s+\S+genesys-webhook-recovery-dlq/);
    for (const id of ['dlv-0001', 'dlv-0003', 'dlv-0005', 'dlv-0008'])
      expect(out).toMatch(new RegExp(`delivered\\s+${id}`));
    expect(out).toMatch(/giving up\s+dlv-0004 .*HTTP 410/);
    expect(out).toMatch(/giving up\s+dlv-0006 .*HTTP 503, attempt 3/);
    expect(out).toMatch(/invalid\s+dlv-0007 .*scheme ftp/);
    expect(out).toMatch(/DLQ \S+ now holds 2 message\(s\)/);
    // Signed by default; with no SIGNING_SECRET the generated key is printed so a local target can verify.
    expect(out).toMatch(/signing\s+Standard Webhooks, with the generated key whsec_[A-Za-z0-9+/]{43}=/);
    expect(out).toMatch(
      /Summary: 6 enqueued, \d+ already-known entries skipped .*, 1 invalid entries recorded, 4 delivered, .* 2 given up/,
    );
  }, 100_000);

  it('seeds the emulator from LOCAL_DELIVERIES_FILE and redelivers to the endpoints it names', async () => {
    const target = await startTargetServer({ '/hook': () => 200 });
    const dir = await mkdtemp(join(tmpdir(), 'deliveries-'));
    const file = join(dir, 'deliveries.json');
    const entry = (id: string, body: unknown) => ({
      id,
      webhookId: 'file-webhook',
      status: 'failed',
      httpStatusCode: 500,
      body,
      headers: {},
      webhookUrl: `${target.url}/hook`,
      dateCreated: new Date(Date.now() - 60_000).toISOString(),
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
          new Webhook(key).verify(hit.body.toString('utf8'), headers, { jsonParse: false }),
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

  it('names the file and the entry when LOCAL_DELIVERIES_FILE holds a bad entry', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deliveries-'));
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify([{ id: 'x' }]));
    const { code, out } = await runDemo({ LOCAL_DELIVERIES_FILE: file });
    expect(code).toBe(1);
    expect(out).toMatch(/bad\.json: entry 0 is invalid/);
  }, 30_000);

  it('exits non-zero before starting anything when a setting is bad, naming it', async () => {
    const { code, out } = await runDemo({ MAX_RETRIES: '0' });
    expect(code).toBe(1);
    expect(out).toMatch(/MAX_RETRIES must be a whole number of attempts from 1 to 1000/);
    expect(out).not.toMatch(/SQS endpoint/);
  }, 30_000);
});

import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTargetServer } from '../support/target-server';

/** Runs `npm start`'s program as a new user would, on free ports, until every demo event has settled. */
function runDemo(env: Record<string, string>, args: string[] = ['--until-settled']) {
  return new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...args], {
      env: {
        ...process.env,
        LOCAL_SQS_PORT: '0',
        LOCAL_DYNAMODB_PORT: '0',
        LOCAL_GENESYS_PORT: '0',
        LOCAL_EVENTBRIDGE_PORT: '0',
        ...env,
      },
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
    // The EventBridge source beside it: delivered, a duplicate skipped, retried, dead-lettered, unmatched.
    expect(out).toMatch(
      /EventBridge PutEvents\s+http:\/\/127\.0\.0\.1:\d+\s+\(routes conversation-ends, acd, audits\)/,
    );
    expect(out).toMatch(
      /eventbridge\s+(\S+) \(route conversation-ends\) → \S+\/healthy[\s\S]*delivered\s+\1 → /,
    );
    expect(out).toMatch(
      /eventbridge\s+\S+ \(route conversation-ends\): same content as an event already taken in/,
    );
    expect(out).toMatch(/retry\s+\S+ → \S+\/flaky \(HTTP 503, attempt 1/);
    expect(out).toMatch(/eventbridge\s+(\S+) \(route audits\)[\s\S]*giving up\s+\1 → \S+\/gone \(HTTP 410/);
    expect(out).toMatch(/unmatched\s+\S+: no route takes topic v2\.users\.\S+\.presence/);
    expect(out).toMatch(
      /Summary: 6 enqueued, \d+ already-known entries skipped .*, 1 invalid entries recorded, 6 delivered, .* 3 given up/,
    );
    expect(out).toMatch(/EventBridge: 3 enqueued, 1 duplicates not enqueued again, 1 unmatched/);
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

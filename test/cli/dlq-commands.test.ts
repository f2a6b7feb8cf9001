import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dlqExportCommand } from '../../cli/commands/dlq-export';
import { dlqListCommand } from '../../cli/commands/dlq-list';
import { dlqRedriveCommand } from '../../cli/commands/dlq-redrive';
import { dlqShowCommand } from '../../cli/commands/dlq-show';
import { queueDepth } from '../../cli/commands/status';
import type { DeadLetterRow, ExportEntry } from '../../cli/dead-letter';
import type { RedeliveryOutcome } from '../../lambdas/redeliverer/redeliver';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type GenesysEmulator, startGenesysEmulator } from '../../local/genesys-emulator';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { eventually } from '../support/queue-contents';
import { startTargetServer } from '../support/target-server';
import { testCli } from './cli-test-context';

/**
 * The DLQ commands against real dead letters: the pipeline (fauxqs, dynalite, the Genesys emulator, real HTTP
 * targets) dead-letters a 410 and an always-503 delivery, then list, show, export and redrive work on them.
 */
const CLIENT = { clientId: 'cli-client', clientSecret: 'cli-client-secret-value' };
const MAX_RETRIES = 2;
const run = promisify(execFile);

let emulator: GenesysEmulator;
let targets: Awaited<ReturnType<typeof startTargetServer>>;
let pipeline: LocalPipeline;
let dir: string;
let recovered = false;
const outcomes: RedeliveryOutcome[] = [];
const goneBody = { eventId: 'gone-1', list: [1, 2] };
const failedAt = new Date(Date.now() - 600_000).toISOString();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-dlq-'));
  targets = await startTargetServer({
    '/gone': () => (recovered ? 200 : 410),
    '/down': () => (recovered ? 200 : 503),
    '/ok': () => 200,
  });
  const entry = (id: string, path: string, body: unknown, headers: Record<string, string> = {}) => ({
    id,
    webhookId: 'wh-cli',
    status: 'failed' as const,
    httpStatusCode: 502,
    errorMessage: 'Bad gateway at the target',
    body,
    headers,
    webhookUrl: `${targets.url}${path}`,
    dateCreated: failedAt,
  });
  emulator = await startGenesysEmulator({
    clients: [CLIENT],
    deliveries: [
      entry('gone', '/gone', goneBody, { 'X-Genesys-Event': 'v2' }),
      entry('down', '/down', 'plain text body'),
      entry('ok', '/ok', { eventId: 'ok-1' }),
    ],
  });
  const settings = parsePipelineSettings({
    GENESYS_CLOUD_REGION: emulator.url,
    WEBHOOK_ID: 'wh-cli',
    MAX_RETRIES: String(MAX_RETRIES),
    RETRY_DELAY_SECONDS: '1',
    MAX_RETRY_DELAY_SECONDS: '1',
    DELIVERY_TIMEOUT_SECONDS: '2',
    TARGET_ALLOW_LOOPBACK: 'true', // targets on 127.0.0.1, as in local mode
  });
  pipeline = await startLocalPipeline({
    settings,
    credentials: CLIENT,
    waitTimeSeconds: 1,
    onOutcome: (o) => outcomes.push(o),
  });
  await pipeline.pollOnce();
  await eventually(
    async () => (await queueDepth(pipeline.aws.sqs, pipeline.aws.dlqUrl)).visible === 2,
    'two dead letters',
    45_000,
  );
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  await targets?.stop();
  await emulator?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function expectDlqIntact(): Promise<void> {
  const depth = await queueDepth(pipeline.aws.sqs, pipeline.aws.dlqUrl);
  expect({ visible: depth.visible, inFlight: depth.inFlight }).toEqual({ visible: 2, inFlight: 0 });
}

describe('dlq list', () => {
  it('lists each dead letter joined with the ledger, and leaves the DLQ as it was', async () => {
    const cli = testCli(pipeline.aws);
    expect(await dlqListCommand(cli.ctx, { json: true, waitTimeSeconds: 0 })).toBe(0);
    const rows = (JSON.parse(cli.out()) as DeadLetterRow[]).sort((a, b) =>
      a.deliveryId.localeCompare(b.deliveryId),
    );
    expect(rows).toMatchObject([
      {
        deliveryId: 'down',
        webhookId: 'wh-cli',
        targetUrl: `${targets.url}/down`,
        lastStatus: 503,
        attempts: 2,
      },
      {
        deliveryId: 'gone',
        webhookId: 'wh-cli',
        targetUrl: `${targets.url}/gone`,
        lastStatus: 410,
        attempts: 1,
      },
    ]);
    expect(rows[0]?.reason).toMatch(/503 Service Unavailable after 2 attempts/);
    expect(rows[1]?.reason).toMatch(/410 Gone/);
    for (const r of rows) expect(Date.parse(r.deadLetteredAt ?? '')).toBeGreaterThan(Date.parse(failedAt));
    await expectDlqIntact();
  });

  it('filters by status code, host and webhook, and prints a table by default', async () => {
    const byStatus = testCli(pipeline.aws);
    await dlqListCommand(byStatus.ctx, { json: true, status: 410, waitTimeSeconds: 0 });
    expect((JSON.parse(byStatus.out()) as DeadLetterRow[]).map((r) => r.deliveryId)).toEqual(['gone']);
    const otherWebhook = testCli(pipeline.aws);
    await dlqListCommand(otherWebhook.ctx, { json: true, webhook: 'someone-else', waitTimeSeconds: 0 });
    expect(JSON.parse(otherWebhook.out())).toEqual([]);
    const table = testCli(pipeline.aws);
    await dlqListCommand(table.ctx, { json: false, host: '127.0.0.1', waitTimeSeconds: 0 });
    const lines = table.out().trim().split('\n');
    expect(lines[0]).toMatch(/^DELIVERY ID\s+SOURCE\s+WEBHOOK\/ROUTE\s+TARGET\s+STATUS/);
    expect(
      lines
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .sort(),
    ).toEqual(['down', 'gone']);
    expect(table.err()).toContain('2 of 2 dead letter(s) shown');
    await expectDlqIntact();
  });
});

describe('dlq show', () => {
  it('shows everything known about one delivery, each attempt included', async () => {
    const cli = testCli(pipeline.aws);
    expect(await dlqShowCommand(cli.ctx, 'down', { json: false, waitTimeSeconds: 0 })).toBe(0);
    const text = cli.out();
    expect(text).toContain('Delivery down (webhook wh-cli): in the dead-letter queue');
    expect(text).toContain('plain text body');
    expect(text).toMatch(/#1 .* retryable .*HTTP 503/);
    expect(text).toMatch(/#2 .* retryable .*HTTP 503/);
    expect(text).toMatch(/ledger status\s+exhausted/);
    expect(text).not.toContain('Delivery gone');
    await expectDlqIntact();
  });

  it('fails with exit status 1 for a delivery nobody knows', async () => {
    const cli = testCli(pipeline.aws);
    expect(await dlqShowCommand(cli.ctx, 'no-such-delivery', { json: true, waitTimeSeconds: 0 })).toBe(1);
    expect(cli.err()).toContain('neither in the DLQ nor in the ledger');
  });
});

describe('dlq export', () => {
  it("writes the original design's JSON array, with attempts, and leaves the DLQ as it was", async () => {
    const out = join(dir, 'dlq.json');
    const cli = testCli(pipeline.aws);
    expect(await dlqExportCommand(cli.ctx, { out, waitTimeSeconds: 0 })).toBe(0);
    const entries = JSON.parse(await readFile(out, 'utf8')) as ExportEntry[];
    const gone = entries.find((e) => e.deliveryId === 'gone');
    const down = entries.find((e) => e.deliveryId === 'down');
    expect(entries).toHaveLength(2);
    expect(gone).toMatchObject({
      webhookId: 'wh-cli',
      timestamp: failedAt,
      originalPayload: goneBody,
      originalHeaders: { 'X-Genesys-Event': 'v2' },
      httpStatusCode: 410,
      targetUrl: `${targets.url}/gone`,
      ledgerStatus: 'permanent',
    });
    expect(gone?.errorReason).toMatch(/410/);
    expect(gone?.attempts.map((a) => [a.attempt, a.status, a.outcome])).toEqual([[1, 410, 'permanent']]);
    expect(down).toMatchObject({ originalPayload: 'plain text body', httpStatusCode: 503 });
    expect(down?.attempts.map((a) => a.status)).toEqual([503, 503]);
    expect(cli.err()).toContain('2 dead letter(s) written');
    await expectDlqIntact();
  });
});

describe('the real bin, as a child process against local mode', () => {
  const env = () => ({
    ...process.env,
    AWS_ENDPOINT_URL_SQS: pipeline.aws.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: pipeline.aws.dynamoDbEndpoint,
  });

  it('lists the dead letters as JSON, finding local mode through AWS_ENDPOINT_URL_*', async () => {
    const { stdout } = await run(process.execPath, ['bin/cli.mjs', 'dlq', 'list', '--json'], { env: env() });
    const rows = JSON.parse(stdout) as DeadLetterRow[];
    expect(rows.map((r) => r.deliveryId).sort()).toEqual(['down', 'gone']);
    await expectDlqIntact();
  });

  it('refuses a redrive without --yes when stdin is not a terminal: one line, exit status 1', async () => {
    const failure = await run(process.execPath, ['bin/cli.mjs', 'dlq', 'redrive', '--local'], {
      env: env(),
    }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr.trim().split('\n')).toHaveLength(1);
    expect(failure?.stderr).toMatch(/^error: Move 2 dead letter\(s\) to .* pass --yes/);
    await expectDlqIntact();
  });

  async function failingRun(args: string[], extraEnv: Record<string, string>) {
    return run(process.execPath, ['bin/cli.mjs', ...args], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', ...extraEnv },
    }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
  }

  it('says in one line when the stack is not found', async () => {
    // CloudFormation's own answer for an unknown stack, from a stand-in endpoint.
    const cfn = createServer((_req, res) => {
      res
        .writeHead(400, { 'content-type': 'text/xml' })
        .end(
          '<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id NoSuchStack does not exist</Message></Error><RequestId>r-1</RequestId></ErrorResponse>',
        );
    });
    await new Promise<void>((resolve) => cfn.listen(0, '127.0.0.1', () => resolve()));
    const port = (cfn.address() as AddressInfo).port;
    try {
      const failure = await failingRun(['status', '--stack', 'NoSuchStack', '--region', 'eu-west-1'], {
        AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${port}`,
      });
      expect(failure?.code).toBe(1);
      expect(failure?.stderr).toBe(
        'error: stack NoSuchStack not found in eu-west-1 (pass --stack NAME or --region, or --local for local mode)\n',
      );
    } finally {
      cfn.close();
    }
  });

  it('says in one line when the endpoint cannot be reached', async () => {
    const failure = await failingRun(['status', '--stack', 'Any', '--region', 'us-east-1'], {
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    });
    expect(failure?.code).toBe(1);
    expect(failure?.stderr.trim().split('\n')).toHaveLength(1);
    expect(failure?.stderr).toMatch(/^error: cannot reach the AWS endpoint/);
  });
});

describe('dlq redrive', () => {
  it('returns the dead letters to the retry queue, where they are delivered once the target recovers', async () => {
    recovered = true;
    const cli = testCli(pipeline.aws);
    expect(await dlqRedriveCommand(cli.ctx, { waitTimeSeconds: 0 })).toBe(0);
    expect(cli.err()).toContain('moving the messages directly');
    expect(cli.err()).toContain('2 message(s) moved');
    await eventually(
      () =>
        ['gone', 'down'].every((id) => outcomes.some((o) => o.deliveryId === id && o.result === 'delivered')),
      'redriven deliveries',
      30_000,
    );
    expect(targets.hitsOn('/gone').map((h) => h.status)).toEqual([410, 200]);
    expect(targets.hitsOn('/down').map((h) => h.status)).toEqual([503, 503, 200]);
    const depth = await queueDepth(pipeline.aws.sqs, pipeline.aws.dlqUrl);
    expect(depth.visible + depth.inFlight).toBe(0);
  });
});

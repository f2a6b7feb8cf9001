import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { queueDepth } from '../../cli/commands/status';
import { runCli } from '../../cli/main';
import { terminalText } from '../../cli/terminal-text';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type GenesysEmulator, startGenesysEmulator } from '../../local/genesys-emulator';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { eventually } from '../support/queue-contents';
import { startTargetServer } from '../support/target-server';

/**
 * Text output never hands the operator's terminal a control character it would act on. A delivery whose body and
 * whose Genesys error text carry ESC sequences (retitle the window, erase the line, move up, a C1 CSI, a
 * right-to-left override) is dead-lettered by the local pipeline, then the CLI, pointed at local mode the way an
 * operator points it, shows, lists and summarises it.
 */
const CLIENT = { clientId: 'tty-client', clientSecret: 'tty-client-secret-value' };
const TITLE = '\u001b]0;pwned\u0007';
const ERASE = '\r\u001b[2K\u001b[1A';
const BODY = `first line\n\tindented ${TITLE}\n  ledger status     delivered ${ERASE}\u009b31mred\u202eesrever`;
const GENESYS_ERROR = `Bad gateway ${ERASE}\u001b[8mhidden\u001b[0m`;
/** Everything a terminal acts on, but line feeds and tabs. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for them.
const ACTED_ON = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let emulator: GenesysEmulator;
let targets: Awaited<ReturnType<typeof startTargetServer>>;
let pipeline: LocalPipeline;

beforeAll(async () => {
  targets = await startTargetServer({ '/gone': () => 410 });
  emulator = await startGenesysEmulator({
    clients: [CLIENT],
    deliveries: [
      {
        id: 'esc-1',
        webhookId: 'wh-tty',
        status: 'failed',
        httpStatusCode: 502,
        errorMessage: GENESYS_ERROR,
        body: BODY,
        headers: { 'Content-Type': 'text/plain' },
        webhookUrl: `${targets.url}/gone`,
        dateCreated: new Date(Date.now() - 600_000).toISOString(),
      },
    ],
  });
  pipeline = await startLocalPipeline({
    settings: parsePipelineSettings({
      GENESYS_CLOUD_REGION: emulator.url,
      WEBHOOK_ID: 'wh-tty',
      TARGET_ALLOW_LOOPBACK: 'true',
    }),
    credentials: CLIENT,
    waitTimeSeconds: 1,
  });
  await pipeline.pollOnce();
  await eventually(
    async () => (await queueDepth(pipeline.aws.sqs, pipeline.aws.dlqUrl)).visible === 1,
    'the dead letter',
    45_000,
  );
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  await targets?.stop();
  await emulator?.stop();
});

afterEach(() => {
  vi.unstubAllEnvs();
});

async function cli(args: string[]) {
  vi.stubEnv('AWS_ENDPOINT_URL_SQS', pipeline.aws.sqsEndpoint);
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', pipeline.aws.dynamoDbEndpoint);
  let stdout = '';
  let stderr = '';
  const code = await runCli([...args, '--local'], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    stdin: process.stdin,
  });
  return { code, stdout, stderr };
}

describe('text output with control characters in stored data', () => {
  it('dlq show escapes them, keeps the body’s line feeds and tabs, and no body line can pass for a field', async () => {
    const { code, stdout } = await cli(['dlq', 'show', 'esc-1', '--visibility-timeout', '60']);
    expect(code).toBe(0);
    expect(stdout).not.toMatch(ACTED_ON);
    // Seen, not obeyed.
    expect(stdout).toContain('indented \\x1b]0;pwned\\x07');
    expect(stdout).toContain('\\r\\x1b[2K\\x1b[1A\\x9b31mred\\u202eesrever');
    expect(stdout).toContain('(Genesys got 502: Bad gateway \\r\\x1b[2K\\x1b[1A\\x1b[8mhidden\\x1b[0m)');
    const body = stdout
      .split('\n')
      .filter((l) => l.includes('first line') || l.includes('indented') || l.includes('esrever'));
    expect(body).toHaveLength(3);
    expect(body[0]).toMatch(/^ {2}body {14}first line$/);
    expect(body[1]).toMatch(/^ {20}\tindented /);
    // The body's fake "ledger status" line starts in the value column, not the label column.
    expect(body[2]).toMatch(/^ {22}ledger status {5}delivered /);
    expect(stdout.match(/^ {2}ledger status/gm)).toHaveLength(1);
  });

  it('dlq show --json is JSON with the exact text, as before', async () => {
    const { code, stdout } = await cli(['dlq', 'show', 'esc-1', '--json', '--visibility-timeout', '60']);
    expect(code).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for them.
    expect(stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(JSON.stringify(JSON.parse(stdout))).toContain(JSON.stringify(BODY).slice(1, -1));
  });

  it('dlq list and status escape them too', async () => {
    const list = await cli(['dlq', 'list', '--visibility-timeout', '60']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('esc-1');
    expect(list.stdout).not.toMatch(ACTED_ON);
    const status = await cli(['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).not.toMatch(ACTED_ON);
  });
});

describe('terminalText', () => {
  it('escapes C0, DEL, C1 and bidi controls; keeps line feeds and tabs only when multiline', () => {
    expect(terminalText('a\u001b[31mb\u0007c\u007fd\u0085e\u009bf\u202eg\u2066h')).toBe(
      'a\\x1b[31mb\\x07c\\x7fd\\x85e\\x9bf\\u202eg\\u2066h',
    );
    expect(terminalText('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
    expect(terminalText('a\nb\tc\rd', { multiline: true })).toBe('a\nb\tc\\rd');
    expect(terminalText('ünïcødé ✓ 日本 \u00a0')).toBe('ünïcødé ✓ 日本 \u00a0');
  });
});

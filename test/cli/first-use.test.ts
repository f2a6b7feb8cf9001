import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, type LocalModeProcess, runCliProcess, startLocalMode } from './demo-process';

/**
 * Issue 23, the operator CLI as a new user meets it: the demo runs (`npm start`, on free ports) and each point is
 * tried with the command as docs/operations.md writes it, through the real bin, pointed at the demo by the
 * export line its banner prints.
 */
let demo: LocalModeProcess;
let env: Record<string, string>;
let dir: string;
/** The demo's audit event: the EventBridge event the gone target refuses, so it is dead-lettered. */
let auditId: string;
/** The demo's presence event, which no route takes. */
let unmatchedId: string;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const cli = (args: string[], extra: Record<string, string> = {}): Promise<CliRun> =>
  runCliProcess(args, { ...env, ...extra }, dir);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'first-use-'));
  demo = startLocalMode({ POLL_INTERVAL_SECONDS: '3' });
  const sqsEndpoint = (await demo.waitFor(/export AWS_ENDPOINT_URL_SQS=(\S+) /))[1] ?? '';
  const dynamoEndpoint = (await demo.waitFor(/AWS_ENDPOINT_URL_DYNAMODB=(\S+)/))[1] ?? '';
  env = { AWS_ENDPOINT_URL_SQS: sqsEndpoint, AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint };
  auditId = (await demo.waitFor(new RegExp(`eventbridge  (${UUID.source}) \\(route audits\\)`)))[1] ?? '';
  unmatchedId = (await demo.waitFor(new RegExp(`unmatched    (${UUID.source}):`)))[1] ?? '';
  await demo.waitFor(/DLQ \S+ now holds 3 message\(s\)/, 90_000);
  await demo.waitFor(/invalid\s+dlv-0007/);
}, 120_000);

afterAll(async () => {
  await demo?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('9. ids: dlq list prints them whole, dlq show takes them', () => {
  it('dlq list shows the 36-character EventBridge id whole, and dlq show finds it by that id', async () => {
    const list = await cli(['dlq', 'list']);
    expect(list.code, list.stderr).toBe(0);
    const row = list.stdout.split('\n').find((l) => l.includes('eventbridge'));
    expect(row?.startsWith(`${auditId} `), list.stdout).toBe(true);
    const copied = row?.split(' ')[0] ?? '';
    const show = await cli(['dlq', 'show', copied]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(
      `Delivery ${auditId} (webhook eventbridge:audits): in the dead-letter queue`,
    );
  });

  it('dlq show with a cut id: the error says so and points to dlq list --json', async () => {
    const cut = `${auditId.slice(0, 25)}…`;
    const show = await cli(['dlq', 'show', cut]);
    expect(show.code).toBe(1);
    expect(show.stderr.trim()).toBe(
      `delivery ${cut} is neither in the DLQ nor in the ledger (the id ends in "…": it was cut short; give all of it); dlq list --json prints every dead letter's whole deliveryId`,
    );
  });
});

describe('12. EventBridge wording', () => {
  it('dlq show of an EventBridge dead letter says when Genesys published it, not "Genesys got no answer"', async () => {
    const show = await cli(['dlq', 'show', auditId]);
    expect(show.stdout).toMatch(/published at\s+\S+ \(by Genesys to EventBridge; first sent by this stack\)/);
    expect(show.stdout).not.toContain('Genesys got');
  });

  it('an unmatched event was refused by the intake, not the poller', async () => {
    const show = await cli(['dlq', 'show', unmatchedId]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(
      `Event ${unmatchedId} (EventBridge): refused by the intake, never enqueued`,
    );
    expect(show.stdout).not.toContain('poller');
  });

  it('status counts delivery-log entries and EventBridge events apart', async () => {
    const status = await cli(['status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/ {2}invalid {4}1 delivery-log entries that could not be enqueued/);
    expect(status.stdout).toMatch(/eventbridge, unmatched or invalid +1 /);
    const json = JSON.parse((await cli(['status', '--json'])).stdout) as {
      ledger: { invalidEntries: number; unmatchedEventBridgeEvents: number };
    };
    expect(json.ledger).toMatchObject({ invalidEntries: 1, unmatchedEventBridgeEvents: 1 });
  });
});

describe('11. options of another command, and exit 2 for every usage error', () => {
  it.each([
    [['dlq', 'redrive', '--dry-run'], 'error: dlq redrive does not take --dry-run (replay does); see --help'],
    [['status', '--dry-run'], 'error: status does not take --dry-run (replay does); see --help'],
    [['dlq', 'list', '--rate', '5'], 'error: dlq list does not take --rate (dlq redrive does); see --help'],
    [['status', '--out', 'x.json'], 'error: status does not take --out (dlq export does); see --help'],
    [
      ['dlq', 'export', '--out', 'x.json', '--json'],
      'error: dlq export does not take --json (status, dlq list, dlq show do); see --help',
    ],
    [
      ['dlq', 'list', '--since', 'yesterday'],
      'error: --since must be an ISO-8601 time (2026-11-28T12:00:00Z) or an age such as 30m, 6h or 2d (got "yesterday")',
    ],
    [
      ['replay', '--webhook', 'w', '--since', '1h', '--until', 'soon'],
      'error: --until must be an ISO-8601 time (2026-11-28T12:00:00Z) or an age such as 30m, 6h or 2d (got "soon")',
    ],
    [
      ['dlq', 'redrive', '--rate', '0'],
      'error: --rate must be a whole number of messages per second from 1 to 500 (got 0)',
    ],
    [
      ['dlq', 'redrive', '--rate', '501'],
      'error: --rate must be a whole number of messages per second from 1 to 500 (got 501)',
    ],
    [['dlq', 'redrive', '--rate', 'fast'], 'error: --rate must be a whole number (got "fast")'],
    [['dlq', 'list', '--status', 'bad'], 'error: --status must be a whole number (got "bad")'],
    [['dlq', 'export'], 'error: dlq export needs --out FILE'],
    [['dlq', 'show'], 'error: dlq show needs a delivery id'],
    [['replay', '--webhook', 'w'], 'error: replay needs --webhook ID and --since TIME'],
    [['dlq', 'list', '--since'], 'error: --since needs a value; see --help'],
  ])('%j exits 2: %s', async (args, message) => {
    const run = await cli(args);
    expect(run.stderr.trim()).toBe(message);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
  });
});

describe('13. no region', () => {
  it('without the banner export line, the error names --local and the export line', async () => {
    // No endpoint variables, no --local, and a home without an AWS config: the SDK finds no region.
    const home = await mkdtemp(join(tmpdir(), 'no-aws-'));
    try {
      const run = await runCliProcess(['status'], { HOME: home }, dir);
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toBe(
        'error: no AWS region: for a deployed stack set AWS_REGION or pass --region; for local mode (npm start) pass --local, or run the export line its banner prints (export AWS_ENDPOINT_URL_SQS=… AWS_ENDPOINT_URL_DYNAMODB=…)',
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createConfirm } from '../../cli/confirm';
import { originalPayload, toRow } from '../../cli/dead-letter';
import { describeError } from '../../cli/describe-error';
import type { LedgerEvent } from '../../cli/ledger-reader';
import { runCli } from '../../cli/main';
import { parseTime } from '../../cli/parse-time';
import { createProgressBar } from '../../cli/progress-bar';
import { ABSENT } from '../../lambdas/shared/domain/event-lifecycle';

const NOW = new Date('2026-11-28T12:00:00.000Z');

describe('parseTime', () => {
  it.each([
    ['2026-11-28T10:00:00Z', '2026-11-28T10:00:00.000Z'],
    ['2026-11-27', '2026-11-27T00:00:00.000Z'],
    ['90m', '2026-11-28T10:30:00.000Z'],
    ['6h', '2026-11-28T06:00:00.000Z'],
    ['2d', '2026-11-26T12:00:00.000Z'],
  ])('reads %s', (input, expected) => {
    expect(parseTime(input, NOW, '--since').toISOString()).toBe(expected);
  });

  it('names the flag when it cannot read the value', () => {
    expect(() => parseTime('yesterday', NOW, '--until')).toThrow(/^--until must be an ISO-8601 time/);
  });
});

describe('originalPayload', () => {
  it('parses JSON text and keeps anything else as the text', () => {
    expect(originalPayload('{"a":[1]}')).toEqual({ a: [1] });
    expect(originalPayload('{not json')).toBe('{not json');
    expect(originalPayload('plain')).toBe('plain');
  });
});

describe('createProgressBar', () => {
  it('prints plain lines at most every tenth when the stream is not a terminal', () => {
    const lines: string[] = [];
    const bar = createProgressBar({ write: (t: string) => lines.push(t), isTTY: false }, 'moving', 100);
    for (let i = 1; i <= 100; i++) bar.update(i);
    bar.finish();
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(lines.at(-1)).toBe(`moving [${'#'.repeat(30)}] 100/100\n`);
  });

  it('redraws one line in place on a terminal', () => {
    const written: string[] = [];
    const bar = createProgressBar({ write: (t: string) => written.push(t), isTTY: true }, 'moving', 4);
    bar.update(2);
    bar.finish('done');
    expect(written[0]).toBe(`\rmoving [${'#'.repeat(15)}${'-'.repeat(15)}] 2/4`);
    expect(written.at(-1)).toMatch(/^\rmoving \[#{15}-{15}\] 2\/4 done\n$/);
  });
});

describe('createConfirm', () => {
  it('refuses without a terminal unless --yes, and says how to go ahead', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: false });
    const output = new PassThrough();
    await expect(createConfirm({ yes: false, input, output })('Move 3?')).rejects.toThrow(
      'Move 3? Not asking: stdin is not a terminal; pass --yes to go ahead.',
    );
    expect(await createConfirm({ yes: true, input, output })('Move 3?')).toBe(true);
  });

  it('asks on a terminal and takes only y or yes as yes', async () => {
    for (const [answer, expected] of [
      ['y\n', true],
      ['YES\n', true],
      ['\n', false],
      ['nope\n', false],
    ] as const) {
      const input = Object.assign(new PassThrough(), { isTTY: true });
      const asked = createConfirm({ yes: false, input, output: new PassThrough() })('Go?');
      input.write(answer);
      expect(await asked).toBe(expected);
    }
  });
});

describe('describeError and usage errors', () => {
  it('turns the SDK failures operators meet into what to do', () => {
    const noCreds = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(describeError(noCreds)).toMatch(/^no AWS credentials found: sign in/);
    expect(describeError(new Error('Region is missing'))).toMatch(
      /^no AWS region: for a deployed stack set AWS_REGION or pass --region; for local mode \(npm start\) pass --local, or run the export line its banner prints/,
    );
    const refused = new Error('connect', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) });
    expect(describeError(refused)).toMatch(/^cannot reach the AWS endpoint \(ECONNREFUSED\)/);
  });

  it('exits 2 with one line for usage errors, before touching AWS', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      stdin: new PassThrough(),
    };
    expect(await runCli(['dlq', 'export'], io)).toBe(2);
    expect(await runCli(['replay', '--webhook', 'w'], io)).toBe(2);
    expect(await runCli(['status', '--bogus'], io)).toBe(2);
    expect(err).toEqual([
      'error: dlq export needs --out FILE\n',
      'error: replay needs --webhook ID and --since TIME\n',
      'error: unknown option --bogus; see --help\n',
    ]);
    expect(await runCli(['--help'], io)).toBe(0);
    expect(out.join('')).toContain('Usage: genesys-webhook-recovery <command>');
  });
});

describe('toRow: a dead letter without a verdict is marked', () => {
  const message = {
    v: 1 as const,
    eventKey: 'a'.repeat(64),
    deliveryId: 'd-1',
    webhookId: 'wh-1',
    targetUrl: 'https://hooks.example.com/x',
    headers: {},
    body: '{}',
    contentType: 'application/json',
    originalStatus: 503,
    failedAt: NOW.toISOString(),
    enqueuedAt: NOW.toISOString(),
    strippedHeaders: [],
  };
  const raw = { messageId: 'm-1', body: JSON.stringify(message) };
  const event = (status: LedgerEvent['status']): LedgerEvent => ({
    ...ABSENT,
    status,
    eventKey: message.eventKey,
    deliveryId: 'd-1',
    webhookId: 'wh-1',
    targetUrl: message.targetUrl,
    duplicateDeliveryIds: [],
    ...(status === 'exhausted' ? { finalReason: '503 Service Unavailable after 3 attempts' } : {}),
  });

  it.each([
    ['exhausted', true, '503 Service Unavailable after 3 attempts'],
    ['enqueued', false, 'not a verdict (ledger: enqueued): no attempt recorded'],
    ['claimed', false, 'not a verdict (ledger: claimed): no attempt recorded'],
  ] as const)('ledger status %s → verdict %s', (status, verdict, reason) => {
    const row = toRow({ raw, message, event: event(status) });
    expect(row).toMatchObject({ verdict, ledgerStatus: status });
    expect(row.reason.startsWith(reason)).toBe(true);
  });

  it('no ledger record is not a verdict either', () => {
    expect(toRow({ raw, message })).toMatchObject({ verdict: false, ledgerStatus: null });
    expect(toRow({ raw, message }).reason).toMatch(/^not a verdict \(ledger: no record\): no ledger record/);
  });
});

import { targetId } from '../../lambdas/shared/domain/target-id';
import type { CliContext } from '../cli-context';
import { type DeadLetterRow, joinWithLedger, toRow } from '../dead-letter';
import { DlqReader } from '../dlq-reader';
import { LedgerReader } from '../ledger-reader';
import { terminalText } from '../terminal-text';
import { scanOutcome } from './scan-outcome';

/** How a command reads the DLQ; see DlqReader. */
export interface DlqScanOptions {
  readonly visibilityTimeoutSeconds?: number;
  readonly waitTimeSeconds?: number;
}

/** A reader of the DLQ for a command: warnings to stderr, stopped by Ctrl-C. */
export function openDlqReader(ctx: CliContext, options: DlqScanOptions): DlqReader {
  return new DlqReader({
    sqs: ctx.resources.sqs,
    queueUrl: ctx.resources.dlq.url,
    ...options,
    warn: (line) => ctx.err.write(`warning: ${line}\n`),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
}

/** `dlq list` filters; every one given must match. */
export interface DlqListOptions extends DlqScanOptions {
  readonly webhook?: string;
  /** The last HTTP status, e.g. 503. */
  readonly status?: number;
  /** Host name of the target URL. */
  readonly host?: string;
  /** Dead-lettered (or, when that is unknown, failed at Genesys) at or after. */
  readonly since?: Date;
  readonly json: boolean;
}

const COLUMNS: [keyof DeadLetterRow | 'host', string, number][] = [
  // 36 fits an EventBridge event id (a UUID) whole; a longer id is printed whole too (see cell).
  ['deliveryId', 'DELIVERY ID', 36],
  ['source', 'SOURCE', 12],
  ['webhookId', 'WEBHOOK/ROUTE', 18],
  ['targetUrl', 'TARGET', 38],
  ['lastStatus', 'STATUS', 6],
  ['attempts', 'TRIES', 5],
  ['deadLetteredAt', 'DEAD-LETTERED AT', 24],
];

/** A row's value as the table shows it: a target by its id, since a URL's path or query may hold a token. */
function columnValue(row: DeadLetterRow, key: keyof DeadLetterRow | 'host'): unknown {
  return key === 'targetUrl' ? targetId(row.targetUrl) : row[key as keyof DeadLetterRow];
}

/** A padded column; other columns are cut to their width, an id never is: `dlq show` needs all of it. */
function cell(value: unknown, width: number, whole = false): string {
  const text = value === null || value === undefined ? '-' : terminalText(String(value));
  return text.length > width && !whole ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

function matches(row: DeadLetterRow, options: DlqListOptions, failedAt: string | undefined): boolean {
  if (options.webhook !== undefined && row.webhookId !== options.webhook) return false;
  if (options.status !== undefined && row.lastStatus !== options.status) return false;
  if (options.host !== undefined) {
    let host = '';
    try {
      host = new URL(row.targetUrl).hostname;
    } catch {
      return false;
    }
    if (host.toLowerCase() !== options.host.toLowerCase()) return false;
  }
  if (options.since !== undefined) {
    const when = row.deadLetteredAt ?? failedAt;
    if (when === undefined || Date.parse(when) < options.since.getTime()) return false;
  }
  return true;
}

/**
 * `dlq list`: one row per dead letter, joined from the DLQ message and the ledger, streamed as the DLQ is read;
 * `--json` writes a JSON array of rows instead. The DLQ is left as it was (see DlqReader).
 */
export async function dlqListCommand(ctx: CliContext, options: DlqListOptions): Promise<number> {
  const reader = openDlqReader(ctx, options);
  const ledger = new LedgerReader(ctx.resources.doc, ctx.resources.tableName);
  let shown = 0;
  let undecided = 0;
  if (options.json) ctx.out.write('[');
  else ctx.out.write(`${COLUMNS.map(([, title, width]) => cell(title, width)).join(' ')} REASON\n`);
  for await (const chunk of joinWithLedger(reader, ledger)) {
    for (const d of chunk) {
      const row = toRow(d);
      if (!matches(row, options, d.message?.failedAt)) continue;
      if (options.json) ctx.out.write(`${shown === 0 ? '\n' : ',\n'}${JSON.stringify(row)}`);
      else
        ctx.out.write(
          `${COLUMNS.map(([key, , width]) => cell(columnValue(row, key), width, key === 'deliveryId' || key === 'targetUrl')).join(' ')} ${terminalText(row.reason ?? '-')}\n`,
        );
      shown += 1;
      if (!row.verdict) undecided += 1;
    }
  }
  if (options.json) ctx.out.write(shown === 0 ? ']\n' : '\n]\n');
  ctx.err.write(`${shown} of ${reader.result.read} dead letter(s) shown.\n`);
  if (undecided > 0) {
    ctx.err.write(
      `warning: ${undecided} of them without a verdict in the ledger (marked "not a verdict"): SQS dead-lettered them after receives that ended without a decision (throttles, timeouts); \`dlq redrive\` puts them back, where the ledger's budget still bounds their calls\n`,
    );
  }
  return scanOutcome(ctx, reader, 'the list');
}

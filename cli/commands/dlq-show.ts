import { EVENTBRIDGE_LEDGER_ID } from '../../lambdas/intake/accept-genesys-event';
import { isCredentialHeader } from '../../lambdas/shared/domain/headers';
import type { CliContext } from '../cli-context';
import { concerns, type DeadLetter, joinWithLedger, toExportEntry } from '../dead-letter';
import { type LedgerEvent, type LedgerInvalidEntry, LedgerReader } from '../ledger-reader';
import { terminalText } from '../terminal-text';
import { type DlqScanOptions, openDlqReader } from './dlq-list';
import { scanOutcome } from './scan-outcome';

/** What `dlq show` prints in place of a credential header's value. */
export const MASK = '•••• (masked; --reveal-credentials shows it)';

/** `dlq show` options. */
export interface DlqShowOptions extends DlqScanOptions {
  readonly json: boolean;
  /** Print credential header values (Authorization, Cookie, …) as they are. @default false: masked */
  readonly revealCredentials?: boolean;
}

/** Headers with credential values masked, unless the operator asked to see them. */
export function maskCredentials(
  headers: Readonly<Record<string, string>>,
  reveal: boolean,
  extra: readonly string[] = [],
): Record<string, string> {
  if (reveal) return { ...headers };
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, isCredentialHeader(name, extra) ? MASK : value]),
  );
}

/**
 * `dlq show <deliveryId>`: everything known about one delivery: the dead letter(s) carrying it (its first
 * delivery id or a folded repeat), the ledger's record with each attempt, and the SQS attributes. A delivery
 * that is not in the DLQ is looked up in the ledger alone: events (first ids and folded repeats) and entries the
 * poller refused as invalid. Credential header values are masked unless asked for. Exit code 1 when nothing is
 * known.
 */
export async function dlqShowCommand(
  ctx: CliContext,
  deliveryId: string,
  options: DlqShowOptions,
): Promise<number> {
  const reveal = options.revealCredentials === true;
  // EXTRA_CREDENTIAL_HEADERS of the stack (its output) or of local mode: masked like the built-in names.
  const extra = ctx.resources.extraCredentialHeaders;
  const reader = openDlqReader(ctx, options);
  const ledger = new LedgerReader(ctx.resources.doc, ctx.resources.tableName);
  const found: DeadLetter[] = [];
  for await (const chunk of joinWithLedger(reader, ledger)) {
    for (const d of chunk) if (concerns(d, deliveryId)) found.push(d);
  }
  const scan = scanOutcome(ctx, reader, 'show');
  const { events: ledgerOnly, invalid } =
    found.length === 0 ? await ledger.findByDeliveryId(deliveryId) : { events: [], invalid: [] };
  if (options.json) {
    const report = {
      deliveryId,
      deadLetters: found.map((d) => {
        const entry = toExportEntry(d);
        return {
          ...entry,
          originalHeaders: maskCredentials(entry.originalHeaders, reveal, extra),
          sqs: reveal ? d.raw : { ...d.raw, body: '(the retry message; see the fields above)' },
          ledger: d.event ?? null,
        };
      }),
      ledgerOnly,
      invalid: invalid.map((i) => ({ ...i, raw: maskRaw(i, reveal, extra) })),
    };
    ctx.out.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    for (const d of found) ctx.out.write(describeDeadLetter(d, reveal, extra));
    for (const e of ledgerOnly) ctx.out.write(describeLedgerOnly(e, deliveryId));
    for (const i of invalid) ctx.out.write(describeInvalid(i, reveal, extra));
  }
  if (found.length === 0 && ledgerOnly.length === 0 && invalid.length === 0) {
    const cut = deliveryId.endsWith('…') ? ' (the id ends in "…": it was cut short; give all of it)' : '';
    ctx.err.write(
      `delivery ${deliveryId} is neither in the DLQ nor in the ledger${cut}; dlq list --json prints every dead letter's whole deliveryId\n`,
    );
    return 1;
  }
  return scan;
}

const LABEL_WIDTH = 18;

/**
 * One `label  value` line; the label column is wider than the longest label, so they never run together. Control
 * characters are escaped (terminalText); a multiline value (a body) keeps its line feeds and tabs, its further
 * lines indented to the value column, so that no line of it can pass for a label.
 */
function field(name: string, value: unknown, multiline = false): string {
  const text = value === undefined || value === null || value === '' ? '-' : String(value);
  const safe = terminalText(text, { multiline }).replaceAll('\n', `\n${' '.repeat(LABEL_WIDTH + 2)}`);
  return `  ${name.padEnd(LABEL_WIDTH)}${safe}\n`;
}

/** A heading line's untrusted parts (ids from the message or the ledger), escaped. */
const t = (value: unknown) => terminalText(String(value));

function describeDeadLetter(d: DeadLetter, reveal: boolean, extra: readonly string[]): string {
  const e = toExportEntry(d);
  const m = d.message;
  let text = `Delivery ${t(e.deliveryId)} (webhook ${t(e.webhookId)}): in the dead-letter queue\n`;
  text += field('source', e.source);
  text += field('route', e.route);
  text += field('target', e.targetUrl);
  text += field('last status', e.httpStatusCode);
  text += field('reason', e.errorReason);
  text += field('dead-lettered at', e.deadLetteredAt);
  // An EventBridge event was never sent by Genesys before this stack took it: its time is when it was published.
  text +=
    e.source === 'eventbridge'
      ? field('published at', `${e.timestamp ?? '-'} (by Genesys to EventBridge; first sent by this stack)`)
      : field(
          'failed at',
          `${e.timestamp ?? '-'} (Genesys got ${m?.originalStatus ?? 'no answer'}${m?.originalError ? `: ${m.originalError}` : ''})`,
        );
  text += field('enqueued at', m?.enqueuedAt);
  text += field('ledger status', e.ledgerStatus ?? 'no ledger record');
  text += field('event key', e.eventKey);
  text += field('repeats folded', e.duplicateDeliveryIds.join(', '));
  const receives = d.raw.receiveCount;
  text += field(
    'SQS message',
    `${d.raw.messageId} (sent ${d.raw.sentAt ?? '?'}, received ${receives ?? '?'} time(s) before this read)`,
  );
  text += field('from queue', d.raw.sourceArn);
  text += field('content type', m?.contentType);
  text += field('headers', JSON.stringify(maskCredentials(e.originalHeaders, reveal, extra)));
  text += field('stripped', m?.strippedHeaders.join(', '));
  text += field('body', m ? m.body : d.raw.body, true);
  text += describeAttempts(e.attempts);
  return `${text}\n`;
}

function describeLedgerOnly(e: LedgerEvent, asked: string): string {
  const repeat = e.deliveryId !== asked ? ` (${t(asked)} is a repeat of it, folded into this event)` : '';
  let text = `Delivery ${t(e.deliveryId)} (webhook ${t(e.webhookId)})${repeat}: not in the DLQ; the ledger says ${t(e.status)}\n`;
  text += field('target', e.targetUrl);
  text += field('reason', e.finalReason);
  text += field('failed at', e.failedAt);
  text += field('delivered at', e.deliveredAt);
  text += field('event key', e.eventKey);
  text += field('repeats folded', e.duplicateDeliveryIds.join(', '));
  text += describeAttempts(e.attempts.filter((a) => a.attempt > 0));
  return `${text}\n`;
}

/** The stored copy of a refused entry, with credential header values masked when it can be read as JSON. */
function maskRaw(i: LedgerInvalidEntry, reveal: boolean, extra: readonly string[]): string | undefined {
  if (reveal || i.raw === undefined) return i.raw;
  try {
    const entry = JSON.parse(i.raw) as unknown;
    if (typeof entry === 'object' && entry !== null && 'headers' in entry) {
      const headers = (entry as { headers: unknown }).headers;
      if (typeof headers === 'object' && headers !== null && !Array.isArray(headers)) {
        const masked = Object.fromEntries(
          Object.entries(headers).map(([k, v]) => [k, isCredentialHeader(k, extra) ? MASK : v]),
        );
        return JSON.stringify({ ...entry, headers: masked });
      }
    }
    return i.raw;
  } catch {
    return '(cut short, so not shown: it may hold credentials; --reveal-credentials shows it)';
  }
}

function describeInvalid(i: LedgerInvalidEntry, reveal: boolean, extra: readonly string[]): string {
  let text =
    i.webhookId === EVENTBRIDGE_LEDGER_ID
      ? `Event ${t(i.deliveryId)} (EventBridge): refused by the intake, never enqueued\n`
      : `Delivery ${t(i.deliveryId)} (webhook ${t(i.webhookId)}): refused by the poller, never enqueued\n`;
  text += field('reason', i.reason);
  text += field('recorded at', i.recordedAt);
  text += field('entry', `${maskRaw(i, reveal, extra) ?? '-'}${i.rawTruncated ? ' (cut short)' : ''}`);
  return `${text}\n`;
}

/**
 * Numbers attempts in order over the event's whole life. A redrive starts a new SQS message whose own count
 * starts again at 1; that is shown beside the running number instead of numbering #1… twice.
 */
function describeAttempts(attempts: LedgerEvent['attempts']): string {
  if (attempts.length === 0) return field('attempts', 'none recorded');
  let text = '  attempts\n';
  let previous: string | undefined;
  attempts.forEach((a, i) => {
    const next = a.nextAttemptInSeconds !== undefined ? `, next in ${a.nextAttemptInSeconds} s` : '';
    const status = a.status !== undefined ? `HTTP ${a.status}` : 'no answer';
    const redriven = previous !== undefined && a.messageId !== previous ? ' (after a redrive)' : '';
    const own = a.attempt !== i + 1 ? `, its try ${a.attempt}` : '';
    previous = a.messageId;
    text += terminalText(
      `    #${i + 1}  ${a.at}  ${a.outcome.padEnd(9)} ${status}  ${a.durationMs} ms${next}  message ${a.messageId}${own}${redriven}`,
    );
    text += `${a.error ? `\n        ${terminalText(a.error)}` : ''}\n`;
  });
  return text;
}

import type { CliContext } from '../cli-context';
import { concerns, type DeadLetter, joinWithLedger, toExportEntry } from '../dead-letter';
import { DlqReader } from '../dlq-reader';
import { type LedgerEvent, LedgerReader } from '../ledger-reader';
import type { DlqScanOptions } from './dlq-list';
import { scanOutcome } from './scan-outcome';

/**
 * `dlq show <deliveryId>`: everything known about one delivery: the dead letter(s) carrying it (its first
 * delivery id or a folded repeat), the ledger's record with each attempt, and the SQS attributes. A delivery
 * that is not in the DLQ is looked up in the ledger alone. Exit code 1 when nothing is known.
 */
export async function dlqShowCommand(
  ctx: CliContext,
  deliveryId: string,
  options: DlqScanOptions & { json: boolean },
): Promise<number> {
  const reader = new DlqReader({ sqs: ctx.resources.sqs, queueUrl: ctx.resources.dlq.url, ...options });
  const ledger = new LedgerReader(ctx.resources.doc, ctx.resources.tableName);
  const found: DeadLetter[] = [];
  for await (const chunk of joinWithLedger(reader, ledger)) {
    for (const d of chunk) if (concerns(d, deliveryId)) found.push(d);
  }
  const scan = scanOutcome(ctx, reader, 'show');
  const ledgerOnly = found.length === 0 ? await ledger.findByDeliveryId(deliveryId) : [];
  if (options.json) {
    const report = {
      deliveryId,
      deadLetters: found.map((d) => ({ ...toExportEntry(d), sqs: d.raw, ledger: d.event ?? null })),
      ledgerOnly,
    };
    ctx.out.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    for (const d of found) ctx.out.write(describeDeadLetter(d));
    for (const e of ledgerOnly) ctx.out.write(describeLedgerOnly(e));
  }
  if (found.length === 0 && ledgerOnly.length === 0) {
    ctx.err.write(`delivery ${deliveryId} is neither in the DLQ nor in the ledger\n`);
    return 1;
  }
  return scan;
}

function field(name: string, value: unknown): string {
  const text = value === undefined || value === null || value === '' ? '-' : String(value);
  return `  ${name.padEnd(16)}${text}\n`;
}

function describeDeadLetter(d: DeadLetter): string {
  const e = toExportEntry(d);
  const m = d.message;
  let text = `Delivery ${e.deliveryId} (webhook ${e.webhookId}): in the dead-letter queue\n`;
  text += field('source', e.source);
  text += field('route', e.route);
  text += field('target', e.targetUrl);
  text += field('last status', e.httpStatusCode);
  text += field('reason', e.errorReason);
  text += field('dead-lettered at', e.deadLetteredAt);
  text += field(
    'failed at',
    `${e.timestamp ?? '-'} (Genesys got ${m?.originalStatus ?? 'no answer'}${m?.originalError ? `: ${m.originalError}` : ''})`,
  );
  text += field('enqueued at', m?.enqueuedAt);
  text += field('ledger status', e.ledgerStatus ?? 'no ledger record');
  text += field('event key', e.eventKey);
  text += field('repeats folded', e.duplicateDeliveryIds.join(', '));
  text += field(
    'SQS message',
    `${d.raw.messageId} (sent ${d.raw.sentAt ?? '?'}, received ${d.raw.receiveCount ?? '?'} times)`,
  );
  text += field('from queue', d.raw.sourceArn);
  text += field('content type', m?.contentType);
  text += field('headers', JSON.stringify(e.originalHeaders));
  text += field('stripped', m?.strippedHeaders.join(', '));
  text += field('body', m ? m.body : d.raw.body);
  text += describeAttempts(e.attempts);
  return `${text}\n`;
}

function describeLedgerOnly(e: LedgerEvent): string {
  let text = `Delivery ${e.deliveryId} (webhook ${e.webhookId}): not in the DLQ; the ledger says ${e.status}\n`;
  text += field('target', e.targetUrl);
  text += field('reason', e.finalReason);
  text += field('failed at', e.failedAt);
  text += field('delivered at', e.deliveredAt);
  text += field('event key', e.eventKey);
  text += field('repeats folded', e.duplicateDeliveryIds.join(', '));
  text += describeAttempts(e.attempts.filter((a) => a.attempt > 0));
  return `${text}\n`;
}

function describeAttempts(attempts: LedgerEvent['attempts']): string {
  if (attempts.length === 0) return '  attempts        none recorded\n';
  let text = '  attempts\n';
  for (const a of attempts) {
    const next = a.nextAttemptInSeconds !== undefined ? `, next in ${a.nextAttemptInSeconds} s` : '';
    const status = a.status !== undefined ? `HTTP ${a.status}` : 'no answer';
    text += `    #${a.attempt}  ${a.at}  ${a.outcome.padEnd(9)} ${status}  ${a.durationMs} ms${next}  message ${a.messageId}${a.error ? `\n        ${a.error}` : ''}\n`;
  }
  return text;
}

import { asEventEnvelope, takeEnvelope } from '../lambdas/shared/domain/event-envelope';
import { VERDICTS } from '../lambdas/shared/domain/event-lifecycle';
import { type RetryMessage, retryMessageSchema } from '../lambdas/shared/domain/retry-message';
import type { AttemptRecord } from '../lambdas/shared/ports';
import type { DlqReader, RawDeadLetter } from './dlq-reader';
import type { LedgerEvent, LedgerReader } from './ledger-reader';

/** A dead letter joined with what the ledger learned about its event. */
export interface DeadLetter {
  readonly raw: RawDeadLetter;
  /** The retry message in the body; undefined when the body is not one (it was dead-lettered for that). */
  readonly message?: RetryMessage;
  readonly event?: LedgerEvent;
}

/** The one-line view of `dlq list`, also its `--json` form. */
export interface DeadLetterRow {
  readonly deliveryId: string;
  readonly webhookId: string;
  /** Which source enqueued it; null when the body is not a retry message. */
  readonly source: 'delivery-log' | 'eventbridge' | null;
  /** The EventBridge route, for that source. */
  readonly route: string | null;
  readonly targetUrl: string;
  /** The target's last HTTP status: the last attempt's, else what it answered Genesys. */
  readonly lastStatus: number | null;
  readonly reason: string;
  readonly attempts: number;
  /** When the redeliverer gave up (the last attempt), when known. */
  readonly deadLetteredAt: string | null;
  readonly messageId: string;
  readonly eventKey: string | null;
  /** The event's status in the ledger; null when the ledger has no record of it. */
  readonly ledgerStatus: string | null;
  /**
   * False for a dead letter the ledger never decided (status not a verdict, or no record): SQS moved it after
   * maxReceiveCount receives that ended without a decision (throttles, timeouts). Worth a redrive.
   */
  readonly verdict: boolean;
}

/** An entry of `dlq export`: the original design's field names, plus attempts and identifiers. */
export interface ExportEntry {
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly source: 'delivery-log' | 'eventbridge' | null;
  readonly route: string | null;
  readonly timestamp: string | null;
  readonly originalPayload: unknown;
  readonly originalHeaders: Readonly<Record<string, string>>;
  readonly httpStatusCode: number | null;
  readonly errorReason: string | null;
  readonly targetUrl: string;
  readonly attempts: readonly AttemptRecord[];
  readonly eventKey: string | null;
  readonly messageId: string;
  readonly deadLetteredAt: string | null;
  readonly duplicateDeliveryIds: readonly string[];
  readonly ledgerStatus: string | null;
}

/** Joins chunks of raw dead letters with the ledger: one BatchGetItem per chunk. */
export async function* joinWithLedger(reader: DlqReader, ledger: LedgerReader): AsyncGenerator<DeadLetter[]> {
  for await (const chunk of reader.chunks()) {
    const parsed = chunk.map((raw) => ({ raw, message: parseBody(raw) }));
    const keys = parsed.flatMap((p) => (p.message ? [p.message.eventKey] : []));
    const events = await ledger.events(keys);
    yield parsed.map(({ raw, message }) => {
      const event = message ? events.get(message.eventKey) : undefined;
      return { raw, ...(message ? { message } : {}), ...(event ? { event } : {}) };
    });
  }
}

/**
 * The retry message a dead letter stands for: its body, or, for an EventBridge event a rule queued, the message
 * the redeliverer derived from it (lambdas/shared/domain/event-envelope.ts). Undefined when it is neither.
 */
function parseBody(raw: RawDeadLetter): RetryMessage | undefined {
  try {
    const json: unknown = JSON.parse(raw.body);
    const envelope = asEventEnvelope(json);
    if (envelope) {
      const sent = raw.sentAt ? new Date(raw.sentAt) : new Date(0);
      // The route's headers as the rule carries them: the CLI masks credential values when it prints them.
      const taken = takeEnvelope(envelope, {
        forwardCredentials: true,
        sentAt: Number.isNaN(sent.getTime()) ? new Date(0) : sent,
      });
      return taken.kind === 'message' ? taken.message : undefined;
    }
    const result = retryMessageSchema.safeParse(json);
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/** The attempts that reached (or were refused before) the target; attempt 0 marks an event never enqueued. */
function realAttempts(d: DeadLetter): readonly AttemptRecord[] {
  return (d.event?.attempts ?? []).filter((a) => a.attempt > 0);
}

function lastStatus(d: DeadLetter): number | null {
  const attempts = realAttempts(d);
  for (let i = attempts.length - 1; i >= 0; i--) {
    const status = attempts[i]?.status;
    if (typeof status === 'number') return status;
  }
  return d.message?.originalStatus ?? d.event?.originalStatus ?? null;
}

function reason(d: DeadLetter): string {
  if (!d.message) return 'the message body is not a retry message';
  const attempts = realAttempts(d);
  const last = attempts[attempts.length - 1];
  if (d.event?.finalReason) return d.event.finalReason;
  if (last?.error) return last.error;
  if (!d.event) return 'no ledger record (the redeliverer failed before recording an attempt)';
  if (attempts.length === 0) return 'no attempt recorded (the redeliverer failed before reaching the target)';
  return d.message.originalError ?? '';
}

function deadLetteredAt(d: DeadLetter): string | null {
  const decided = d.event?.status === 'permanent' || d.event?.status === 'exhausted';
  const last = realAttempts(d).at(-1);
  return decided ? (last?.at ?? d.event?.updatedAt ?? null) : null;
}

/** True when the ledger decided the dead letter's event: its status is a verdict. */
export function hasVerdict(d: DeadLetter): boolean {
  return d.event !== undefined && VERDICTS.includes(d.event.status);
}

/** The row `dlq list` shows for a dead letter. */
export function toRow(d: DeadLetter): DeadLetterRow {
  const verdict = hasVerdict(d);
  const why = reason(d);
  return {
    deliveryId: d.message?.deliveryId ?? `sqs-message:${d.raw.messageId}`,
    webhookId: d.message?.webhookId ?? 'unknown',
    // Messages from before there were two sources carry no `source`: they came from the delivery log.
    source: d.message ? (d.message.source ?? 'delivery-log') : null,
    route: d.message?.route ?? null,
    targetUrl: d.message?.targetUrl ?? '',
    lastStatus: lastStatus(d),
    // An invalid body has no event to decide: its reason says why it is here.
    reason: verdict || !d.message ? why : `not a verdict (ledger: ${d.event?.status ?? 'no record'}): ${why}`,
    attempts: realAttempts(d).length,
    deadLetteredAt: deadLetteredAt(d),
    messageId: d.raw.messageId,
    eventKey: d.message?.eventKey ?? null,
    ledgerStatus: d.event?.status ?? null,
    verdict: verdict || !d.message,
  };
}

/**
 * Nesting depth beyond which a payload stays text: JSON.stringify recurses, and a body nested some thousands of
 * levels deep would otherwise fail a whole export with "Maximum call stack size exceeded".
 */
export const MAX_PAYLOAD_DEPTH = 500;

/** The deepest nesting of brackets in JSON text, strings skipped; stops counting past `limit`. */
export function jsonDepth(text: string, limit = MAX_PAYLOAD_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * The body as the target should see it: parsed JSON when it is JSON text, else the text itself (also for JSON
 * nested deeper than MAX_PAYLOAD_DEPTH, so that writing it out cannot overflow the stack).
 */
export function originalPayload(body: string): unknown {
  const t = body.trim();
  if (t.startsWith('{') || t.startsWith('[') || t.startsWith('"')) {
    if (jsonDepth(t) > MAX_PAYLOAD_DEPTH) return body;
    try {
      return JSON.parse(t);
    } catch {
      return body;
    }
  }
  return body;
}

/** The entry `dlq export` writes for a dead letter. */
export function toExportEntry(d: DeadLetter): ExportEntry {
  const row = toRow(d);
  return {
    deliveryId: row.deliveryId,
    webhookId: row.webhookId,
    source: row.source,
    route: row.route,
    timestamp: d.message?.failedAt ?? d.event?.failedAt ?? null,
    originalPayload: d.message ? originalPayload(d.message.body) : d.raw.body,
    originalHeaders: d.message?.headers ?? {},
    httpStatusCode: row.lastStatus,
    errorReason: row.reason === '' ? null : row.reason,
    targetUrl: row.targetUrl,
    attempts: realAttempts(d),
    eventKey: row.eventKey,
    messageId: d.raw.messageId,
    deadLetteredAt: row.deadLetteredAt,
    duplicateDeliveryIds: d.event?.duplicateDeliveryIds ?? [],
    ledgerStatus: d.event?.status ?? null,
  };
}

/** True when a dead letter is about `deliveryId` (its first delivery id or a folded repeat). */
export function concerns(d: DeadLetter, deliveryId: string): boolean {
  return (
    d.message?.deliveryId === deliveryId ||
    d.event?.duplicateDeliveryIds.includes(deliveryId) === true ||
    `sqs-message:${d.raw.messageId}` === deliveryId
  );
}

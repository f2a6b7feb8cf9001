import { STATUS_CODES } from 'node:http';
import { backoffSeconds, MAX_DELAY_SECONDS, MAX_VISIBILITY_SECONDS } from '../shared/domain/backoff';
import { classifyStatus, type Outcome, parseRetryAfter } from '../shared/domain/classify';
import { headerValue } from '../shared/domain/headers';
import type { RetryMessage } from '../shared/domain/retry-message';
import { type TargetPolicy, targetRefusal } from '../shared/domain/target';
import { targetId } from '../shared/domain/target-id';
import { signingTargetOf } from '../shared/domain/target-signing-key';
import { PermanentDeliveryError, RetryableDeliveryError } from '../shared/errors';
import type { AttemptRecord, EventStatus, Ledger, RetryQueue, WebhookSender } from '../shared/ports';
import type { PipelineSettings } from '../shared/settings';
import { readRetryRecord } from './read-retry-record';
import type { Admission, TargetGate, TargetSignal } from './target-gate';

/** The parts of an SQS record the use case reads; an `SQSRecord` fits as is. */
export interface RedeliveryInput {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: { readonly ApproximateReceiveCount: string };
}

/** The log calls the use case makes; Powertools' Logger fits as is. */
export interface RedeliveryLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface RedeliverDeps {
  readonly sender: WebhookSender;
  readonly queue: RetryQueue;
  readonly ledger: Ledger;
  readonly settings: Pick<
    PipelineSettings,
    | 'MAX_RETRIES'
    | 'RETRY_DELAY_SECONDS'
    | 'MAX_RETRY_DELAY_SECONDS'
    | 'DELIVERY_TIMEOUT_SECONDS'
    | 'MAX_HOLD_SECONDS'
    | keyof TargetPolicy
  >;
  /** Holds back targets that signalled they cannot take more; one per warm instance, shared by its records. */
  readonly gate: TargetGate;
  /** A number in [0, 1) for the backoff's jitter. */
  readonly random: () => number;
  readonly now: () => Date;
  readonly logger: RedeliveryLogger;
}

/** What happened to one retry message. */
export interface RedeliveryOutcome {
  readonly messageId: string;
  readonly eventKey?: string;
  readonly deliveryId?: string;
  readonly webhookId?: string;
  /** The target's id (origin and a hash of its path: see targetId), never its URL, which may hold a token. */
  readonly target?: string;
  /**
   * Which attempt of the event's retry budget this was, from 1: real calls to the target only (a held event
   * or a probe of a host that is still down spends none).
   */
  readonly attempt: number;
  readonly result:
    | 'delivered'
    | 'retry-scheduled'
    | 'exhausted'
    | 'permanent'
    | 'already-delivered'
    | 'failed-fast'
    | 'held'
    | 'invalid-message';
  /** True when the message is done with and must be deleted; false when it must be reported failed. */
  readonly acknowledged: boolean;
  readonly targetCalled: boolean;
  readonly status?: number;
  /** The failure, or why a decision was taken; never contains a header value. */
  readonly error?: string;
  readonly nextAttemptInSeconds?: number;
  /** For a held event: what holds it back, and for how long it has been held in this budget. */
  readonly hold?: { readonly key: string; readonly heldForSeconds: number };
  /** How long the HTTP attempt took; 0 when the target was not called. */
  readonly durationMs: number;
}

/** One try at the target (or the refusal to try), before deciding what it means for the message. */
interface Attempted {
  readonly outcome: Outcome;
  readonly targetCalled: boolean;
  readonly durationMs: number;
  readonly status?: number;
  readonly error?: string;
  readonly retryAfterSeconds?: number | undefined;
  /** What the call told us about the target, for the gate; absent when it was not called. */
  readonly signal?: TargetSignal;
}

/**
 * Redelivers one retry message. Skips an event already delivered; fails fast on one already decided for this very
 * SQS message; refuses a forbidden target; holds it back (sent again with a delay, no budget spent) while its
 * target is held by the gate; otherwise POSTs it and records the attempt in the ledger. A retryable failure sets
 * the message's visibility to the backoff; a permanent or exhausted one sets it to 0 so that SQS's redrive policy
 * moves it to the DLQ (this code never sends there itself).
 *
 * The retry budget is counted in the ledger (`budgetAttempts`), not by SQS's receive count: only calls that
 * reached the target count, and a redrive (the event decided on another message id) starts a new budget.
 * maxReceiveCount = MAX_RETRIES still bounds each copy, because a held event is sent again as a new copy instead of
 * being received again: receives and real attempts stay in step. Rejects only when it cannot decide (the ledger
 * cannot be read), which the batch utility reports as a failure of this record alone.
 */
export async function redeliver(input: RedeliveryInput, deps: RedeliverDeps): Promise<RedeliveryOutcome> {
  const read = readRetryRecord(input.body);
  if (!read.ok) {
    const base = { messageId: input.messageId, attempt: receiveCount(input) };
    deps.logger.warn('retry message is invalid; failing fast so SQS dead-letters it', {
      ...base,
      reason: read.reason,
    });
    const invalid = {
      webhookId: read.webhookId ?? 'unknown',
      // There is no event key to file it under: the SQS message id is the only handle it has.
      deliveryId: `sqs-message:${input.messageId}`,
      reason: read.reason,
      raw: read.redactedBody,
    };
    await Promise.all([
      setVisibility(input, 0, base, deps),
      deps.ledger.recordInvalid(invalid).catch((e: unknown) => logLedgerError(e, base, deps)),
    ]);
    const rest = { acknowledged: false, targetCalled: false, error: read.reason, durationMs: 0 };
    return { ...base, result: 'invalid-message', ...rest };
  }

  const message = read.message;
  const event = await deps.ledger.getEvent(message.eventKey);
  const decidedHere =
    event?.decidedForMessageId === input.messageId ||
    (event?.decidedMessageIds ?? []).includes(input.messageId);
  // A decided event on another message is a redrive (SQS gives it a new id), or a stale copy a crash left
  // behind: either gets a new budget, while the copies it was decided on still go to the DLQ.
  const fresh = (event?.status === 'permanent' || event?.status === 'exhausted') && !decidedHere;
  const spent = fresh ? 0 : (event?.budgetAttempts ?? 0);
  const base = {
    messageId: input.messageId,
    eventKey: message.eventKey,
    deliveryId: message.deliveryId,
    webhookId: message.webhookId,
    target: targetId(message.targetUrl),
    attempt: spent + 1,
  };
  if (event?.status === 'delivered') {
    // Sent already (a duplicate, or a crash between the target's answer and the ack): never send twice.
    return { ...base, result: 'already-delivered', acknowledged: true, targetCalled: false, durationMs: 0 };
  }
  if (decidedHere) {
    // Decided on this very message: fail fast until SQS's redrive policy moves it to the DLQ.
    await setVisibility(input, 0, base, deps);
    const reason = event?.finalReason !== undefined ? { error: event.finalReason } : {};
    return {
      ...base,
      result: 'failed-fast',
      acknowledged: false,
      targetCalled: false,
      ...reason,
      durationMs: 0,
    };
  }

  const at = deps.now();
  const refusal = targetRefusal(message.targetUrl, deps.settings);
  const admission: Admission = refusal
    ? { kind: 'call', probes: [], outageProbe: false }
    : deps.gate.admit(message.targetUrl);
  if (admission.kind === 'hold') {
    const heldSince = fresh || event?.heldSince === undefined ? at : new Date(event.heldSince);
    return hold(input, message, base, admission.key, admission.reason, heldSince, at, fresh, deps);
  }

  const attempted: Attempted = refusal
    ? { outcome: 'permanent', targetCalled: false, durationMs: 0, error: refusal }
    : await attemptDelivery(message, at, deps);
  if (!refusal) deps.gate.report(message.targetUrl, admission, attempted.signal ?? { kind: 'unreachable' });

  // A probe of a host held for an outage that finds it still down tests the host, not the event.
  const counted = !(admission.kind === 'call' && admission.outageProbe && isDownSignal(attempted.signal));
  // The number this attempt stands for in the budget; an uncounted probe is marked so and leaves the budget be.
  const attempt = spent + 1;
  if (!counted && attempted.outcome === 'retryable') {
    const heldSince = fresh || event?.heldSince === undefined ? at : new Date(event.heldSince);
    const record = attemptRecord(input, at, attempted, attempt, { counted: false });
    await deps.ledger
      .recordAttempt(message.eventKey, record, 'enqueued', undefined, { counted: false, fresh })
      .catch((e: unknown) => logLedgerError(e, base, deps));
    const reason = `probe: ${attempted.error ?? 'failed'}`;
    const key = `outage ${originOf(message.targetUrl)}`;
    const held = await hold(input, message, base, key, reason, heldSince, at, false, deps);
    return { ...held, targetCalled: true, durationMs: attempted.durationMs, ...statusOf(attempted) };
  }

  const { result, ledgerStatus, visibility, finalReason } = decide(attempted, attempt, message, deps);
  const next = result === 'retry-scheduled' ? { nextAttemptInSeconds: visibility } : {};
  const record = attemptRecord(input, at, attempted, attempt, next);
  // Independent: neither failure may hide the other, and neither changes the result. Without the visibility
  // change the message returns after the queue's default; a delivery the ledger missed was still delivered.
  await Promise.all([
    visibility !== undefined ? setVisibility(input, visibility, base, deps) : undefined,
    deps.ledger
      .recordAttempt(message.eventKey, record, ledgerStatus, finalReason, { counted: true, fresh })
      .catch((e: unknown) => logLedgerError(e, { ...base, result }, deps)),
  ]);
  return {
    ...base,
    attempt,
    result,
    acknowledged: result === 'delivered',
    targetCalled: attempted.targetCalled,
    ...statusOf(attempted),
    ...next,
    durationMs: attempted.durationMs,
  };
}

/**
 * Holds an event back without spending its budget: sends its body again, visible when the target's hold ends
 * (spread a little so held events do not all return at once), and acknowledges this copy, so that SQS's receive
 * count, which the redrive policy reads, does not grow while a target is held. Past MAX_HOLD_SECONDS the event
 * is dead-lettered instead, through the redrive policy like any other.
 */
async function hold(
  input: RedeliveryInput,
  message: RetryMessage,
  base: Omit<RedeliveryOutcome, 'result' | 'acknowledged' | 'targetCalled' | 'durationMs'>,
  key: string,
  reason: string,
  heldSince: Date,
  at: Date,
  fresh: boolean,
  deps: RedeliverDeps,
): Promise<RedeliveryOutcome> {
  const heldForSeconds = Math.max(0, Math.round((at.getTime() - heldSince.getTime()) / 1000));
  const holdInfo = { hold: { key, heldForSeconds } };
  if (heldForSeconds >= deps.settings.MAX_HOLD_SECONDS) {
    const finalReason = `target held back for ${heldForSeconds} s (${reason}); MAX_HOLD_SECONDS is ${deps.settings.MAX_HOLD_SECONDS}`;
    const record: AttemptRecord = {
      attempt: base.attempt,
      messageId: input.messageId,
      at: at.toISOString(),
      durationMs: 0,
      outcome: 'retryable',
      error: finalReason,
      counted: false,
      notCalled: true,
    };
    await Promise.all([
      setVisibility(input, 0, base, deps),
      deps.ledger
        .recordAttempt(message.eventKey, record, 'exhausted', finalReason, { counted: false, fresh })
        .catch((e: unknown) => logLedgerError(e, base, deps)),
    ]);
    return {
      ...base,
      ...holdInfo,
      result: 'exhausted',
      acknowledged: false,
      targetCalled: false,
      error: finalReason,
      durationMs: 0,
    };
  }
  const untilMs = Math.max(deps.gate.heldUntil(message.targetUrl), at.getTime() + 1000);
  const remaining = (untilMs - at.getTime()) / 1000;
  const delay = Math.min(
    MAX_DELAY_SECONDS,
    Math.ceil(remaining + deps.random() * Math.max(1, remaining / 2)),
  );
  const firstHold = fresh || heldForSeconds === 0;
  const noted = firstHold
    ? deps.ledger
        .recordHold(message.eventKey, heldSince.toISOString(), fresh)
        .catch((e: unknown) => logLedgerError(e, base, deps))
    : undefined;
  let acknowledged = true;
  try {
    await deps.queue.requeue(input.body, delay);
  } catch (error) {
    // Not sent again: keep this copy and hide it instead. Its receive count grows by one, as a crash's would.
    acknowledged = false;
    deps.logger.error('could not send a held event again; hiding this copy instead', {
      ...base,
      error: errorText(error),
    });
    await setVisibility(input, delay, base, deps);
  }
  await noted;
  return {
    ...base,
    ...holdInfo,
    result: 'held',
    acknowledged,
    targetCalled: false,
    error: `held back: ${reason}`,
    nextAttemptInSeconds: delay,
    durationMs: 0,
  };
}

function attemptRecord(
  input: RedeliveryInput,
  at: Date,
  attempted: Attempted,
  attempt: number,
  extra: { nextAttemptInSeconds?: number; counted?: false },
): AttemptRecord {
  return {
    attempt,
    messageId: input.messageId,
    at: at.toISOString(),
    durationMs: attempted.durationMs,
    outcome: attempted.outcome,
    ...statusOf(attempted),
    ...extra,
  };
}

function statusOf(attempted: Attempted): { status?: number; error?: string } {
  return {
    ...(attempted.status !== undefined ? { status: attempted.status } : {}),
    ...(attempted.error !== undefined ? { error: attempted.error } : {}),
  };
}

function isDownSignal(signal: TargetSignal | undefined): boolean {
  return signal?.kind === 'unreachable' || signal?.kind === 'stalled' || signal?.kind === 'server-error';
}

async function attemptDelivery(message: RetryMessage, at: Date, deps: RedeliverDeps): Promise<Attempted> {
  try {
    const sent = await deps.sender.send({
      url: message.targetUrl,
      headers: outgoingHeaders(message),
      body: message.body,
      signingTarget: signingTargetOf(message),
    });
    const outcome = classifyStatus(sent.status);
    const redirect = sent.status >= 300 && sent.status < 400 ? ' (redirects are not followed)' : '';
    const retryAfterSeconds = parseRetryAfter(sent.retryAfter, deps.now());
    return {
      outcome,
      targetCalled: true,
      durationMs: sent.durationMs,
      status: sent.status,
      ...(outcome !== 'delivered'
        ? { error: `target answered ${describeStatus(sent.status)}${redirect}` }
        : {}),
      retryAfterSeconds,
      signal: statusSignal(sent.status, retryAfterSeconds),
    };
  } catch (error) {
    const durationMs = Math.max(0, deps.now().getTime() - at.getTime());
    // Most of the timeout gone without an answer: the path is stuck, not refusing.
    const stalled = durationMs >= deps.settings.DELIVERY_TIMEOUT_SECONDS * 1000 * 0.8;
    return {
      // Anything but a refusal is worth another try: the attempt budget bounds the cost of being wrong.
      outcome: error instanceof PermanentDeliveryError ? 'permanent' : 'retryable',
      targetCalled: true,
      durationMs,
      error: error instanceof Error ? error.message : String(error),
      retryAfterSeconds: error instanceof RetryableDeliveryError ? error.retryAfterSeconds : undefined,
      signal: stalled ? { kind: 'stalled' } : { kind: 'unreachable' },
    };
  }
}

function statusSignal(status: number, retryAfterSeconds: number | undefined): TargetSignal {
  if (status === 429) return { kind: 'rate-limited', retryAfterSeconds };
  if (status >= 500) return { kind: 'server-error', retryAfterSeconds };
  return { kind: 'answered' };
}

/** What an attempt means for the message. */
interface Decision {
  readonly result: 'delivered' | 'retry-scheduled' | 'exhausted' | 'permanent';
  readonly ledgerStatus: EventStatus;
  /** Seconds until the message is visible again; undefined leaves it alone (it is about to be deleted). */
  readonly visibility?: number;
  readonly finalReason?: string;
}

function decide(attempted: Attempted, attempt: number, message: RetryMessage, deps: RedeliverDeps): Decision {
  const error = attempted.error ?? '';
  if (attempted.outcome === 'delivered') return { result: 'delivered', ledgerStatus: 'delivered' };
  if (attempted.outcome === 'permanent') {
    return { result: 'permanent', ledgerStatus: 'permanent', visibility: 0, finalReason: error };
  }
  if (attempt >= deps.settings.MAX_RETRIES) {
    // The budget is spent: visibility 0 makes the next receive exceed maxReceiveCount, so SQS dead-letters it.
    const finalReason = `${error.replace(/^target answered /, '')} after ${attempt} attempts`;
    return { result: 'exhausted', ledgerStatus: 'exhausted', visibility: 0, finalReason };
  }
  const visibility = backoffSeconds({
    attempt,
    baseSeconds: deps.settings.RETRY_DELAY_SECONDS,
    capSeconds: deps.settings.MAX_RETRY_DELAY_SECONDS,
    retryAfterSeconds: attempted.retryAfterSeconds,
    random: deps.random,
  });
  // Not before the target's hold ends, and behind the events it holds back: the next probe should carry
  // another event, so that no single event spends its whole budget probing a busy target.
  const remaining = Math.ceil((deps.gate.heldUntil(message.targetUrl) - deps.now().getTime()) / 1000);
  const behind = remaining > 0 ? remaining + Math.ceil(Math.max(1, remaining / 2)) : 0;
  const cap = Math.max(deps.settings.MAX_RETRY_DELAY_SECONDS, remaining);
  return {
    result: 'retry-scheduled',
    ledgerStatus: 'enqueued',
    visibility: Math.min(MAX_VISIBILITY_SECONDS, Math.max(visibility, Math.min(behind, cap))),
  };
}

/** The headers sent: the logged ones, Content-Type unless they carry one, and the event's Idempotency-Key. */
function outgoingHeaders(message: RetryMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (name.toLowerCase() !== 'idempotency-key') headers[name] = value;
  }
  if (headerValue(headers, 'content-type') === undefined) headers['Content-Type'] = message.contentType;
  headers['Idempotency-Key'] = message.eventKey;
  return headers;
}

async function setVisibility(input: RedeliveryInput, seconds: number, context: object, deps: RedeliverDeps) {
  try {
    await deps.queue.setVisibility(input.receiptHandle, seconds);
  } catch (error) {
    deps.logger.error('could not change the message visibility; it returns after the queue default', {
      ...context,
      visibilitySeconds: seconds,
      error: errorText(error),
    });
  }
}

function logLedgerError(error: unknown, context: object, deps: RedeliverDeps): void {
  deps.logger.error('the ledger could not record the attempt; the outcome stands', {
    ...context,
    error: errorText(error),
  });
}

function receiveCount(input: RedeliveryInput): number {
  const n = Number(input.attributes.ApproximateReceiveCount);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function describeStatus(status: number): string {
  const phrase = STATUS_CODES[status];
  return phrase ? `${status} ${phrase}` : String(status);
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

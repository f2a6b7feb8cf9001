import { STATUS_CODES } from 'node:http';
import { backoffSeconds, MAX_DELAY_SECONDS, MAX_VISIBILITY_SECONDS } from '../shared/domain/backoff';
import { classifyStatus, type Outcome, parseRetryAfter } from '../shared/domain/classify';
import {
  ABSENT,
  applyWrite,
  type Budget,
  claim,
  exhaustWithoutCall,
  hold as holdWrite,
  type Lifecycle,
  type LifecycleWrite,
  onReceive,
  type Settlement,
  settle,
} from '../shared/domain/event-lifecycle';
import { headerValue } from '../shared/domain/headers';
import { type RetryMessage, toQueueBody } from '../shared/domain/retry-message';
import { type TargetPolicy, targetRefusal } from '../shared/domain/target';
import { heldDelaySeconds } from '../shared/domain/target-hold';
import { targetId } from '../shared/domain/target-id';
import { signingTargetOf } from '../shared/domain/target-signing-key';
import {
  DeliveryNotSentError,
  PermanentDeliveryError,
  RetryableDeliveryError,
  TargetUnreachableError,
} from '../shared/errors';
import type { AttemptRecord, Ledger, RetryQueue, WebhookSender } from '../shared/ports';
import type { PipelineSettings } from '../shared/settings';
import { readRetryRecord } from './read-retry-record';
import type { Admission, Learnt, TargetGate, TargetSignal } from './target-gate';

/** The parts of an SQS record the use case reads; an `SQSRecord` fits as is. */
export interface RedeliveryInput {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: {
    readonly ApproximateReceiveCount: string;
    /** When SQS accepted this copy (epoch ms); tells a redrive (sent after a verdict) from a stale copy. */
    readonly SentTimestamp?: string;
  };
}

/** The log calls the use case makes; Powertools' Logger fits as is. */
export interface RedeliveryLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** Time a receive's claim lasts beyond the delivery timeout: the redeliverer's own overhead (derived-settings). */
export const CLAIM_MARGIN_SECONDS = 15;

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
    | 'superseded'
    | 'busy'
    | 'not-sent'
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
  /** Set when nothing was sent, for a reason of ours (the signing key could not be read). */
  readonly notSent?: { readonly retryAfterSeconds: number };
}

type Base = Omit<RedeliveryOutcome, 'result' | 'acknowledged' | 'targetCalled' | 'durationMs'>;

/** The event as this receive knows it: its message, the ledger item as last read or written, its budget. */
interface Current {
  readonly input: RedeliveryInput;
  readonly message: RetryMessage;
  readonly state: Lifecycle;
  readonly budget: Budget;
  readonly base: Base;
}

/**
 * Redelivers one retry message, moving the event through its lifecycle (lambdas/shared/domain/event-lifecycle.ts)
 * with one conditional ledger write per step: a copy whose write loses to another copy's acknowledges and does
 * nothing more. Skips an event already delivered; fails fast on one decided on this very message; refuses a
 * forbidden target; holds it back (sent again with a delay, no budget spent) while its target is held by the gate;
 * otherwise claims it, POSTs it and records how the call ended. A retryable failure sets the message's visibility
 * to the backoff; a verdict (permanent, exhausted) sets it to 0 so that SQS's redrive policy moves it to the DLQ
 * (this code never sends there itself).
 *
 * The retry budget is the ledger's: only calls that reached the target count, a redrive (a copy SQS sent after
 * the verdict) starts a new one. maxReceiveCount is MAX_RETRIES plus headroom, so that receives that end without
 * a decision (a throttled ledger, a failed re-send, a timeout) do not dead-letter an event the ledger has not
 * decided. Rejects only when it cannot decide (the ledger cannot be read or the claim written), which the batch
 * utility reports as a failure of this record alone.
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
  const state: Lifecycle = (await deps.ledger.getEvent(message.eventKey)) ?? ABSENT;
  const at = deps.now();
  const sent = Number(input.attributes.SentTimestamp);
  const received = onReceive(
    state,
    {
      messageId: input.messageId,
      sentAtMs: Number.isFinite(sent) && sent > 0 ? sent : undefined,
      budget: message.budget,
      heldSince: message.heldSince,
    },
    at,
    { maxRetries: deps.settings.MAX_RETRIES },
  );
  const spentBefore = 'budget' in received ? received.budget.spent : state.budgetAttempts;
  const base: Base = {
    messageId: input.messageId,
    eventKey: message.eventKey,
    deliveryId: message.deliveryId,
    webhookId: message.webhookId,
    target: targetId(message.targetUrl),
    attempt: spentBefore + 1,
  };
  const none = { targetCalled: false, durationMs: 0 };
  switch (received.kind) {
    case 'already-delivered':
      // Sent already (a duplicate, or a crash between the target's answer and the ack): never send twice.
      return { ...base, result: 'already-delivered', acknowledged: true, ...none };
    case 'superseded':
      // Another copy owns the event, or this one predates its verdict: this copy has nothing left to do.
      return { ...base, result: 'superseded', acknowledged: true, error: received.why, ...none };
    case 'busy':
      // SQS delivered this very message twice: the other receive holds the claim; look again when it ends.
      await setVisibility(input, received.retryInSeconds, base, deps);
      return {
        ...base,
        result: 'busy',
        acknowledged: false,
        error: 'another receive of this message is calling the target',
        nextAttemptInSeconds: received.retryInSeconds,
        ...none,
      };
    case 'fail-fast':
      // Decided on this very message: fail fast until SQS's redrive policy moves it to the DLQ.
      await setVisibility(input, 0, base, deps);
      return {
        ...base,
        result: 'failed-fast',
        acknowledged: false,
        ...(received.reason !== undefined ? { error: received.reason } : {}),
        ...none,
      };
    case 'exhaust': {
      const current = { input, message, state, budget: received.budget, base };
      return exhaustNow(current, received.reason, at, deps);
    }
    case 'go':
      break;
  }
  const current: Current = { input, message, state, budget: received.budget, base };

  const refusal = targetRefusal(message.targetUrl, deps.settings);
  const admission: Admission = refusal
    ? { kind: 'call', probes: [], outageProbe: false, id: '' }
    : await deps.gate.admit(message.targetUrl);
  if (admission.kind === 'hold') {
    return hold(current, admission.key, admission.reason, at, deps);
  }

  // One call at a time per event: the claim is the conditional write that makes the other copies stand down.
  // A call not made gives its admission back to the gate, so that a probe it carried is not left in flight.
  const claimWrite = claim(
    state,
    current.budget,
    input.messageId,
    at,
    deps.settings.DELIVERY_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS,
  );
  const claimedNow = await deps.ledger
    .transition(message.eventKey, claimWrite, identityOf(message))
    .catch(async (error: unknown) => {
      await releaseAdmission(message.targetUrl, admission, base, deps);
      throw error;
    });
  if (claimedNow === 'conflict') {
    await releaseAdmission(message.targetUrl, admission, base, deps);
    return {
      ...base,
      result: 'superseded',
      acknowledged: true,
      error: 'another copy claimed it first',
      ...none,
    };
  }
  const claimed: Current = { ...current, state: applyWrite(state, claimWrite) };

  const attempted: Attempted = refusal
    ? { outcome: 'permanent', targetCalled: false, durationMs: 0, error: refusal }
    : await attemptDelivery(message, at, deps);
  const learnt: Learnt = refusal
    ? { counted: true }
    : await deps.gate
        .report(message.targetUrl, admission, attempted.signal ?? { kind: 'unreachable' })
        .catch((error: unknown): Learnt => {
          // The call was made: its outcome must still be recorded. The hold is learnt again on the next call.
          deps.logger.error('the target gate could not record what the call showed', {
            ...base,
            error: errorText(error),
          });
          return { counted: true };
        });

  // A host that is down, or a target asking for time (429, 503 with Retry-After), is no verdict on the event; nor
  // is a call never made (the signing key could not be read).
  const counted = learnt.counted && !attempted.notSent;
  // The number this attempt stands for in the budget; an uncounted probe is marked so and leaves the budget be.
  const attempt = current.budget.spent + 1;
  if (!counted && attempted.outcome === 'retryable') {
    const record = attemptRecord(input, at, attempted, attempt, { counted: false });
    const write = settle(claimed.state, input.messageId, record, { kind: 'probe-held' }, at);
    const after = await record$(claimed, write, deps);
    if (after === 'conflict') return { ...supersededAfterCall(base), targetCalled: attempted.targetCalled };
    const heldNow: Current = {
      ...claimed,
      state: after ?? claimed.state,
      budget: { ...current.budget, redrive: false },
    };
    const noted = after !== undefined;
    if (attempted.notSent) {
      // Our failure, not the target's: delayed as the error asks, and counted apart (RedeliveriesNotSent).
      const heldUntilMs = at.getTime() + attempted.notSent.retryAfterSeconds * 1000;
      const reason = attempted.error ?? 'not sent';
      const held = await hold(heldNow, 'not-sent', reason, at, deps, { noted, heldUntilMs });
      return { ...held, result: held.result === 'held' ? 'not-sent' : held.result };
    }
    const reason = `${learnt.reason ?? 'probe'}: ${attempted.error ?? 'failed'}`;
    const key = learnt.key ?? `outage ${originOf(message.targetUrl)}`;
    const held = await hold(heldNow, key, reason, at, deps, { noted });
    return { ...held, targetCalled: true, durationMs: attempted.durationMs, ...statusOf(attempted) };
  }

  const { result, visibility, settlement } = decide(attempted, attempt, message, deps);
  const next = result === 'retry-scheduled' ? { nextAttemptInSeconds: visibility } : {};
  const record = attemptRecord(input, at, attempted, attempt, next);
  const write = settle(claimed.state, input.messageId, record, settlement, at);
  // Independent: neither failure may hide the other. Without the visibility change the message returns after
  // the queue's default; a delivery the ledger missed was still delivered.
  const [, after] = await Promise.all([
    visibility !== undefined ? setVisibility(input, visibility, base, deps) : undefined,
    record$(claimed, write, deps),
  ]);
  const lost = after === 'conflict' && result !== 'delivered';
  return {
    ...base,
    attempt,
    result,
    // A copy whose claim was taken over (it outlived the claim) leaves the event to the copy that took it.
    acknowledged: result === 'delivered' || lost,
    targetCalled: attempted.targetCalled,
    ...statusOf(attempted),
    ...(lost ? { error: `${attempted.error ?? result}; another copy took the event over` } : {}),
    ...next,
    durationMs: attempted.durationMs,
  };
}

/** Gives a call not made back to the gate; a failure only leaves a probe lease to run out (logged). */
async function releaseAdmission(
  url: string,
  admission: Admission,
  base: Base,
  deps: RedeliverDeps,
): Promise<void> {
  await deps.gate.release(url, admission).catch((error: unknown) => {
    deps.logger.error('the target gate could not take back a call not made', {
      ...base,
      error: errorText(error),
    });
  });
}

/**
 * Applies a write after a call: the item as it now is, 'conflict' when another copy moved it first, undefined
 * when the write failed (logged; the outcome stands, and the claim lapses so another receive can take over).
 */
async function record$(
  current: Current,
  write: LifecycleWrite,
  deps: RedeliverDeps,
): Promise<Lifecycle | 'conflict' | undefined> {
  try {
    const done = await deps.ledger.transition(current.message.eventKey, write, identityOf(current.message));
    if (done === 'conflict') {
      deps.logger.warn('another copy took the event over while this one called the target', current.base);
      return 'conflict';
    }
    return applyWrite(current.state, write);
  } catch (error) {
    logLedgerError(error, current.base, deps);
    return undefined;
  }
}

function supersededAfterCall(base: Base): RedeliveryOutcome {
  return {
    ...base,
    result: 'superseded',
    acknowledged: true,
    targetCalled: true,
    error: 'another copy took the event over',
    durationMs: 0,
  };
}

/** Exhausts the event without calling the target (held past MAX_HOLD_SECONDS, or the budget already spent). */
async function exhaustNow(
  current: Current,
  finalReason: string,
  at: Date,
  deps: RedeliverDeps,
  extra: Partial<RedeliveryOutcome> = {},
): Promise<RedeliveryOutcome> {
  const { input, message, state, budget, base } = current;
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
  const write = exhaustWithoutCall(state, budget, input.messageId, record, finalReason, at);
  const done = await deps.ledger
    .transition(message.eventKey, write, identityOf(message))
    .catch((e: unknown) => logLedgerError(e, base, deps));
  if (done === 'conflict') {
    return { ...base, result: 'superseded', acknowledged: true, targetCalled: false, durationMs: 0 };
  }
  await setVisibility(input, 0, base, deps);
  return {
    ...base,
    ...extra,
    result: 'exhausted',
    acknowledged: false,
    targetCalled: false,
    error: finalReason,
    durationMs: 0,
  };
}

/**
 * Holds an event back without spending its budget: sends it again, visible when the target's hold ends (spread a
 * little so held events do not all return at once), carrying its budget and hold clock, and acknowledges this
 * copy, so that SQS's receive count, which the redrive policy reads, does not grow while a target is held. The
 * first hold of a budget is a ledger transition (a copy that loses it stands down); later holds of the same budget
 * only re-send. Past MAX_HOLD_SECONDS the event is exhausted instead, through the redrive policy like any other.
 */
async function hold(
  current: Current,
  key: string,
  reason: string,
  at: Date,
  deps: RedeliverDeps,
  options: { noted?: boolean; heldUntilMs?: number } = {},
): Promise<RedeliveryOutcome> {
  const { input, message, state, budget, base } = current;
  const heldSince = new Date(budget.heldSince ?? at.toISOString());
  const heldForSeconds = Math.max(0, Math.round((at.getTime() - heldSince.getTime()) / 1000));
  const holdInfo = { hold: { key, heldForSeconds } };
  if (heldForSeconds >= deps.settings.MAX_HOLD_SECONDS) {
    const finalReason = `target held back for ${heldForSeconds} s (${reason}); MAX_HOLD_SECONDS is ${deps.settings.MAX_HOLD_SECONDS}`;
    return exhaustNow(current, finalReason, at, deps, holdInfo);
  }
  const untilMs = Math.max(
    options.heldUntilMs ?? deps.gate.heldUntil(message.targetUrl),
    at.getTime() + 1000,
  );
  const delay = heldDelaySeconds((untilMs - at.getTime()) / 1000, deps.random, MAX_DELAY_SECONDS);
  const alreadyHeld =
    options.noted === true || (state.status === 'held' && state.heldSince !== undefined && !budget.redrive);
  if (!alreadyHeld) {
    const write = holdWrite(state, budget, at);
    const done = await deps.ledger
      .transition(message.eventKey, write, identityOf(message))
      // The copy carries the hold clock: a lost write cannot make the hold endless.
      .catch((e: unknown) => logLedgerError(e, base, deps));
    if (done === 'conflict') {
      return { ...base, result: 'superseded', acknowledged: true, targetCalled: false, durationMs: 0 };
    }
  }
  const body = toQueueBody({ ...message, budget: budget.budget, heldSince: heldSince.toISOString() });
  let acknowledged = true;
  try {
    await deps.queue.requeue(body, delay);
  } catch (error) {
    // Not sent again: keep this copy and hide it instead. Its receive count grows by one, as a crash's would.
    acknowledged = false;
    deps.logger.error('could not send a held event again; hiding this copy instead', {
      ...base,
      error: errorText(error),
    });
    await setVisibility(input, delay, base, deps);
  }
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

function identityOf(message: RetryMessage) {
  return { deliveryId: message.deliveryId, webhookId: message.webhookId, targetUrl: message.targetUrl };
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
    if (error instanceof DeliveryNotSentError) {
      const notSent = { retryAfterSeconds: error.retryAfterSeconds };
      const signal: TargetSignal = { kind: 'not-sent' };
      return {
        outcome: 'retryable',
        targetCalled: false,
        durationMs: 0,
        error: error.message,
        signal,
        notSent,
      };
    }
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
      signal:
        error instanceof TargetUnreachableError
          ? { kind: 'unreachable', connect: true }
          : stalled
            ? { kind: 'stalled' }
            : { kind: 'unreachable' },
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
  /** How the ledger's claim ends. */
  readonly settlement: Settlement;
  /** Seconds until the message is visible again; undefined leaves it alone (it is about to be deleted). */
  readonly visibility?: number;
}

function decide(attempted: Attempted, attempt: number, message: RetryMessage, deps: RedeliverDeps): Decision {
  const error = attempted.error ?? '';
  if (attempted.outcome === 'delivered') return { result: 'delivered', settlement: { kind: 'delivered' } };
  if (attempted.outcome === 'permanent') {
    return { result: 'permanent', settlement: { kind: 'permanent', reason: error }, visibility: 0 };
  }
  if (attempt >= deps.settings.MAX_RETRIES) {
    // The budget is spent: visibility 0 fails it fast until its receives exceed maxReceiveCount and SQS
    // dead-letters it.
    const reason = `${error.replace(/^target answered /, '')} after ${attempt} attempts`;
    return { result: 'exhausted', settlement: { kind: 'exhausted', reason }, visibility: 0 };
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
  const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(visibility, Math.min(behind, cap)));
  const nextAttemptAt = new Date(deps.now().getTime() + seconds * 1000).toISOString();
  return { result: 'retry-scheduled', settlement: { kind: 'retry', nextAttemptAt }, visibility: seconds };
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

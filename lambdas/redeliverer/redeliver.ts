import { STATUS_CODES } from 'node:http';
import { backoffSeconds } from '../shared/domain/backoff';
import { classifyStatus, type Outcome, parseRetryAfter } from '../shared/domain/classify';
import { headerValue } from '../shared/domain/headers';
import type { RetryMessage } from '../shared/domain/retry-message';
import { type TargetPolicy, targetRefusal } from '../shared/domain/target';
import { PermanentDeliveryError, RetryableDeliveryError } from '../shared/errors';
import type { AttemptRecord, EventStatus, Ledger, RetryQueue, WebhookSender } from '../shared/ports';
import type { PipelineSettings } from '../shared/settings';
import { readRetryRecord } from './read-retry-record';

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
    'MAX_RETRIES' | 'RETRY_DELAY_SECONDS' | 'MAX_RETRY_DELAY_SECONDS' | keyof TargetPolicy
  >;
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
  readonly targetUrl?: string;
  /** Which receive this was (SQS's ApproximateReceiveCount), from 1. */
  readonly attempt: number;
  readonly result:
    | 'delivered'
    | 'retry-scheduled'
    | 'exhausted'
    | 'permanent'
    | 'already-delivered'
    | 'failed-fast'
    | 'invalid-message';
  /** True when the message is done with and must be deleted; false when it must be reported failed. */
  readonly acknowledged: boolean;
  readonly targetCalled: boolean;
  readonly status?: number;
  /** The failure, or why a decision was taken; never contains a header value. */
  readonly error?: string;
  readonly nextAttemptInSeconds?: number;
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
}

/**
 * Redelivers one retry message. Skips an event already delivered; fails fast on one already decided for this very
 * SQS message; refuses a forbidden target; otherwise POSTs it and records the attempt in the ledger. A retryable
 * failure sets the message's visibility to the backoff; a permanent or exhausted one sets it to 0 so that SQS's
 * redrive policy moves it to the DLQ (this code never sends there itself). Rejects only when it cannot decide
 * (the ledger cannot be read), which the batch utility reports as a failure of this record alone.
 */
export async function redeliver(input: RedeliveryInput, deps: RedeliverDeps): Promise<RedeliveryOutcome> {
  const attempt = receiveCount(input);
  const read = readRetryRecord(input.body);
  if (!read.ok) {
    const base = { messageId: input.messageId, attempt };
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
  const base = {
    messageId: input.messageId,
    eventKey: message.eventKey,
    deliveryId: message.deliveryId,
    webhookId: message.webhookId,
    targetUrl: message.targetUrl,
    attempt,
  };
  const event = await deps.ledger.getEvent(message.eventKey);
  if (event?.status === 'delivered') {
    // Sent already (a duplicate, or a crash between the target's answer and the ack): never send twice.
    return { ...base, result: 'already-delivered', acknowledged: true, targetCalled: false, durationMs: 0 };
  }
  const decided = event?.status === 'permanent' || event?.status === 'exhausted';
  if (decided && event.decidedForMessageId === input.messageId) {
    await setVisibility(input, 0, base, deps);
    const reason = event.finalReason !== undefined ? { error: event.finalReason } : {};
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
  const attempted: Attempted = refusal
    ? { outcome: 'permanent', targetCalled: false, durationMs: 0, error: refusal }
    : await attemptDelivery(message, at, deps);

  const { result, ledgerStatus, visibility, finalReason } = decide(attempted, attempt, deps);
  const next = result === 'retry-scheduled' ? { nextAttemptInSeconds: visibility } : {};
  const record: AttemptRecord = {
    attempt,
    messageId: input.messageId,
    at: at.toISOString(),
    durationMs: attempted.durationMs,
    outcome: attempted.outcome,
    ...(attempted.status !== undefined ? { status: attempted.status } : {}),
    ...(attempted.error !== undefined ? { error: attempted.error } : {}),
    ...next,
  };
  // Independent: neither failure may hide the other, and neither changes the result. Without the visibility
  // change the message returns after the queue's default; a delivery the ledger missed was still delivered.
  await Promise.all([
    visibility !== undefined ? setVisibility(input, visibility, base, deps) : undefined,
    deps.ledger
      .recordAttempt(message.eventKey, record, ledgerStatus, finalReason)
      .catch((e: unknown) => logLedgerError(e, { ...base, result }, deps)),
  ]);
  return {
    ...base,
    result,
    acknowledged: result === 'delivered',
    targetCalled: attempted.targetCalled,
    ...(attempted.status !== undefined ? { status: attempted.status } : {}),
    ...(attempted.error !== undefined ? { error: attempted.error } : {}),
    ...next,
    durationMs: attempted.durationMs,
  };
}

async function attemptDelivery(message: RetryMessage, at: Date, deps: RedeliverDeps): Promise<Attempted> {
  try {
    const sent = await deps.sender.send({
      url: message.targetUrl,
      headers: outgoingHeaders(message),
      body: message.body,
    });
    const outcome = classifyStatus(sent.status);
    const redirect = sent.status >= 300 && sent.status < 400 ? ' (redirects are not followed)' : '';
    return {
      outcome,
      targetCalled: true,
      durationMs: sent.durationMs,
      status: sent.status,
      ...(outcome !== 'delivered'
        ? { error: `target answered ${describeStatus(sent.status)}${redirect}` }
        : {}),
      retryAfterSeconds: parseRetryAfter(sent.retryAfter, deps.now()),
    };
  } catch (error) {
    return {
      // Anything but a refusal is worth another try: the attempt budget bounds the cost of being wrong.
      outcome: error instanceof PermanentDeliveryError ? 'permanent' : 'retryable',
      targetCalled: true,
      durationMs: Math.max(0, deps.now().getTime() - at.getTime()),
      error: error instanceof Error ? error.message : String(error),
      retryAfterSeconds: error instanceof RetryableDeliveryError ? error.retryAfterSeconds : undefined,
    };
  }
}

/** What an attempt means for the message. */
interface Decision {
  readonly result: 'delivered' | 'retry-scheduled' | 'exhausted' | 'permanent';
  readonly ledgerStatus: EventStatus;
  /** Seconds until the message is visible again; undefined leaves it alone (it is about to be deleted). */
  readonly visibility?: number;
  readonly finalReason?: string;
}

function decide(attempted: Attempted, attempt: number, deps: RedeliverDeps): Decision {
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
  return { result: 'retry-scheduled', ledgerStatus: 'enqueued', visibility };
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

function describeStatus(status: number): string {
  const phrase = STATUS_CODES[status];
  return phrase ? `${status} ${phrase}` : String(status);
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

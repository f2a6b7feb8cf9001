/**
 * One call to the target and what it means: attemptDelivery makes the call (headers, signing) and classifies
 * how it ended, with the signal it gives the target gate; decide turns that into the message's result, the
 * ledger settlement and the visibility (the backoff); attemptRecord and statusOf shape it for the ledger.
 */
import { STATUS_CODES } from 'node:http';
import { backoffSeconds, MAX_VISIBILITY_SECONDS } from '../shared/domain/backoff';
import { classifyStatus, parseRetryAfter } from '../shared/domain/classify';
import type { Settlement } from '../shared/domain/event-lifecycle';
import { headerValue } from '../shared/domain/headers';
import type { RetryMessage } from '../shared/domain/retry-message';
import { signingTargetOf } from '../shared/domain/target-signing-key';
import {
  DeliveryNotSentError,
  PermanentDeliveryError,
  RetryableDeliveryError,
  TargetUnreachableError,
} from '../shared/errors';
import type { AttemptRecord } from '../shared/ports';
import type { Attempted, RedeliverDeps, RedeliveryInput } from './redelivery-types';
import type { TargetSignal } from './target-gate';

export async function attemptDelivery(
  message: RetryMessage,
  at: Date,
  deps: RedeliverDeps,
  /** Headers of ours on top (an ordered event's gap and late marks). */
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<Attempted> {
  try {
    const sent = await deps.sender.send({
      url: message.targetUrl,
      headers: { ...outgoingHeaders(message), ...extraHeaders },
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
export interface Decision {
  readonly result: 'delivered' | 'retry-scheduled' | 'exhausted' | 'permanent';
  /** How the ledger's claim ends. */
  readonly settlement: Settlement;
  /** Seconds until the message is visible again; undefined leaves it alone (it is about to be deleted). */
  readonly visibility?: number;
}

export function decide(
  attempted: Attempted,
  attempt: number,
  message: RetryMessage,
  deps: RedeliverDeps,
): Decision {
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

export function attemptRecord(
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

export function statusOf(attempted: Attempted): { status?: number; error?: string } {
  return {
    ...(attempted.status !== undefined ? { status: attempted.status } : {}),
    ...(attempted.error !== undefined ? { error: attempted.error } : {}),
  };
}

/** The headers sent: the logged ones, Content-Type unless they carry one, and the event's Idempotency-Key. */
function outgoingHeaders(message: RetryMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    const lower = name.toLowerCase();
    // Ours to set: the event's key, and an ordered event's gap and late marks.
    if (lower !== 'idempotency-key' && !lower.startsWith('genesys-recovery-')) headers[name] = value;
  }
  if (headerValue(headers, 'content-type') === undefined) headers['Content-Type'] = message.contentType;
  headers['Idempotency-Key'] = message.eventKey;
  return headers;
}

function describeStatus(status: number): string {
  const phrase = STATUS_CODES[status];
  return phrase ? `${status} ${phrase}` : String(status);
}

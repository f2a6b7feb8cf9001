/**
 * The small effects every step of a redelivery shares: the event's identity for a ledger write, changing the
 * message's visibility, and logging a failed ledger write or any error without letting it escape.
 */
import type { RetryMessage } from '../shared/domain/retry-message';
import type { AttemptRecord } from '../shared/ports';
import type { Base, RedeliverDeps, RedeliveryInput } from './redelivery-types';

export function identityOf(message: RetryMessage) {
  return { deliveryId: message.deliveryId, webhookId: message.webhookId, targetUrl: message.targetUrl };
}

export async function setVisibility(
  input: RedeliveryInput,
  seconds: number,
  context: object,
  deps: RedeliverDeps,
) {
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

export function logLedgerError(error: unknown, context: object, deps: RedeliverDeps): void {
  deps.logger.error('the ledger could not record the attempt; the outcome stands', {
    ...context,
    error: errorText(error),
  });
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The ledger's record of a decision taken without calling the target (it spends no budget). */
export function notCalledAttempt(
  base: Base,
  input: RedeliveryInput,
  at: Date,
  outcome: AttemptRecord['outcome'],
  reason: string,
): AttemptRecord {
  return {
    attempt: base.attempt,
    messageId: input.messageId,
    at: at.toISOString(),
    durationMs: 0,
    outcome,
    error: reason,
    counted: false,
    notCalled: true,
  };
}

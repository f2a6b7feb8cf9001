import { ABSENT, refuseEnqueue } from './domain/event-lifecycle';
import type { RetryMessage } from './domain/retry-message';
import type { Ledger } from './ports';

/**
 * Closes the claim of an event SQS refused for good (too large, bad characters): the event is recorded permanent
 * under a placeholder message id, so a later listing of it is a duplicate, not a new claim refused again. The
 * claim was never enqueued, so no redeliverer wrote the item: the write expects it untouched (version 0).
 */
export async function closeRefusedClaim(
  ledger: Ledger,
  message: RetryMessage,
  reason: string,
  now: Date,
): Promise<void> {
  const attempt = {
    attempt: 0,
    messageId: 'not-enqueued',
    at: now.toISOString(),
    durationMs: 0,
    outcome: 'permanent' as const,
    error: reason,
  };
  const { eventKey, deliveryId, webhookId, targetUrl } = message;
  await ledger.transition(eventKey, refuseEnqueue(ABSENT, attempt, reason, now), {
    deliveryId,
    webhookId,
    targetUrl,
  });
}

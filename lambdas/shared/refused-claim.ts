import type { Ledger } from './ports';

/**
 * Closes the claim of an event SQS refused for good (too large, bad characters): the event is recorded permanent
 * under a placeholder message id, so a later listing of it is a duplicate, not a new claim refused again.
 */
export async function closeRefusedClaim(
  ledger: Ledger,
  eventKey: string,
  reason: string,
  now: Date,
): Promise<void> {
  await ledger.recordAttempt(
    eventKey,
    {
      attempt: 0,
      messageId: 'not-enqueued',
      at: now.toISOString(),
      durationMs: 0,
      outcome: 'permanent',
      error: reason,
    },
    'permanent',
    reason,
  );
}

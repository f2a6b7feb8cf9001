/**
 * The redeliverer's steps for EventBridge events a rule put on the retry queue (lambdas/shared/domain/event-envelope.ts):
 * recording one no route takes (or refused), and telling a repeat of a decided event from an operator's redrive.
 */
import { EVENTBRIDGE_LEDGER_ID } from '../shared/domain/event-envelope';
import { type ReceiveDecision, VERDICTS } from '../shared/domain/event-lifecycle';
import type { RetryMessage } from '../shared/domain/retry-message';
import type { EventRecord } from '../shared/ports';
import type { ReadQueuedRecord } from './read-retry-record';
import type { RedeliverDeps, RedeliveryInput, RedeliveryOutcome } from './redelivery-types';

/**
 * An EventBridge event whose content was already decided on under another EventBridge id: a repeat Genesys sent,
 * not an operator's redrive (which keeps the id), so it is acknowledged rather than given a new budget.
 */
export function repeatOfDecided(
  record: EventRecord | undefined,
  message: RetryMessage,
): ReceiveDecision | undefined {
  if (record === undefined || !VERDICTS.includes(record.status) || record.status === 'delivered')
    return undefined;
  if (record.deliveryId === message.deliveryId) return undefined;
  return {
    kind: 'superseded',
    why: `a repeat of event ${record.deliveryId} (${record.status}); redrive its dead letter instead`,
  };
}

/**
 * An EventBridge event no route takes (the catch-all rule), or one refused for its shape, source or account:
 * recorded in the ledger with the reason and counted once, then acknowledged. A ledger that cannot record it
 * rejects, so the message comes back rather than being lost.
 */
export async function recordNotRouted(
  input: RedeliveryInput,
  read: Extract<ReadQueuedRecord, { ok: 'not-routed' }>,
  deps: RedeliverDeps,
): Promise<RedeliveryOutcome> {
  const recorded = await deps.ledger.recordInvalid({
    webhookId: EVENTBRIDGE_LEDGER_ID,
    deliveryId: read.deliveryId,
    reason: read.reason,
    raw: read.raw,
  });
  // The outcome's own `redelivery` line (a warning) says what it was and why: no second line here.
  return {
    messageId: input.messageId,
    deliveryId: read.deliveryId,
    webhookId: EVENTBRIDGE_LEDGER_ID,
    attempt: 0,
    result:
      recorded === 'duplicate'
        ? 'already-recorded'
        : read.kind === 'unmatched'
          ? 'unmatched'
          : 'refused-event',
    acknowledged: true,
    targetCalled: false,
    error: read.reason,
    durationMs: 0,
  };
}

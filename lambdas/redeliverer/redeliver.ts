/**
 * The redeliverer's use case, entry and receive: reads one retry message, asks the event lifecycle what this copy
 * must do, admits it through the target gate and claims the event; the call and its settlement are in
 * ./settle-attempt, holding and exhausting in ./hold. The public types live in ./redelivery-types and are
 * importable from here.
 */

import { EVENTBRIDGE_LEDGER_ID } from '../shared/domain/event-envelope';
import {
  ABSENT,
  applyWrite,
  claim,
  type Lifecycle,
  onReceive,
  type ReceiveDecision,
  VERDICTS,
} from '../shared/domain/event-lifecycle';
import type { RetryMessage } from '../shared/domain/retry-message';
import { targetRefusal } from '../shared/domain/target';
import { targetId } from '../shared/domain/target-id';
import type { EventRecord } from '../shared/ports';
import { orderStep } from './entity-order-step';
import { exhaustNow, hold } from './hold';
import { type ReadQueuedRecord, readQueuedRecord } from './read-retry-record';
import { errorText, identityOf, logLedgerError, setVisibility } from './redelivery-io';
import type { Base, Current, RedeliverDeps, RedeliveryInput, RedeliveryOutcome } from './redelivery-types';
import { callAndSettle } from './settle-attempt';
import type { Admission } from './target-gate';

export type { RedeliverDeps, RedeliveryInput, RedeliveryLogger, RedeliveryOutcome } from './redelivery-types';

/** Time a receive's claim lasts beyond the delivery timeout: the redeliverer's own overhead (derived-settings). */
export const CLAIM_MARGIN_SECONDS = 15;

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
  const sent = Number(input.attributes.SentTimestamp);
  const sentAtMs = Number.isFinite(sent) && sent > 0 ? sent : undefined;
  const read = readQueuedRecord(input.body, {
    forwardCredentials: deps.settings.FORWARD_CREDENTIAL_HEADERS,
    sentAt: sentAtMs === undefined ? deps.now() : new Date(sentAtMs),
    ...(deps.origin ? { origin: deps.origin } : {}),
  });
  if (read.ok === 'not-routed') return recordNotRouted(input, read, deps);
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
  const record = await deps.ledger.getEvent(message.eventKey);
  const state: Lifecycle = record ?? ABSENT;
  const at = deps.now();
  const received = read.fromEvent
    ? (repeatOfDecided(record, message) ?? receive(state, input, message, sentAtMs, at, deps))
    : receive(state, input, message, sentAtMs, at, deps);
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
  // A rule queued the same content under another EventBridge id (Genesys sent it again): this copy stands down.
  const repeat = read.fromEvent && record?.deliveryId !== message.deliveryId ? { repeat: true as const } : {};
  switch (received.kind) {
    case 'already-delivered':
      // Sent already (a duplicate, or a crash between the target's answer and the ack): never send twice.
      return { ...base, result: 'already-delivered', acknowledged: true, ...none, ...repeat };
    case 'superseded':
      // Another copy owns the event, or this one predates its verdict: this copy has nothing left to do.
      return { ...base, result: 'superseded', acknowledged: true, error: received.why, ...none, ...repeat };
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
  let current: Current = { input, message, state, budget: received.budget, base };
  if (message.order) {
    // Ordered per entity: only the entity's head goes on; a later event waits, an obsolete one is superseded.
    const step = await orderStep(current, at, deps);
    if (step.kind === 'done') return step.outcome;
    current = { ...current, order: step.order };
  }

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
      ...repeat,
    };
  }
  const claimed: Current = { ...current, state: applyWrite(state, claimWrite) };
  return callAndSettle(claimed, admission, refusal, at, deps);
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

/** What the lifecycle says this copy must do, given the item as read. */
function receive(
  state: Lifecycle,
  input: RedeliveryInput,
  message: RetryMessage,
  sentAtMs: number | undefined,
  at: Date,
  deps: RedeliverDeps,
): ReceiveDecision {
  const copy = { messageId: input.messageId, sentAtMs, budget: message.budget, heldSince: message.heldSince };
  return onReceive(state, copy, at, { maxRetries: deps.settings.MAX_RETRIES });
}

/**
 * An EventBridge event whose content was already decided on under another EventBridge id: a repeat Genesys sent,
 * not an operator's redrive (which keeps the id), so it is acknowledged rather than given a new budget.
 */
function repeatOfDecided(
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
async function recordNotRouted(
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
  if (recorded === 'new') {
    deps.logger.warn('EventBridge event not enqueued', {
      messageId: input.messageId,
      deliveryId: read.deliveryId,
      reason: read.reason,
    });
  }
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

function receiveCount(input: RedeliveryInput): number {
  const n = Number(input.attributes.ApproximateReceiveCount);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

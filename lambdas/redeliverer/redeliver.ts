/**
 * The redeliverer's use case, entry and receive: reads one retry message, asks the event lifecycle what this copy
 * must do, admits it through the target gate and claims the event; the call and its settlement are in
 * ./settle-attempt, holding and exhausting in ./hold. The public types live in ./redelivery-types and are
 * importable from here.
 */
import {
  ABSENT,
  applyWrite,
  claim,
  type Lifecycle,
  type LifecycleWrite,
  onReceive,
} from '../shared/domain/event-lifecycle';
import type { RetryMessage } from '../shared/domain/retry-message';
import { targetRefusal } from '../shared/domain/target';
import { targetId } from '../shared/domain/target-id';
import type { EventRecord } from '../shared/ports';
import { orderStep } from './entity-order-step';
import { exhaustNow, hold } from './hold';
import { readQueuedRecord } from './read-retry-record';
import { errorText, identityOf, logLedgerError, setVisibility } from './redelivery-io';
import type { Base, Current, RedeliverDeps, RedeliveryInput, RedeliveryOutcome } from './redelivery-types';
import { callAndSettle } from './settle-attempt';
import { recordNotRouted, repeatOfDecided } from './taken-event';
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
  const read = readQueuedRecord(input.body, {
    forwardCredentials: deps.settings.FORWARD_CREDENTIAL_HEADERS,
    sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent) : deps.now(),
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
  // A copy's first receive almost always finds no item, or the poller's (or the intake's), which reads as ABSENT.
  // So it skips the read and guesses ABSENT: its first write (claim or hold) is conditional on the item being one
  // the guess describes, and one the item refuses decides again on the item the refusal hands back.
  const firstGuess = likelyFirstReceive(input, message);
  const record = firstGuess ? undefined : await deps.ledger.getEvent(message.eventKey);
  return receive({ input, message, fromEvent: read.fromEvent }, record, firstGuess, deps);
}

/** One receive of one copy: the SQS record, its message, and whether a rule queued it as an EventBridge event. */
interface Receipt {
  readonly input: RedeliveryInput;
  readonly message: RetryMessage;
  readonly fromEvent: boolean;
}

/**
 * A copy that has most likely never been received: SQS's first receive of it, not a copy this code sent again
 * (those carry their budget), and not ordered per entity (its step reads the entity and the ledger anyway).
 */
function likelyFirstReceive(input: RedeliveryInput, message: RetryMessage): boolean {
  return (
    input.attributes.ApproximateReceiveCount === '1' &&
    message.budget === undefined &&
    message.heldSince === undefined &&
    message.order === undefined
  );
}

/**
 * Decides what this receive does with the event as `state` (read, or guessed ABSENT) and does it. A guess whose
 * first write loses decides once more, on the item that refused it: the guess was only wrong, not a lost race.
 */
async function receive(
  receipt: Receipt,
  record: EventRecord | undefined,
  guessed: boolean,
  deps: RedeliverDeps,
): Promise<RedeliveryOutcome> {
  const { input, message } = receipt;
  const state: Lifecycle = record ?? ABSENT;
  const at = deps.now();
  const sent = Number(input.attributes.SentTimestamp);
  const copy = {
    messageId: input.messageId,
    sentAtMs: Number.isFinite(sent) && sent > 0 ? sent : undefined,
    budget: message.budget,
    heldSince: message.heldSince,
  };
  const received =
    (receipt.fromEvent ? repeatOfDecided(record, message) : undefined) ??
    onReceive(state, copy, at, { maxRetries: deps.settings.MAX_RETRIES });
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
  const repeat =
    receipt.fromEvent && record?.deliveryId !== message.deliveryId ? { repeat: true as const } : {};
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
  const decideAgain = (item: EventRecord | undefined) => receive(receipt, item, false, deps);

  const refusal = targetRefusal(message.targetUrl, deps.settings);
  const admission: Admission = refusal
    ? { kind: 'call', probes: [], outageProbe: false, id: '' }
    : await deps.gate.admit(message.targetUrl);
  if (admission.kind === 'hold') {
    return hold(current, admission.key, admission.reason, at, deps, guessed ? { decideAgain } : {});
  }

  // One call at a time per event: the claim is the conditional write that makes the other copies stand down.
  // A call not made gives its admission back to the gate, so that a probe it carried is not left in flight.
  const claimWrite: LifecycleWrite = {
    ...claim(
      state,
      current.budget,
      input.messageId,
      at,
      deps.settings.DELIVERY_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS,
    ),
    // A guess is written only on an item it describes (absent, or as the poller or the intake left it).
    ...(guessed ? { untouched: true as const } : {}),
  };
  const claimedNow = await deps.ledger
    .transition(message.eventKey, claimWrite, identityOf(message))
    .catch(async (error: unknown) => {
      await releaseAdmission(message.targetUrl, admission, base, deps);
      throw error;
    });
  if (claimedNow.result === 'conflict') {
    await releaseAdmission(message.targetUrl, admission, base, deps);
    if (guessed) return decideAgain(claimedNow.current);
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

function receiveCount(input: RedeliveryInput): number {
  const n = Number(input.attributes.ApproximateReceiveCount);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

/**
 * What a redelivery does once it holds the claim: calls the target (or records the refusal to), tells the target
 * gate what the call showed, and settles the event in the ledger: held again when the call is no verdict on it
 * (a host down, a target asking for time, a call never made), else delivered, retry-scheduled, exhausted or
 * permanent, with the message's visibility set to match.
 */
import { applyWrite, type Lifecycle, type LifecycleWrite, settle } from '../shared/domain/event-lifecycle';
import { attemptDelivery, attemptRecord, decide, statusOf } from './attempt-delivery';
import { endOrder } from './entity-order-step';
import { hold } from './hold';
import { errorText, identityOf, logLedgerError, setVisibility } from './redelivery-io';
import type { Attempted, Base, Current, RedeliverDeps, RedeliveryOutcome } from './redelivery-types';
import type { Admission, Learnt } from './target-gate';

/**
 * Calls the target for an event this receive has claimed (`claimed` holds the ledger item with the claim
 * applied) and records how the call ended; `refusal` is why the target may not be called at all, if it may not.
 */
export async function callAndSettle(
  claimed: Current,
  admission: Admission,
  refusal: string | undefined,
  at: Date,
  deps: RedeliverDeps,
): Promise<RedeliveryOutcome> {
  const { input, message, base } = claimed;
  const attempted: Attempted = refusal
    ? { outcome: 'permanent', targetCalled: false, durationMs: 0, error: refusal }
    : await attemptDelivery(message, at, deps, claimed.order?.headers);
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
  const attempt = claimed.budget.spent + 1;
  if (!counted && attempted.outcome === 'retryable') {
    const record = attemptRecord(input, at, attempted, attempt, { counted: false });
    const write = settle(claimed.state, input.messageId, record, { kind: 'probe-held' }, at);
    const after = await record$(claimed, write, deps);
    if (after === 'conflict') return { ...supersededAfterCall(base), targetCalled: attempted.targetCalled };
    const heldNow: Current = {
      ...claimed,
      state: after ?? claimed.state,
      budget: { ...claimed.budget, redrive: false },
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
  if (claimed.order && after !== 'conflict') {
    // The entity's next event may go now: this one has its verdict (or its retry, which keeps it the head).
    if (result === 'delivered') {
      await endOrder(
        claimed.order,
        message.eventKey,
        { kind: 'delivered', announced: claimed.order.announced },
        deps,
      );
    } else if (result === 'permanent' || result === 'exhausted') {
      await endOrder(claimed.order, message.eventKey, { kind: 'dead-lettered' }, deps);
    }
  }
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
    if (done.result === 'conflict') {
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

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/**
 * Settling an event without calling its target: hold sends it again for when its target's hold ends, spending
 * no budget; exhaustNow records the verdict (held past MAX_HOLD_SECONDS, or the budget already spent) and lets
 * SQS's redrive policy move the message to the DLQ.
 */
import { MAX_DELAY_SECONDS } from '../shared/domain/backoff';
import { exhaustWithoutCall, hold as holdWrite } from '../shared/domain/event-lifecycle';
import { toQueueBody } from '../shared/domain/retry-message';
import { heldDelaySeconds } from '../shared/domain/target-hold';
import type { EventRecord } from '../shared/ports';
import { endOrder } from './entity-order-step';
import { errorText, identityOf, logLedgerError, notCalledAttempt, setVisibility } from './redelivery-io';
import type { Current, RedeliverDeps, RedeliveryOutcome } from './redelivery-types';

/** Exhausts the event without calling the target (held past MAX_HOLD_SECONDS, or the budget already spent). */
export async function exhaustNow(
  current: Current,
  finalReason: string,
  at: Date,
  deps: RedeliverDeps,
  extra: Partial<RedeliveryOutcome> = {},
): Promise<RedeliveryOutcome> {
  const { input, message, state, budget, base } = current;
  const record = notCalledAttempt(base, input, at, 'retryable', finalReason);
  const write = exhaustWithoutCall(state, budget, input.messageId, record, finalReason, at);
  const done = await deps.ledger
    .transition(message.eventKey, write, identityOf(message))
    .catch((e: unknown) => logLedgerError(e, base, deps));
  if (done?.result === 'conflict') {
    return { ...base, result: 'superseded', acknowledged: true, targetCalled: false, durationMs: 0 };
  }
  await Promise.all([
    setVisibility(input, 0, base, deps),
    // Dead-lettered: the entity's next event may go, announcing the gap.
    current.order ? endOrder(current.order, message.eventKey, { kind: 'dead-lettered' }, deps) : undefined,
  ]);
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
export async function hold(
  current: Current,
  key: string,
  reason: string,
  at: Date,
  deps: RedeliverDeps,
  options: {
    noted?: boolean;
    heldUntilMs?: number;
    /**
     * Set when `current.state` is a guess (ABSENT, unread): the hold is written only on an untouched item, and a
     * hold the item refuses decides again on it with this, rather than standing down.
     */
    decideAgain?: (item: EventRecord | undefined) => Promise<RedeliveryOutcome>;
  } = {},
): Promise<RedeliveryOutcome> {
  const { input, message, state, budget, base } = current;
  const heldSince = new Date(budget.heldSince ?? at.toISOString());
  const heldForMs = Math.max(0, at.getTime() - heldSince.getTime());
  const heldForSeconds = Math.round(heldForMs / 1000);
  const holdInfo = { hold: { key, heldForSeconds } };
  // On the milliseconds, not the rounded seconds: a hold of 9.6 s is not yet one of 10.
  if (heldForMs >= deps.settings.MAX_HOLD_SECONDS * 1000) {
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
    const write = {
      ...holdWrite(state, budget, at),
      ...(options.decideAgain ? { untouched: true as const } : {}),
    };
    const done = await deps.ledger
      .transition(message.eventKey, write, identityOf(message))
      // The copy carries the hold clock: a lost write cannot make the hold endless.
      .catch((e: unknown) => logLedgerError(e, base, deps));
    if (done?.result === 'conflict') {
      if (options.decideAgain) return options.decideAgain(done.current);
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

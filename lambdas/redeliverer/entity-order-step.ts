/**
 * The redeliverer's side of order per entity (lambdas/shared/domain/entity-order.ts): before an ordered event is
 * sent, orderStep reads its entity and lets it go only as the entity's head; a later event waits (sent again with
 * a delay, no budget spent), an obsolete one on a latestOnly route is superseded. endOrder takes an event off its
 * entity once it ends, so that the next one may go.
 */
import {
  applyEntityWrite,
  decideOrder,
  type EntityState,
  endWrite,
  headEnd,
  NO_ENTITY,
  type OrderEnd,
  waitSeconds,
} from '../shared/domain/entity-order';
import { supersede, wait, waitNeedsWrite } from '../shared/domain/event-lifecycle';
import { toQueueBody } from '../shared/domain/retry-message';
import type { EntityOrderStore, EntityRef } from '../shared/ports';
import { errorText, identityOf, notCalledAttempt, setVisibility } from './redelivery-io';
import type { Current, OrderContext, RedeliverDeps, RedeliveryOutcome } from './redelivery-types';

/** Reads an entity's item, its writes lost to others, at most this many times in one receive. */
const MAX_ROUNDS = 4;

export type OrderStep =
  /** The event is its entity's head: send it, with these headers. */
  | { readonly kind: 'send'; readonly order: OrderContext }
  /** Waiting or superseded: the receive is over. */
  | { readonly kind: 'done'; readonly outcome: RedeliveryOutcome };

function storeOf(deps: RedeliverDeps): EntityOrderStore {
  if (!deps.orders)
    throw new Error('an ordered event arrived, but the redeliverer was given no entity order store');
  return deps.orders;
}

/** Decides, for an event of a route ordered per entity, whether this receive may send it now. */
export async function orderStep(current: Current, at: Date, deps: RedeliverDeps): Promise<OrderStep> {
  const { message, state, budget } = current;
  const order = message.order;
  if (!order) throw new Error('orderStep needs an ordered message');
  const store = storeOf(deps);
  const ref: EntityRef = { route: message.route ?? message.webhookId, entity: order.entity };
  const atMs = Date.parse(order.at);
  const nowMs = at.getTime();
  let entity = await store.read(ref);
  if (!entity.pending.has(message.eventKey)) {
    // Not registered (a redrive after it was dead-lettered, a replay): registered now, so later ones wait for it.
    const entry = { atMs, arrivedMs: nowMs };
    await store.register(ref, message.eventKey, entry);
    entity = { ...entity, pending: new Map(entity.pending).set(message.eventKey, entry) };
  }
  const event = {
    eventKey: message.eventKey,
    atMs,
    latestOnly: order.latestOnly === true,
    redriven: budget.redrive || state.redrives > 0,
  };
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const decision = decideOrder(entity, event, nowMs);
    if (decision.kind === 'send') {
      return {
        kind: 'send',
        order: { ref, atMs, entity, headers: decision.headers, announced: decision.announced },
      };
    }
    if (decision.kind === 'supersede') {
      return {
        kind: 'done',
        outcome: await supersedeEvent(current, ref, atMs, entity, decision.reason, at, deps),
      };
    }
    const headItem = await deps.ledger.getEvent(decision.head);
    const end = headEnd(headItem, nowMs, deps.settings.MAX_HOLD_SECONDS);
    if (end === 'live') {
      const heldUntil = headItem?.status === 'held' ? deps.gate.heldUntil(message.targetUrl) : 0;
      const delay = waitSeconds(headItem, nowMs, deps.random, heldUntil);
      return { kind: 'done', outcome: await waitBehind(current, decision.head, delay, deps) };
    }
    // The head ended, but its entity never learnt it (a lost write): this receive ends it for it.
    const headAtMs = entity.pending.get(decision.head)?.atMs ?? atMs;
    const write = endWrite(entity, decision.head, headAtMs, end);
    entity = (await store.write(ref, write)) ? applyEntityWrite(entity, write) : await store.read(ref);
  }
  return { kind: 'done', outcome: await waitBehind(current, 'its entity', 2, deps) };
}

/** Waits behind an earlier event: this copy is sent again with a delay and acknowledged. */
async function waitBehind(
  current: Current,
  head: string,
  delay: number,
  deps: RedeliverDeps,
): Promise<RedeliveryOutcome> {
  const { input, message, state, budget, base } = current;
  const none = { targetCalled: false, durationMs: 0 } as const;
  if (waitNeedsWrite(state, budget)) {
    const done = await deps.ledger.transition(message.eventKey, wait(state, budget), identityOf(message));
    if (done.result === 'conflict') return { ...base, result: 'superseded', acknowledged: true, ...none };
  }
  const { heldSince: _held, ...rest } = message;
  const error = `waiting for ${head}, an earlier event of its entity`;
  try {
    await deps.queue.requeue(toQueueBody({ ...rest, budget: budget.budget }), delay);
  } catch (e) {
    deps.logger.error('could not send a waiting event again; hiding this copy instead', {
      ...base,
      error: errorText(e),
    });
    await setVisibility(input, delay, base, deps);
    return { ...base, result: 'waiting', acknowledged: false, error, nextAttemptInSeconds: delay, ...none };
  }
  return { ...base, result: 'waiting', acknowledged: true, error, nextAttemptInSeconds: delay, ...none };
}

/** Ends an event a newer delivery of its entity made obsolete (latestOnly): recorded, never sent, never a dead letter. */
async function supersedeEvent(
  current: Current,
  ref: EntityRef,
  atMs: number,
  entity: EntityState,
  reason: string,
  at: Date,
  deps: RedeliverDeps,
): Promise<RedeliveryOutcome> {
  const { input, message, state, budget, base } = current;
  const record = notCalledAttempt(base, input, at, 'permanent', reason);
  const write = supersede(state, budget, input.messageId, record, reason, at);
  const none = { targetCalled: false, durationMs: 0 } as const;
  const done = await deps.ledger.transition(message.eventKey, write, identityOf(message));
  if (done.result === 'conflict') return { ...base, result: 'superseded', acknowledged: true, ...none };
  await endOrder({ ref, atMs, entity }, message.eventKey, { kind: 'superseded' }, deps);
  return { ...base, result: 'outdated', acknowledged: true, error: reason, ...none };
}

/**
 * Takes an ended event off its entity: its position (delivered) or a gap (dead-lettered). A write lost to another
 * is tried again on a fresh read; one that fails is logged, and the next event of the entity ends it instead.
 */
export async function endOrder(
  order: Pick<OrderContext, 'ref' | 'atMs'> & { readonly entity?: EntityState },
  eventKey: string,
  end: OrderEnd,
  deps: RedeliverDeps,
): Promise<void> {
  const store = storeOf(deps);
  let entity = order.entity ?? NO_ENTITY;
  try {
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      if (round > 0 || order.entity === undefined) entity = await store.read(order.ref);
      if (await store.write(order.ref, endWrite(entity, eventKey, order.atMs, end))) return;
    }
    deps.logger.warn('could not take an ended event off its entity; its next event will', { eventKey });
  } catch (error) {
    deps.logger.error('could not take an ended event off its entity; its next event will', {
      eventKey,
      error: errorText(error),
    });
  }
}

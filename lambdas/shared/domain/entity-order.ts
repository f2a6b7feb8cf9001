/**
 * Order per entity (issue 24, docs/sources.md): on a route with `"order": "per-entity"`, the events of one entity
 * (a conversation, a user) reach the target in the order of their Genesys time. Pure: it reads the entity's item
 * and one event, and answers whether the event may be sent now, and which conditional write ends it.
 *
 * The entity's item lists its pending events (registered by the intake before they are enqueued), the time of
 * the newest event delivered, and the events dead-lettered since the last delivery (the gaps to announce). Only
 * the head (the earliest pending event) is sent; the others wait, spending no budget. A registration adds one
 * attribute and never conflicts; every other write is conditional on the item's `version`.
 */
import type { Lifecycle } from './event-lifecycle';

/** Header on the first event delivered after an earlier one of its entity was dead-lettered: that event's key. */
export const GAP_HEADER = 'Genesys-Recovery-Gap';
/** Header on an event delivered after a later one of its entity (a redrive, a late arrival). */
export const LATE_HEADER = 'Genesys-Recovery-Late';

/** Gaps kept per entity until a delivery announces them; older ones are dropped (the ledger still has them). */
export const MAX_GAPS = 20;

/** One pending event of an entity: its Genesys time and when it was registered (ties are broken by arrival). */
export interface PendingEntry {
  readonly atMs: number;
  readonly arrivedMs: number;
}

/** An entity's item as read (NO_ENTITY when there is none). */
export interface EntityState {
  /** Bumped by every write but a registration; 0 when none was made. */
  readonly version: number;
  readonly pending: ReadonlyMap<string, PendingEntry>;
  /** The Genesys time of the newest event delivered, and its key. */
  readonly lastDeliveredAtMs?: number;
  readonly lastDeliveredKey?: string;
  /** Events dead-lettered and not yet announced by a later delivery: key → Genesys time. */
  readonly gaps: ReadonlyMap<string, number>;
}

export const NO_ENTITY: EntityState = { version: 0, pending: new Map(), gaps: new Map() };

/** The event a receive is about to send. */
export interface OrderedEvent {
  readonly eventKey: string;
  readonly atMs: number;
  readonly latestOnly: boolean;
  /** True once an operator redrove it out of the DLQ: whatever else happened, it arrives late. */
  readonly redriven: boolean;
}

export type OrderDecision =
  /** Send it, with these headers; `announced` are the gaps the headers name, cleared when it is delivered. */
  | {
      readonly kind: 'send';
      readonly headers: Readonly<Record<string, string>>;
      readonly announced: readonly string[];
    }
  /** An earlier event of the entity is pending: wait for it (no budget spent). */
  | { readonly kind: 'wait'; readonly head: string }
  /** latestOnly, and a newer event of the entity was delivered already: never sent. */
  | { readonly kind: 'supersede'; readonly reason: string };

/** Earlier in the entity's order: Genesys time, then arrival, then key (so every reader agrees). */
function before(a: [string, PendingEntry], b: [string, PendingEntry]): boolean {
  if (a[1].atMs !== b[1].atMs) return a[1].atMs < b[1].atMs;
  if (a[1].arrivedMs !== b[1].arrivedMs) return a[1].arrivedMs < b[1].arrivedMs;
  return a[0] < b[0];
}

/** The earliest pending event of the entity other than `except`, if any is earlier than `than`. */
export function earlierPending(
  entity: EntityState,
  than: [string, PendingEntry],
): [string, PendingEntry] | undefined {
  let head: [string, PendingEntry] | undefined;
  for (const entry of entity.pending) {
    if (entry[0] === than[0] || !before(entry, than)) continue;
    if (head === undefined || before(entry, head)) head = entry;
  }
  return head;
}

/** Decides whether `event` may be sent now. `nowMs` stands for its arrival when it was never registered. */
export function decideOrder(entity: EntityState, event: OrderedEvent, nowMs: number): OrderDecision {
  const late = entity.lastDeliveredAtMs !== undefined && event.atMs < entity.lastDeliveredAtMs;
  if (late && event.latestOnly && entity.lastDeliveredKey !== event.eventKey) {
    const newer = new Date(entity.lastDeliveredAtMs ?? 0).toISOString();
    return {
      kind: 'supersede',
      reason: `superseded: an event of its entity from ${newer} was delivered (latestOnly)`,
    };
  }
  const mine: [string, PendingEntry] = [
    event.eventKey,
    entity.pending.get(event.eventKey) ?? { atMs: event.atMs, arrivedMs: nowMs },
  ];
  const head = earlierPending(entity, mine);
  if (head) return { kind: 'wait', head: head[0] };
  const announced = [...entity.gaps]
    .filter(([key, atMs]) => key !== event.eventKey && atMs <= event.atMs)
    .map(([key]) => key);
  const headers: Record<string, string> = {};
  if (announced.length > 0) headers[GAP_HEADER] = announced.join(', ');
  if (late || event.redriven) headers[LATE_HEADER] = 'true';
  return { kind: 'send', headers, announced };
}

/** How an ordered event ended, for its entity. */
export type OrderEnd =
  | { readonly kind: 'delivered'; readonly announced: readonly string[] }
  | { readonly kind: 'dead-lettered' }
  | { readonly kind: 'superseded' };

/** A conditional write of the entity's item: if it is still at `expectVersion`. */
export interface EntityWrite {
  readonly expectVersion: number;
  readonly removePending: readonly string[];
  readonly version: number;
  readonly lastDeliveredAtMs?: number;
  readonly lastDeliveredKey?: string;
  readonly gaps: ReadonlyMap<string, number>;
}

/** The write that takes `eventKey` (Genesys time `atMs`) off the entity's pending events as it ends. */
export function endWrite(entity: EntityState, eventKey: string, atMs: number, end: OrderEnd): EntityWrite {
  const gaps = new Map(entity.gaps);
  let last =
    entity.lastDeliveredAtMs !== undefined
      ? { atMs: entity.lastDeliveredAtMs, key: entity.lastDeliveredKey ?? '' }
      : undefined;
  gaps.delete(eventKey);
  if (end.kind === 'delivered') {
    for (const key of end.announced) gaps.delete(key);
    if (last === undefined || atMs >= last.atMs) last = { atMs, key: eventKey };
  } else if (end.kind === 'dead-lettered') {
    gaps.set(eventKey, atMs);
    // The oldest beyond MAX_GAPS are dropped: the target still learns of a gap from the newest.
    while (gaps.size > MAX_GAPS) gaps.delete([...gaps.keys()][0] ?? '');
  }
  return {
    expectVersion: entity.version,
    removePending: [eventKey],
    version: entity.version + 1,
    ...(last !== undefined ? { lastDeliveredAtMs: last.atMs, lastDeliveredKey: last.key } : {}),
    gaps,
  };
}

/** The entity after `write`, as a store that applied it would read it back (for in-memory stores). */
export function applyEntityWrite(entity: EntityState, write: EntityWrite): EntityState {
  const pending = new Map(entity.pending);
  for (const key of write.removePending) pending.delete(key);
  return {
    version: write.version,
    pending,
    ...(write.lastDeliveredAtMs !== undefined
      ? { lastDeliveredAtMs: write.lastDeliveredAtMs, lastDeliveredKey: write.lastDeliveredKey ?? '' }
      : {}),
    gaps: write.gaps,
  };
}

/**
 * What the head a later event waits on has become, from its ledger item: still `live` (on the queue, retrying,
 * held, being called, or just claimed by the intake), or ended without its entity learning it (a lost write): the
 * waiting event then ends the head for it. A head whose item is gone, or that the intake claimed more than
 * `maxHoldSeconds` ago and never put on the queue, will not come: it is a gap.
 */
export function headEnd(
  head: (Lifecycle & { readonly updatedAt?: string }) | undefined,
  nowMs: number,
  maxHoldSeconds: number,
): OrderEnd | 'live' {
  if (head === undefined) return { kind: 'dead-lettered' };
  switch (head.status) {
    case 'delivered':
      return { kind: 'delivered', announced: [] };
    case 'permanent':
    case 'exhausted':
      return { kind: 'dead-lettered' };
    case 'superseded':
      return { kind: 'superseded' };
    case 'pending': {
      const since = head.updatedAt ? Date.parse(head.updatedAt) : Number.NaN;
      return Number.isFinite(since) && nowMs - since > maxHoldSeconds * 1000
        ? { kind: 'dead-lettered' }
        : 'live';
    }
    default:
      return 'live';
  }
}

/**
 * Seconds a waiting event stays away before it looks again: until just after the head's next attempt when it
 * waits out a backoff, else a couple of seconds (the head is being called, or about to be), never more than SQS's
 * 900 s delay; a little jitter so that an entity's waiting events do not all come back at once.
 */
export function waitSeconds(
  head: Lifecycle | undefined,
  nowMs: number,
  random: () => number,
  /** When the head's target is held (the gate's view), so a held head is not looked at every two seconds. */
  targetHeldUntilMs = 0,
): number {
  const nextAttemptMs = head?.nextAttemptAt ? Date.parse(head.nextAttemptAt) : Number.NaN;
  const dueMs = Math.max(Number.isFinite(nextAttemptMs) ? nextAttemptMs : 0, targetHeldUntilMs);
  const untilDue = dueMs > nowMs ? (dueMs - nowMs) / 1000 : 0;
  const base = Math.max(2, untilDue + 1);
  return Math.min(900, Math.ceil(base + random() * Math.min(5, base / 4)));
}

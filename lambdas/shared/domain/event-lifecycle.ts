/**
 * The life of one event in the ledger, as an explicit state machine. Pure: it reads a ledger item's lifecycle
 * fields and one SQS copy of the event, and answers what that copy must do, and which conditional write records
 * it. The ledger adapter applies a write only if the item's `version` is still the one read; a copy whose write
 * is refused lost a race to another copy, acknowledges its message and does nothing more.
 *
 * States (docs/architecture.md has the table):
 * - pending:   claimed by the poller or the intake, not yet confirmed on the queue.
 * - enqueued:  on the queue, waiting for a receive (new, or waiting out a retry's backoff).
 * - held:      on the queue as a delayed copy while its target is held back; no budget spent.
 * - claimed:   a receive is calling the target (`claim`: which message, until when, which attempt).
 * - delivered, permanent, exhausted: verdicts, final for a budget. Only a redrive (a copy SQS sent after the
 *   verdict) starts a new budget, and only out of permanent or exhausted.
 * - superseded: on a latestOnly route ordered per entity, a newer event of its entity was delivered first; final,
 *   never sent and never dead-lettered (./entity-order.ts).
 */
import type { AttemptRecord, EventIdentity, EventRecord } from '../ports';

export type LifecycleStatus =
  | 'pending'
  | 'enqueued'
  | 'held'
  | 'claimed'
  | 'delivered'
  | 'permanent'
  | 'exhausted'
  | 'superseded';

/** Statuses a dead letter should have: the ledger decided it. Any other is a dead letter without a verdict. */
export const VERDICTS: readonly LifecycleStatus[] = ['delivered', 'permanent', 'exhausted'];

/** Attempts kept on the item (the newest); older ones are only counted, so an item stays far below 400 KB. */
export const MAX_KEPT_ATTEMPTS = 25;

/** A receive's claim on the event while it calls the target. */
export interface Claim {
  readonly messageId: string;
  /** ISO time after which the claim is abandoned (the receive crashed or timed out) and may be taken over. */
  readonly until: string;
  /** The attempt of the budget this call is; counted even if abandoned, as the target may have been called. */
  readonly attempt: number;
}

/** The lifecycle fields of an event's ledger item. */
export interface Lifecycle {
  readonly status: LifecycleStatus;
  /** Bumped by every transition; 0 on an item the redeliverer never wrote. Every write is conditional on it. */
  readonly version: number;
  /** The budget's generation, from 1; a redrive starts the next. Copies carry it once they have been re-sent. */
  readonly budget: number;
  /** Counted calls to the target in this budget. */
  readonly budgetAttempts: number;
  /** When the event was first held back in this budget (ISO); bounded by MAX_HOLD_SECONDS. */
  readonly heldSince?: string;
  readonly claim?: Claim;
  /** After a retryable failure: the copy waiting out its backoff, and when it is due (ISO). */
  readonly retryOwner?: string;
  readonly nextAttemptAt?: string;
  /** The verdict's time (ISO) and message: that copy goes to the DLQ; copies sent before it are stale. */
  readonly decidedAt?: string;
  readonly decidedForMessageId?: string;
  readonly finalReason?: string;
  readonly deliveredAt?: string;
  /** The newest attempts, at most MAX_KEPT_ATTEMPTS. */
  readonly attempts: readonly AttemptRecord[];
  /** Every attempt ever recorded, over all budgets (`attempts` keeps the newest only). */
  readonly attemptsTotal: number;
  /** Budgets started by a redrive. */
  readonly redrives: number;
  /** Message ids decided on by older code (a set that grew per redrive); read so their copies still fail fast. */
  readonly legacyDecidedMessageIds?: readonly string[];
}

/** What the ledger reads as an item that is not there yet (a replay, or an item past its TTL). */
export const ABSENT: Lifecycle = {
  status: 'enqueued',
  version: 0,
  budget: 1,
  budgetAttempts: 0,
  attempts: [],
  attemptsTotal: 0,
  redrives: 0,
};

/** One SQS copy of the event, as a receive sees it. */
export interface Copy {
  readonly messageId: string;
  /** When SQS accepted this copy (epoch ms, the SentTimestamp attribute); undefined when unknown. */
  readonly sentAtMs?: number | undefined;
  /** The budget this copy was re-sent in (absent on a first copy: budget 1, or whatever the ledger holds). */
  readonly budget?: number | undefined;
  /** The hold clock carried by a re-sent copy, so that a lost ledger write cannot make a hold endless. */
  readonly heldSince?: string | undefined;
}

/** A conditional write: the fields to set and remove, if the item is still at `expectVersion`. */
export interface LifecycleWrite {
  readonly expectVersion: number;
  /**
   * Written on the guess that the item reads as ABSENT, without reading it: applied only if the item is absent
   * or as the poller or the intake left it (pending or enqueued, never written by a transition, nor by the code
   * before versions, which recorded attempts and budgets on items without one). See {@link isUntouched}.
   */
  readonly untouched?: true;
  readonly set: Partial<Omit<Lifecycle, 'legacyDecidedMessageIds'>> & {
    readonly status: LifecycleStatus;
    readonly version: number;
  };
  readonly remove: readonly (keyof Lifecycle)[];
}

/** The budget a receive works in, once it may go on. */
export interface Budget {
  readonly budget: number;
  /** Counted calls already spent in it. */
  readonly spent: number;
  /** The hold clock of this budget: the earlier of the ledger's and the copy's, if either has one. */
  readonly heldSince?: string;
  /** True when this copy starts a new budget (a redrive after a verdict). */
  readonly redrive: boolean;
}

/** What a receive of one copy must do first. */
export type ReceiveDecision =
  /** Delivered already: acknowledge, never send twice. */
  | { readonly kind: 'already-delivered' }
  /** Decided on this very copy: fail fast (visibility 0) until SQS's redrive policy moves it to the DLQ. */
  | { readonly kind: 'fail-fast'; readonly reason?: string }
  /** Another copy owns the event (its claim is live, or it waits out a backoff), or this copy predates a verdict. */
  | { readonly kind: 'superseded'; readonly why: string }
  /** This very message holds a live claim (SQS delivered it twice): hide it until the claim ends. */
  | { readonly kind: 'busy'; readonly retryInSeconds: number }
  /** The budget is spent (the last call was abandoned by a crash): exhausted without another call. */
  | { readonly kind: 'exhaust'; readonly budget: Budget; readonly reason: string }
  /** Go on: hold or call, in this budget. */
  | { readonly kind: 'go'; readonly budget: Budget };

export interface LifecycleLimits {
  readonly maxRetries: number;
}

const isVerdict = (s: LifecycleStatus) => VERDICTS.includes(s);

/** Decides what a receive of `copy` does, given the item as read (ABSENT when there is none). */
export function onReceive(state: Lifecycle, copy: Copy, now: Date, limits: LifecycleLimits): ReceiveDecision {
  const at = now.getTime();
  if (state.status === 'delivered') return { kind: 'already-delivered' };
  if (state.status === 'superseded') {
    return { kind: 'superseded', why: 'a newer event of its entity was delivered (latestOnly)' };
  }
  if (state.status === 'permanent' || state.status === 'exhausted') {
    const decidedHere =
      copy.messageId === state.decidedForMessageId ||
      (state.legacyDecidedMessageIds ?? []).includes(copy.messageId);
    if (decidedHere) {
      return { kind: 'fail-fast', ...(state.finalReason ? { reason: state.finalReason } : {}) };
    }
    // SQS gives a redriven message a new id and a new enqueue time: a copy sent after the verdict came back
    // from the DLQ (or a replay), one sent before it is a stale copy of the decided budget. An unknown send
    // time is taken as a redrive: a few more calls rather than an operator's redrive dropped.
    const decidedAtMs = state.decidedAt ? Date.parse(state.decidedAt) : Number.NaN;
    const sentAfter = copy.sentAtMs === undefined || Number.isNaN(decidedAtMs) || copy.sentAtMs > decidedAtMs;
    if (!sentAfter) return { kind: 'superseded', why: `sent before the ${state.status} verdict` };
    return { kind: 'go', budget: { budget: state.budget + 1, spent: 0, redrive: true } };
  }
  let spent = state.budgetAttempts;
  if (state.status === 'claimed' && state.claim) {
    const untilMs = Date.parse(state.claim.until);
    if (untilMs > at) {
      if (state.claim.messageId === copy.messageId) {
        return { kind: 'busy', retryInSeconds: Math.max(1, Math.ceil((untilMs - at) / 1000)) };
      }
      return { kind: 'superseded', why: `message ${state.claim.messageId} is calling the target` };
    }
    // Abandoned (crash, timeout): the target may have been called, so its attempt counts.
    spent = Math.max(spent, state.claim.attempt);
  }
  if (
    state.status === 'enqueued' &&
    state.retryOwner !== undefined &&
    state.retryOwner !== copy.messageId &&
    state.nextAttemptAt !== undefined &&
    Date.parse(state.nextAttemptAt) > at
  ) {
    return { kind: 'superseded', why: `message ${state.retryOwner} waits out the backoff` };
  }
  const heldSince = earliest(
    state.heldSince,
    copy.budget === undefined || copy.budget === state.budget ? copy.heldSince : undefined,
  );
  const budget: Budget = {
    budget: state.budget,
    spent,
    redrive: false,
    ...(heldSince !== undefined ? { heldSince } : {}),
  };
  if (spent >= limits.maxRetries) {
    return { kind: 'exhaust', budget, reason: `no answer recorded after ${spent} attempts` };
  }
  return { kind: 'go', budget };
}

/** Fields a new budget clears. */
const BUDGET_FIELDS: readonly (keyof Lifecycle)[] = [
  'heldSince',
  'claim',
  'retryOwner',
  'nextAttemptAt',
  'decidedAt',
  'decidedForMessageId',
  'finalReason',
];

function base(state: Lifecycle, b: Budget) {
  return {
    version: state.version + 1,
    budget: b.budget,
    ...(b.redrive ? { redrives: state.redrives + 1 } : {}),
  };
}

/** Holds the event back (its copy is re-sent with a delay). Sets the hold clock on the budget's first hold. */
export function hold(state: Lifecycle, b: Budget, now: Date): LifecycleWrite {
  const heldSince = b.heldSince ?? now.toISOString();
  return {
    expectVersion: state.version,
    set: { ...base(state, b), status: 'held', budgetAttempts: b.spent, heldSince },
    remove: BUDGET_FIELDS.filter((f) => f !== 'heldSince'),
  };
}

/**
 * Waits behind an earlier event of its entity (its copy is re-sent with a delay): no budget spent and no hold
 * clock, as the wait is the earlier event's, bounded by that one's budget and holds. Written only when the item
 * holds something a re-sent copy would trip on (a backoff owned by this copy's predecessor, a hold clock).
 */
export function wait(state: Lifecycle, b: Budget): LifecycleWrite {
  return {
    expectVersion: state.version,
    set: { ...base(state, b), status: 'held', budgetAttempts: b.spent },
    remove: BUDGET_FIELDS,
  };
}

/** True when a waiting copy must first record the wait (see {@link wait}). */
export function waitNeedsWrite(state: Lifecycle, b: Budget): boolean {
  return (
    b.redrive || state.retryOwner !== undefined || state.heldSince !== undefined || state.claim !== undefined
  );
}

/** Ends an event a newer one of its entity made obsolete (latestOnly): final, never sent, never dead-lettered. */
export function supersede(
  state: Lifecycle,
  b: Budget,
  messageId: string,
  attempt: AttemptRecord,
  reason: string,
  now: Date,
): LifecycleWrite {
  const common = { ...base(state, b), ...appendAttempt(state, attempt) };
  return verdictWrite(state, common, b.spent, 'superseded', reason, messageId, now.toISOString(), [
    'claim',
    'retryOwner',
    'nextAttemptAt',
    'heldSince',
  ]);
}

/** Claims the event for one call to the target: other copies then stand down. */
export function claim(
  state: Lifecycle,
  b: Budget,
  messageId: string,
  now: Date,
  claimSeconds: number,
): LifecycleWrite {
  const until = new Date(now.getTime() + claimSeconds * 1000).toISOString();
  return {
    expectVersion: state.version,
    set: {
      ...base(state, b),
      status: 'claimed',
      budgetAttempts: b.spent,
      claim: { messageId, until, attempt: b.spent + 1 },
      ...(b.heldSince !== undefined ? { heldSince: b.heldSince } : {}),
    },
    remove: BUDGET_FIELDS.filter((f) => f !== 'claim' && (f !== 'heldSince' || b.heldSince === undefined)),
  };
}

/** How a claimed call ended, as the redeliverer decided it. */
export type Settlement =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'permanent'; readonly reason: string }
  | { readonly kind: 'exhausted'; readonly reason: string }
  | { readonly kind: 'retry'; readonly nextAttemptAt: string }
  /** An outage probe that found the host still down: the host's failure, refunded, and the event held. */
  | { readonly kind: 'probe-held' };

/** Records the end of a claimed call; `claimed` is the item as the claim left it. */
export function settle(
  claimed: Lifecycle,
  messageId: string,
  attempt: AttemptRecord,
  outcome: Settlement,
  now: Date,
): LifecycleWrite {
  const n = claimed.claim?.attempt ?? claimed.budgetAttempts + 1;
  const at = now.toISOString();
  const attempts = appendAttempt(claimed, attempt);
  const common = { ...attempts, version: claimed.version + 1, budget: claimed.budget };
  const gone: (keyof Lifecycle)[] = ['claim', 'retryOwner', 'nextAttemptAt'];
  switch (outcome.kind) {
    case 'delivered':
      return {
        expectVersion: claimed.version,
        set: { ...common, status: 'delivered', budgetAttempts: n, deliveredAt: at, decidedAt: at },
        remove: gone,
      };
    case 'permanent':
    case 'exhausted':
      return verdictWrite(claimed, common, n, outcome.kind, outcome.reason, messageId, at, gone);
    case 'retry':
      return {
        expectVersion: claimed.version,
        set: {
          ...common,
          status: 'enqueued',
          budgetAttempts: n,
          retryOwner: messageId,
          nextAttemptAt: outcome.nextAttemptAt,
        },
        remove: ['claim'],
      };
    case 'probe-held':
      return {
        expectVersion: claimed.version,
        set: { ...common, status: 'held', budgetAttempts: n - 1, heldSince: claimed.heldSince ?? at },
        remove: gone,
      };
  }
}

/** A verdict without a call: held past MAX_HOLD_SECONDS, or a budget whose last call was abandoned. */
export function exhaustWithoutCall(
  state: Lifecycle,
  b: Budget,
  messageId: string,
  attempt: AttemptRecord,
  reason: string,
  now: Date,
): LifecycleWrite {
  const common = { ...base(state, b), ...appendAttempt(state, attempt) };
  const write = verdictWrite(state, common, b.spent, 'exhausted', reason, messageId, now.toISOString(), [
    'claim',
    'retryOwner',
    'nextAttemptAt',
  ]);
  return b.heldSince !== undefined ? { ...write, set: { ...write.set, heldSince: b.heldSince } } : write;
}

/** Closes a pending claim the queue refused for good (too large, bad characters): permanent, never enqueued. */
export function refuseEnqueue(
  state: Lifecycle,
  attempt: AttemptRecord,
  reason: string,
  now: Date,
): LifecycleWrite {
  const common = { ...appendAttempt(state, attempt), version: state.version + 1, budget: state.budget };
  return verdictWrite(state, common, 0, 'permanent', reason, attempt.messageId, now.toISOString(), []);
}

function verdictWrite(
  state: Lifecycle,
  common: Omit<LifecycleWrite['set'], 'status'>,
  budgetAttempts: number,
  status: 'permanent' | 'exhausted' | 'superseded',
  reason: string,
  messageId: string,
  at: string,
  remove: (keyof Lifecycle)[],
): LifecycleWrite {
  return {
    expectVersion: state.version,
    set: {
      ...common,
      status,
      budgetAttempts,
      finalReason: reason,
      decidedAt: at,
      decidedForMessageId: messageId,
    },
    remove,
  };
}

/** The newest attempts with `attempt` added, and the running total. */
function appendAttempt(state: Lifecycle, attempt: AttemptRecord) {
  return {
    attempts: [...state.attempts, attempt].slice(-MAX_KEPT_ATTEMPTS),
    attemptsTotal: Math.max(state.attemptsTotal, state.attempts.length) + 1,
  };
}

/** The item after `write`: what a ledger that applied it would read back (for fakes and for settle). */
export function applyWrite(state: Lifecycle, write: LifecycleWrite): Lifecycle {
  const next: Record<string, unknown> = { ...state };
  for (const f of write.remove) delete next[f];
  Object.assign(next, write.set);
  return next as unknown as Lifecycle;
}

/**
 * `write` applied to an in-memory item, as the DynamoDB ledger applies it to a stored one: the new item, or
 * 'conflict' when its version is no longer the one the write expects. For in-memory ledgers (bench, tests).
 */
export function transitionRecord(
  current: EventRecord | undefined,
  eventKey: string,
  write: LifecycleWrite,
  identity: EventIdentity,
  at: string,
): EventRecord | 'conflict' {
  if ((current?.version ?? 0) !== write.expectVersion) return 'conflict';
  if (write.untouched && current && !isUntouched(current)) return 'conflict';
  const from: EventRecord = current ?? { ...ABSENT, eventKey, ...identity, updatedAt: at };
  return { ...(applyWrite(from, write) as EventRecord), updatedAt: at };
}

/** True for an item a guess of ABSENT describes: no lifecycle write, no attempt, no budget, no hold clock. */
export function isUntouched(item: Lifecycle): boolean {
  return (
    item.version === 0 &&
    (item.status === 'pending' || item.status === 'enqueued') &&
    item.attempts.length === 0 &&
    item.budgetAttempts === 0 &&
    item.heldSince === undefined
  );
}

function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(b) < Date.parse(a) ? b : a;
}

/** True for the statuses that end a budget. */
export function isFinal(status: LifecycleStatus): boolean {
  return isVerdict(status) || status === 'superseded';
}

import type { EntityState, EntityWrite, PendingEntry } from './domain/entity-order';
import type { Lifecycle, LifecycleStatus, LifecycleWrite } from './domain/event-lifecycle';
import type { RetryMessage } from './domain/retry-message';
import type { TargetState } from './domain/target-hold';

/**
 * The use cases' view of the outside world. Adapters in ./adapters implement these; tests pass fakes.
 */

/** A window of the delivery log: dateCreated in [start, end). */
export interface DeliveryWindow {
  readonly webhookId: string;
  readonly start: Date;
  readonly end: Date;
}

/** One page of a window of the delivery log. */
export interface DeliveryPage {
  /** The page's entries, as raw JSON values (validated by the caller). */
  readonly entries: readonly unknown[];
  /** Pages the whole window holds at this page size, when the platform says; the caller splits big windows by it. */
  readonly pageCount: number | undefined;
  /** True when a later page may hold more entries. */
  readonly hasNext: boolean;
  /**
   * Entries the whole window holds, when the platform says (a page-number listing's `total`). The poller counts
   * with it that pages it read from narrower windows covered a range entirely (page-chain.ts).
   */
  readonly total?: number | undefined;
}

/** Reads the Genesys Cloud webhook delivery log. */
export interface FailedDeliverySource {
  /**
   * Yields the failed entries of the whole window, one page at a time, as raw JSON values (validated by the
   * caller). Handles login, token renewal, paging and 429s; throws GenesysApiError when it cannot read the
   * window to its end, for example when `deadline` (epoch ms) would pass while waiting for a Retry-After, or
   * when the window holds more pages than it will read (split it).
   */
  failedDeliveries(
    window: DeliveryWindow,
    options?: { deadline?: number },
  ): AsyncIterable<readonly unknown[]>;
  /** Reads one page (from 1) of the window's failed entries, with what the platform says about the rest. */
  readPage(
    window: DeliveryWindow,
    pageNumber: number,
    options?: { deadline?: number },
  ): Promise<DeliveryPage>;
  /**
   * How many requests the client-side rate budget still allows from now until `until` (epoch ms), so a poll
   * can size its windows to what it can read. Omitted by sources without a budget (unbounded).
   */
  requestCapacity?(until: number): number;
}

export interface EnqueueFailure {
  readonly eventKey: string;
  readonly reason: string;
  /** True when SQS refused the message itself (too large, bad characters): retrying will not help. */
  readonly permanent: boolean;
}

/** The SQS retry queue. */
export interface RetryQueue {
  /** Sends messages (10 per SendMessageBatch call); resolves with those that were not accepted. */
  enqueue(messages: readonly RetryMessage[]): Promise<readonly EnqueueFailure[]>;
  /** Sets when a received message is next visible: the backoff, or 0 to fail fast. */
  setVisibility(receiptHandle: string, seconds: number): Promise<void>;
  /**
   * Sends a received message's body again, unchanged, visible after `delaySeconds` (at most 900, SQS's limit):
   * how an event is held back without its receive count growing. The caller then acknowledges the original.
   */
  requeue(body: string, delaySeconds: number): Promise<void>;
}

/** One redelivery attempt, as kept in the ledger. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly messageId: string;
  readonly at: string;
  readonly durationMs: number;
  readonly outcome: 'delivered' | 'retryable' | 'permanent';
  readonly status?: number;
  readonly error?: string;
  /** Seconds until the next attempt, for a retryable outcome. */
  readonly nextAttemptInSeconds?: number;
  /**
   * False for a call that probed a host held for an outage and found it still down: the host's failure, not the
   * event's, so it spent none of the event's budget. Absent means it counted.
   */
  readonly counted?: false;
  /** True for a decision taken without calling the target (held back past MAX_HOLD_SECONDS). */
  readonly notCalled?: true;
}

export type EventStatus = LifecycleStatus;

/** What the ledger knows about one event: who it is, and where it is in its lifecycle. */
export interface EventRecord extends Lifecycle {
  readonly eventKey: string;
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly targetUrl: string;
  /** Other Genesys delivery ids (repeated attempts of the same event) folded into this one. */
  readonly duplicateDeliveryIds?: readonly string[];
  readonly updatedAt: string;
}

/** Who an event is, written with its first transition when the item does not exist yet (a replay, a TTL). */
export interface EventIdentity {
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly targetUrl: string;
}

export interface Watermark {
  readonly webhookId: string;
  /** Everything created before this instant has been enqueued or recorded. */
  readonly through: string;
  readonly lastPollAt: string;
  /**
   * When (our clock) the log up to `through` was last read to its end. Entries created within the late-listing
   * allowance before this instant may not have been listed yet, so the next poll re-reads from
   * `min(through, readAt − overlap)`. Absent on watermarks written before it existed: taken as `through`.
   */
  readonly readAt?: string;
}

/** How a claim is best made; it never changes the answer, only what it costs. */
export interface ClaimOptions {
  /**
   * The event is most likely unknown to the ledger (the poller: an entry dated after the watermark, which no
   * completed poll has listed; the intake: an event EventBridge just delivered). The claim is then written at
   * once, without first reading whether the event is known: that read pays only for the entries listed again.
   */
  readonly likelyNew?: boolean;
}

/** The DynamoDB ledger: dedupe, per-event history, per-webhook watermark. */
export interface Ledger {
  /**
   * Claims an event for enqueueing with a conditional write. Resolves 'new' when this caller must enqueue it
   * (never seen, or claimed earlier but never confirmed enqueued), 'duplicate' when it was already enqueued.
   * A duplicate's delivery id is remembered on the event.
   */
  claim(message: RetryMessage, options?: ClaimOptions): Promise<'new' | 'duplicate'>;
  /** Confirms that claimed events are on the queue. */
  markEnqueued(eventKeys: readonly string[]): Promise<void>;
  /**
   * Records a log entry that could not become a retry message, with its reason. Resolves 'duplicate' when the
   * entry was recorded before (overlapping polls list it again), so it is counted once.
   */
  recordInvalid(entry: {
    webhookId: string;
    deliveryId: string;
    reason: string;
    raw: string;
  }): Promise<'new' | 'duplicate'>;
  getWatermark(webhookId: string): Promise<Watermark | undefined>;
  /** Moves the watermark; only ever forward. */
  setWatermark(watermark: Watermark): Promise<void>;
  getEvent(eventKey: string): Promise<EventRecord | undefined>;
  /**
   * Applies one lifecycle transition (lambdas/shared/domain/event-lifecycle.ts) as a conditional write:
   * applied, or a conflict when the item's version is no longer the one the write expects (another copy of
   * the event moved it first). A conflict hands back the item as it is, so the caller can decide on it without
   * reading it again.
   */
  transition(eventKey: string, write: LifecycleWrite, identity: EventIdentity): Promise<TransitionResult>;
}

/** How a ledger transition ended. */
export type TransitionResult =
  | { readonly result: 'applied' }
  /** Refused: `current` is the item as it was when it refused the write (undefined: there is none). */
  | { readonly result: 'conflict'; readonly current: EventRecord | undefined };

export interface SendResult {
  readonly status: number;
  readonly retryAfter?: string;
  readonly durationMs: number;
}

/** Sends one HTTP request to a webhook target. */
export interface WebhookSender {
  /**
   * POSTs `body` to `url`. Resolves with the response status (any status, redirects not followed); rejects with
   * RetryableDeliveryError on connection errors and timeouts, PermanentDeliveryError when the target is refused.
   */
  send(request: {
    url: string;
    headers: Readonly<Record<string, string>>;
    body: string;
    /** Which target's key signs the request (`route:<name>` or `webhook:<id>`); read only by a signing sender. */
    signingTarget?: string;
  }): Promise<SendResult>;
}

/** Where the target gate keeps its holds: shared by every instance (the ledger table in AWS). */
export interface TargetStateStore {
  /** Reads the targets' states, strongly consistent; a target never written is absent from the map. */
  read(targets: readonly string[]): Promise<ReadonlyMap<string, TargetState>>;
  /**
   * Writes `next` if the stored state still has version `expectedVersion` (undefined: none stored). Resolves false
   * when another instance wrote first; the caller reads again and decides again.
   */
  write(next: TargetState, expectedVersion: number | undefined): Promise<boolean>;
}

/**
 * A time-limited claim that one poll holds while it runs, so that overlapping polls (a late schedule tick, a
 * Lambda retry) do not read and enqueue the same window twice, even with no concurrency reserved.
 */
export interface PollLease {
  /**
   * Takes the lease until `until` when it is free, expired, or already `holder`'s (a retried invocation keeps its
   * request id). Resolves false, without waiting, when another holder has it.
   */
  acquire(holder: string, until: Date): Promise<boolean>;
  /** Gives the lease back, if `holder` still has it; a lease taken over after its expiry is left alone. */
  release(holder: string): Promise<void>;
}

/** Which entity of which ordered route: the route's name and the value of the topic's first placeholder. */
export interface EntityRef {
  readonly route: string;
  readonly entity: string;
}

/** Where the entities of routes ordered per entity keep their pending events (the ledger table in AWS). */
export interface EntityOrderStore {
  /**
   * Adds a pending event to its entity (idempotent: a second registration keeps the first arrival). Never
   * conflicts; the intake calls it before the event is put on the queue.
   */
  register(ref: EntityRef, eventKey: string, entry: PendingEntry): Promise<void>;
  /** Reads the entity, strongly consistent; NO_ENTITY when it has no item. */
  read(ref: EntityRef): Promise<EntityState>;
  /** Applies `write` if the item's version is still the one it expects; false when another write came first. */
  write(ref: EntityRef, write: EntityWrite): Promise<boolean>;
}

/**
 * The redeliverer's types: what one SQS record brings in (RedeliveryInput), what the use case needs
 * (RedeliverDeps, RedeliveryLogger), what it answers (RedeliveryOutcome), and the values its steps hand each other
 * (Attempted, Base, Current). The public ones are re-exported from ./redeliver.
 */
import type { Outcome } from '../shared/domain/classify';
import type { EntityState } from '../shared/domain/entity-order';
import type { Budget, Lifecycle } from '../shared/domain/event-lifecycle';
import type { ExpectedOrigin } from '../shared/domain/event-origin';
import type { RetryMessage } from '../shared/domain/retry-message';
import type { TargetPolicy } from '../shared/domain/target';
import type { EntityOrderStore, EntityRef, Ledger, RetryQueue, WebhookSender } from '../shared/ports';
import type { PipelineSettings } from '../shared/settings';
import type { TargetGate, TargetSignal } from './target-gate';

/** The parts of an SQS record the use case reads; an `SQSRecord` fits as is. */
export interface RedeliveryInput {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: {
    readonly ApproximateReceiveCount: string;
    /** When SQS accepted this copy (epoch ms); tells a redrive (sent after a verdict) from a stale copy. */
    readonly SentTimestamp?: string;
  };
}

/** The log calls the use case makes; Powertools' Logger fits as is. */
export interface RedeliveryLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface RedeliverDeps {
  readonly sender: WebhookSender;
  readonly queue: RetryQueue;
  readonly ledger: Ledger;
  readonly settings: Pick<
    PipelineSettings,
    | 'MAX_RETRIES'
    | 'RETRY_DELAY_SECONDS'
    | 'MAX_RETRY_DELAY_SECONDS'
    | 'DELIVERY_TIMEOUT_SECONDS'
    | 'MAX_HOLD_SECONDS'
    | 'FORWARD_CREDENTIAL_HEADERS'
    | keyof TargetPolicy
  >;
  /** The partner source and account EventBridge events on the queue must name; others are refused. @default - any */
  readonly origin?: ExpectedOrigin;
  /** Holds back targets that signalled they cannot take more; one per warm instance, shared by its records. */
  readonly gate: TargetGate;
  /** A number in [0, 1) for the backoff's jitter. */
  readonly random: () => number;
  readonly now: () => Date;
  readonly logger: RedeliveryLogger;
  /** The entities of routes ordered per entity (the ledger table in AWS); required once such a route exists. */
  readonly orders?: EntityOrderStore;
}

/** What happened to one retry message. */
export interface RedeliveryOutcome {
  readonly messageId: string;
  readonly eventKey?: string;
  readonly deliveryId?: string;
  readonly webhookId?: string;
  /** The target's id (origin and a hash of its path: see targetId), never its URL, which may hold a token. */
  readonly target?: string;
  /**
   * Which attempt of the event's retry budget this was, from 1: real calls to the target only (a held event
   * or a probe of a host that is still down spends none).
   */
  readonly attempt: number;
  readonly result:
    | 'delivered'
    | 'retry-scheduled'
    | 'exhausted'
    | 'permanent'
    | 'already-delivered'
    | 'failed-fast'
    | 'held'
    | 'superseded'
    | 'busy'
    | 'not-sent'
    | 'invalid-message'
    /** Ordered per entity: an earlier event of its entity is pending, so this one was sent again for later. */
    | 'waiting'
    /** latestOnly: a newer event of its entity was delivered first; recorded as superseded, never sent. */
    | 'outdated'
    /** An EventBridge event no route takes (the catch-all rule): recorded in the ledger, acknowledged. */
    | 'unmatched'
    /** An EventBridge event not of Genesys's shape, or of another source or account: recorded, acknowledged. */
    | 'refused-event'
    /** One of those two again (EventBridge delivered it twice): recorded already, acknowledged. */
    | 'already-recorded';
  /**
   * Set when an EventBridge event a rule queued stands down for another SQS message of the same content (a repeat
   * Genesys sent under a new id): counted as a duplicate.
   */
  readonly repeat?: true;
  /** True when the message is done with and must be deleted; false when it must be reported failed. */
  readonly acknowledged: boolean;
  readonly targetCalled: boolean;
  readonly status?: number;
  /** The failure, or why a decision was taken; never contains a header value. */
  readonly error?: string;
  readonly nextAttemptInSeconds?: number;
  /** For a held event: what holds it back, and for how long it has been held in this budget. */
  readonly hold?: { readonly key: string; readonly heldForSeconds: number };
  /** How long the HTTP attempt took; 0 when the target was not called. */
  readonly durationMs: number;
}

/** One try at the target (or the refusal to try), before deciding what it means for the message. */
export interface Attempted {
  readonly outcome: Outcome;
  readonly targetCalled: boolean;
  readonly durationMs: number;
  readonly status?: number;
  readonly error?: string;
  readonly retryAfterSeconds?: number | undefined;
  /** What the call told us about the target, for the gate; absent when it was not called. */
  readonly signal?: TargetSignal;
  /** Set when nothing was sent, for a reason of ours (the signing key could not be read). */
  readonly notSent?: { readonly retryAfterSeconds: number };
}

export type Base = Omit<RedeliveryOutcome, 'result' | 'acknowledged' | 'targetCalled' | 'durationMs'>;

/** The event as this receive knows it: its message, the ledger item as last read or written, its budget. */
export interface Current {
  readonly input: RedeliveryInput;
  readonly message: RetryMessage;
  readonly state: Lifecycle;
  readonly budget: Budget;
  readonly base: Base;
  /** Set on an ordered event that is its entity's head: what the entity was, and the headers it adds. */
  readonly order?: OrderContext;
}

/** An ordered event on its way out: its entity as read, and what the target must be told. */
export interface OrderContext {
  readonly ref: EntityRef;
  /** The event's Genesys time (epoch ms). */
  readonly atMs: number;
  readonly entity: EntityState;
  readonly headers: Readonly<Record<string, string>>;
  /** The gaps the headers announce, cleared once it is delivered. */
  readonly announced: readonly string[];
}

import { ABSENT, type LifecycleWrite, transitionRecord } from '../../lambdas/shared/domain/event-lifecycle';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import type { TargetState } from '../../lambdas/shared/domain/target-hold';
import type {
  EnqueueFailure,
  EventIdentity,
  EventRecord,
  Ledger,
  PollLease,
  RetryQueue,
  TargetStateStore,
  TransitionResult,
  Watermark,
} from '../../lambdas/shared/ports';

/**
 * An in-memory ledger: the benchmarks that measure the handlers' own overhead (HTTP, batch processing, logging)
 * use it so that an emulated DynamoDB's speed does not stand in for the real one's.
 */
export class MemoryLedger implements Ledger {
  readonly events = new Map<string, EventRecord>();
  readonly watermarks = new Map<string, Watermark>();
  readonly invalid = new Set<string>();

  async claim(message: RetryMessage): Promise<'new' | 'duplicate'> {
    const known = this.events.get(message.eventKey);
    if (known && known.status !== 'pending') return 'duplicate';
    this.events.set(message.eventKey, {
      ...ABSENT,
      status: 'pending',
      eventKey: message.eventKey,
      deliveryId: message.deliveryId,
      webhookId: message.webhookId,
      targetUrl: message.targetUrl,
      updatedAt: message.enqueuedAt,
    });
    return 'new';
  }

  async markEnqueued(eventKeys: readonly string[]): Promise<void> {
    for (const key of eventKeys) {
      const event = this.events.get(key);
      if (event?.status === 'pending') this.events.set(key, { ...event, status: 'enqueued' });
    }
  }

  async recordInvalid(entry: { webhookId: string; deliveryId: string }): Promise<'new' | 'duplicate'> {
    const key = `${entry.webhookId}#${entry.deliveryId}`;
    if (this.invalid.has(key)) return 'duplicate';
    this.invalid.add(key);
    return 'new';
  }

  async getWatermark(webhookId: string): Promise<Watermark | undefined> {
    return this.watermarks.get(webhookId);
  }

  async setWatermark(watermark: Watermark): Promise<void> {
    const current = this.watermarks.get(watermark.webhookId);
    if (!current || current.through <= watermark.through) this.watermarks.set(watermark.webhookId, watermark);
  }

  async getEvent(eventKey: string): Promise<EventRecord | undefined> {
    return this.events.get(eventKey);
  }

  async transition(
    eventKey: string,
    write: LifecycleWrite,
    identity: EventIdentity,
  ): Promise<TransitionResult> {
    const current = this.events.get(eventKey);
    const next = transitionRecord(current, eventKey, write, identity, new Date().toISOString());
    if (next === 'conflict') return { result: 'conflict', current };
    this.events.set(eventKey, next);
    return { result: 'applied' };
  }
}

/** An in-memory retry queue that accepts everything and counts what it was asked to do. */
export class MemoryRetryQueue implements RetryQueue {
  readonly sent: RetryMessage[] = [];
  visibilityChanges = 0;

  async enqueue(messages: readonly RetryMessage[]): Promise<readonly EnqueueFailure[]> {
    this.sent.push(...messages);
    return [];
  }

  async setVisibility(): Promise<void> {
    this.visibilityChanges += 1;
  }

  requeued = 0;
  async requeue(): Promise<void> {
    this.requeued += 1;
  }
}

/**
 * The target gate's shared state in memory, with the DynamoDB adapter's conditional-write semantics: gates given
 * one instance share it as redeliverer instances share the ledger table.
 */
export class MemoryTargetStateStore implements TargetStateStore {
  readonly states = new Map<string, TargetState>();
  reads = 0;
  writes = 0;

  async read(targets: readonly string[]): Promise<ReadonlyMap<string, TargetState>> {
    this.reads += 1;
    const out = new Map<string, TargetState>();
    for (const t of targets) {
      const s = this.states.get(t);
      if (s) out.set(t, s);
    }
    return out;
  }

  async write(next: TargetState, expectedVersion: number | undefined): Promise<boolean> {
    this.writes += 1;
    if (this.states.get(next.target)?.version !== expectedVersion) return false;
    this.states.set(next.target, next);
    return true;
  }
}

/** The poll lease in memory: one holder until its time runs out, as DynamoDbPollLease's conditional writes. */
export class MemoryPollLease implements PollLease {
  holder: string | undefined;
  until = 0;
  constructor(private readonly now: () => number = Date.now) {}
  async acquire(holder: string, until: Date): Promise<boolean> {
    if (this.holder !== undefined && this.holder !== holder && this.until > this.now()) return false;
    this.holder = holder;
    this.until = until.getTime();
    return true;
  }
  async release(holder: string): Promise<void> {
    if (this.holder === holder) this.until = this.now();
  }
}

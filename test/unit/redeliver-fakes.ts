import { MemoryTargetStateStore } from '../../bench/support/memory-ports';
import type { RedeliverDeps, RedeliveryInput } from '../../lambdas/redeliverer/redeliver';
import { TargetGate } from '../../lambdas/redeliverer/target-gate';
import { eventKey } from '../../lambdas/shared/domain/event-key';
import {
  ABSENT,
  type Lifecycle,
  type LifecycleWrite,
  transitionRecord,
} from '../../lambdas/shared/domain/event-lifecycle';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import type {
  AttemptRecord,
  EnqueueFailure,
  EventIdentity,
  EventRecord,
  EventStatus,
  Ledger,
  RetryQueue,
  SendResult,
  TransitionResult,
  Watermark,
  WebhookSender,
} from '../../lambdas/shared/ports';

/** Fakes for the redeliverer's ports, shared by the unit and handler tests. */

export function retryMessage(overrides: Partial<RetryMessage> = {}): RetryMessage {
  const targetUrl = overrides.targetUrl ?? 'https://hooks.example.com/genesys?token=abc';
  const body = overrides.body ?? '{"eventBody":{"id":"c-1"}}';
  return {
    v: 1,
    eventKey: eventKey('wh-1', targetUrl, body),
    deliveryId: 'd-1',
    webhookId: 'wh-1',
    targetUrl,
    headers: { 'X-Genesys-Signature': 'sig-secret-value' },
    body,
    contentType: 'application/json',
    originalStatus: 503,
    failedAt: '2026-11-28T12:00:00.000Z',
    enqueuedAt: '2026-11-28T12:05:00.000Z',
    strippedHeaders: [],
    ...overrides,
  };
}

/** An SQS record; `sentAt` is its SentTimestamp (default: an hour before NOW, before any seeded verdict). */
export function sqsInput(
  message: unknown,
  receiveCount = 1,
  messageId = 'm-1',
  sentAt: Date = new Date('2026-11-28T12:00:00.000Z'),
): RedeliveryInput {
  return {
    messageId,
    receiptHandle: `rh-${messageId}-${receiveCount}`,
    body: typeof message === 'string' ? message : JSON.stringify(message),
    attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: String(sentAt.getTime()) },
  };
}

export class FakeLedger implements Ledger {
  readonly events = new Map<string, EventRecord>();
  /** Every write applied, in order. */
  readonly writes: { eventKey: string; write: LifecycleWrite }[] = [];
  /** The applied writes that recorded an attempt: how each call (or decision without one) ended. */
  readonly attempts: {
    eventKey: string;
    attempt: AttemptRecord;
    status: EventStatus;
    finalReason?: string;
  }[] = [];
  /** The applied writes that held the event back. */
  readonly holds: { eventKey: string; heldSince: string; budget: number }[] = [];
  readonly invalid: { webhookId: string; deliveryId: string; reason: string; raw: string }[] = [];
  failGetEvent: ((eventKey: string) => boolean) | undefined;
  /** Fails the writes that end a call or hold an event (not the claim): a throttled ledger write. */
  failRecordAttempt = false;
  /** Fails every transition: a ledger that cannot be written at all. */
  failTransitions = false;

  seed(
    eventKey: string,
    status: EventStatus,
    decidedForMessageId?: string,
    finalReason?: string,
    extra: Partial<Lifecycle> = {},
  ): void {
    this.events.set(eventKey, {
      ...ABSENT,
      version: 1,
      ...extra,
      eventKey,
      deliveryId: 'd-1',
      webhookId: 'wh-1',
      targetUrl: 'https://hooks.example.com/genesys',
      status,
      ...(decidedForMessageId !== undefined
        ? { decidedForMessageId, decidedAt: extra.decidedAt ?? '2026-11-28T12:30:00.000Z' }
        : {}),
      ...(finalReason !== undefined ? { finalReason } : {}),
      updatedAt: '2026-11-28T12:05:00.000Z',
    });
  }
  async getEvent(eventKey: string): Promise<EventRecord | undefined> {
    if (this.failGetEvent?.(eventKey)) throw new Error('ledger unavailable');
    return this.events.get(eventKey);
  }
  async transition(
    eventKey: string,
    write: LifecycleWrite,
    identity: EventIdentity,
  ): Promise<TransitionResult> {
    if (this.failTransitions) throw new Error('ledger write throttled');
    if (this.failRecordAttempt && write.set.status !== 'claimed') throw new Error('ledger write throttled');
    const before = this.events.get(eventKey);
    const next = transitionRecord(before, eventKey, write, identity, '2026-11-28T13:00:00.000Z');
    if (next === 'conflict') return { result: 'conflict', current: before };
    this.events.set(eventKey, next);
    this.writes.push({ eventKey, write });
    const added = write.set.attempts?.at(-1);
    if (added && next.attemptsTotal > (before?.attemptsTotal ?? 0)) {
      this.attempts.push({
        eventKey,
        attempt: added,
        status: next.status,
        ...(write.set.finalReason !== undefined ? { finalReason: write.set.finalReason } : {}),
      });
    }
    if (write.set.status === 'held') {
      this.holds.push({ eventKey, heldSince: next.heldSince ?? '', budget: next.budget });
    }
    return { result: 'applied' };
  }
  async recordInvalid(entry: { webhookId: string; deliveryId: string; reason: string; raw: string }) {
    const seen = this.invalid.some(
      (e) => e.webhookId === entry.webhookId && e.deliveryId === entry.deliveryId,
    );
    this.invalid.push(entry);
    return seen ? ('duplicate' as const) : ('new' as const);
  }
  async claim(): Promise<'new' | 'duplicate'> {
    throw new Error('not used by the redeliverer');
  }
  async markEnqueued(): Promise<void> {
    throw new Error('not used by the redeliverer');
  }
  async getWatermark(): Promise<Watermark | undefined> {
    throw new Error('not used by the redeliverer');
  }
  async setWatermark(): Promise<void> {
    throw new Error('not used by the redeliverer');
  }
}

export class FakeQueue implements RetryQueue {
  readonly visibility: { receiptHandle: string; seconds: number }[] = [];
  readonly requeued: { body: string; delaySeconds: number }[] = [];
  failSetVisibility = false;
  failRequeue = false;
  async requeue(body: string, delaySeconds: number): Promise<void> {
    if (this.failRequeue) throw new Error('SQS unavailable');
    this.requeued.push({ body, delaySeconds });
  }
  async enqueue(): Promise<readonly EnqueueFailure[]> {
    throw new Error('not used by the redeliverer');
  }
  async setVisibility(receiptHandle: string, seconds: number): Promise<void> {
    if (this.failSetVisibility) throw new Error('SQS unavailable');
    this.visibility.push({ receiptHandle, seconds });
  }
}

type Answer = SendResult | Error;

export class FakeSender implements WebhookSender {
  readonly requests: { url: string; headers: Readonly<Record<string, string>>; body: string }[] = [];
  constructor(
    private readonly answer: Answer | ((url: string) => Answer) = { status: 200, durationMs: 12 },
  ) {}
  async send(request: { url: string; headers: Readonly<Record<string, string>>; body: string }) {
    this.requests.push(request);
    const a = typeof this.answer === 'function' ? this.answer(request.url) : this.answer;
    if (a instanceof Error) throw a;
    return a;
  }
}

export class FakeLogger {
  readonly lines: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
  info(message: string, attributes: Record<string, unknown>) {
    this.lines.push({ level: 'info', message, attributes });
  }
  warn(message: string, attributes: Record<string, unknown>) {
    this.lines.push({ level: 'warn', message, attributes });
  }
  error(message: string, attributes: Record<string, unknown>) {
    this.lines.push({ level: 'error', message, attributes });
  }
}

export const NOW = new Date('2026-11-28T13:00:00.000Z');

export function fakeDeps(sender: WebhookSender = new FakeSender()) {
  /** Move `clock.now` (epoch ms) to let time pass for the gate and the use case alike. */
  const clock = { now: NOW.getTime() };
  const ledger = new FakeLedger();
  const queue = new FakeQueue();
  const logger = new FakeLogger();
  const targetStates = new MemoryTargetStateStore();
  const deps: RedeliverDeps = {
    sender,
    queue,
    ledger,
    logger,
    settings: {
      MAX_RETRIES: 3,
      FORWARD_CREDENTIAL_HEADERS: false,
      RETRY_DELAY_SECONDS: 5,
      MAX_RETRY_DELAY_SECONDS: 3_600,
      TARGET_ALLOWED_HOSTS: [],
      DELIVERY_TIMEOUT_SECONDS: 10,
      MAX_HOLD_SECONDS: 86_400,
      TARGET_ALLOW_LOOPBACK: false,
      TARGET_ALLOW_PRIVATE: false,
    },
    gate: new TargetGate({
      store: targetStates,
      timeoutSeconds: 10,
      baseSeconds: 5,
      capSeconds: 3_600,
      now: () => clock.now,
    }),
    random: () => 0.5,
    now: () => new Date(clock.now),
  };
  return { deps, ledger, queue, logger, clock, targetStates };
}

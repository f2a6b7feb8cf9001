import type { RetryMessage } from '../shared/domain/retry-message';
import type { Ledger } from '../shared/ports';

/**
 * Delivery-log entries one poller instance kept in memory across its warm invocations. Sized for several
 * overlap windows of a busy webhook (an entry is about 250 bytes, so about 5 MB).
 */
export const DEFAULT_SETTLED_CLAIMS = 20_000;

/**
 * A bounded set of keys, least recently used out first: what one poller instance has seen settled in the ledger.
 * It only ever saves a call: a key that is missing (never seen, evicted, another instance's) is asked of the
 * ledger, as without it.
 */
export class SettledClaims {
  readonly #keys = new Set<string>();

  constructor(readonly capacity: number = DEFAULT_SETTLED_CLAIMS) {}

  get size(): number {
    return this.#keys.size;
  }

  /** True when the key was added and not evicted since; a hit counts as a use. */
  has(key: string): boolean {
    if (!this.#keys.delete(key)) return false;
    this.#keys.add(key);
    return true;
  }

  add(key: string): void {
    if (this.capacity <= 0) return;
    this.#keys.delete(key);
    this.#keys.add(key);
    while (this.#keys.size > this.capacity) {
      const oldest = this.#keys.values().next().value;
      if (oldest === undefined) break;
      this.#keys.delete(oldest);
    }
  }
}

/** One delivery-log entry: a repeated attempt of an event (another delivery id) is asked of the ledger once. */
const entryKey = (m: RetryMessage) => `${m.eventKey}\n${m.deliveryId}`;

/**
 * The ledger as the poller uses it, with a memory of claims already settled: an entry the overlap lists again
 * is answered 'duplicate' without a GetItem, when this instance saw the ledger answer 'duplicate' for it (the
 * event was past pending, which it never leaves again) or itself confirmed it enqueued. A claim taken but not
 * confirmed (the send failed, or the confirmation) is not remembered, so the next poll asks the ledger and takes
 * it again. Memory is only a cache: the conditional write stays the only claim, so another instance, or this one
 * after an eviction or a cold start, is answered by the ledger as before.
 */
export function withSettledClaims(ledger: Ledger, settled: SettledClaims): Ledger {
  // Claims answered 'new', by event, until confirmed: the entry's key is remembered only once it is enqueued.
  const unconfirmed = new Map<string, string>();
  return {
    async claim(message, options) {
      const key = entryKey(message);
      if (settled.has(key)) return 'duplicate';
      const answer = await ledger.claim(message, options);
      if (answer === 'duplicate') settled.add(key);
      else {
        unconfirmed.delete(message.eventKey);
        unconfirmed.set(message.eventKey, key);
        // Bounded too: claims whose send failed are never confirmed; the next poll claims them again anyway.
        while (unconfirmed.size > Math.max(1, settled.capacity)) {
          const oldest = unconfirmed.keys().next().value;
          if (oldest === undefined) break;
          unconfirmed.delete(oldest);
        }
      }
      return answer;
    },
    async markEnqueued(eventKeys) {
      await ledger.markEnqueued(eventKeys);
      // Only after every confirmation landed: a failed one leaves its claim pending, to be taken again.
      for (const eventKey of eventKeys) {
        const key = unconfirmed.get(eventKey);
        if (key === undefined) continue;
        unconfirmed.delete(eventKey);
        settled.add(key);
      }
    },
    recordInvalid: (entry) => ledger.recordInvalid(entry),
    getWatermark: (webhookId) => ledger.getWatermark(webhookId),
    setWatermark: (watermark) => ledger.setWatermark(watermark),
    getEvent: (eventKey) => ledger.getEvent(eventKey),
    transition: (eventKey, write, identity) => ledger.transition(eventKey, write, identity),
  };
}

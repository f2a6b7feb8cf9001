import { RetryableDeliveryError } from '../errors';
import type { SendResult, WebhookSender } from '../ports';

export interface OriginCircuitBreakerOptions {
  /** The sender that really calls the targets. */
  readonly sender: WebhookSender;
  /** The sender's timeout: a failure that took most of it is a stall. */
  readonly timeoutSeconds: number;
  /** Stalls in a row that open an origin's circuit. @default 2 */
  readonly stallsToOpen?: number;
  /** How long a circuit first stays open; it doubles each time a probe stalls again. @default 3 × timeout */
  readonly openSeconds?: number;
  /** The longest a circuit stays open. @default 300 */
  readonly maxOpenSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface OriginState {
  stalls: number;
  /** Until when calls fail at once; 0 while closed. */
  openUntil: number;
  /** How long the circuit opens next time. */
  openMs: number;
  /** A probe is in flight (half-open): the other calls still fail at once. */
  probing: boolean;
}

/**
 * Keeps one dead endpoint from stalling every batch. A Lambda invocation lasts as long as its slowest record, so
 * records to an endpoint that accepts connections and never answers hold their whole batch for the delivery
 * timeout. After `stallsToOpen` stalls in a row, further records to that origin fail at once as retryable, with a
 * Retry-After of the time the circuit stays open (so their backoff waits it out). Then one call probes the origin
 * while the others keep failing fast: an answer closes the circuit, another stall opens it for twice as long.
 * State lives per warm instance, which is what a Lambda can keep.
 */
export class OriginCircuitBreaker implements WebhookSender {
  readonly #options: OriginCircuitBreakerOptions;
  readonly #origins = new Map<string, OriginState>();
  readonly #stallMs: number;
  readonly #firstOpenMs: number;
  readonly #maxOpenMs: number;
  readonly #stallsToOpen: number;
  readonly #now: () => number;

  constructor(options: OriginCircuitBreakerOptions) {
    this.#options = options;
    this.#stallMs = options.timeoutSeconds * 1000 * 0.8;
    this.#maxOpenMs = (options.maxOpenSeconds ?? 300) * 1000;
    this.#firstOpenMs = Math.min(this.#maxOpenMs, (options.openSeconds ?? 3 * options.timeoutSeconds) * 1000);
    this.#stallsToOpen = options.stallsToOpen ?? 2;
    this.#now = options.now ?? Date.now;
  }

  async send(request: {
    url: string;
    headers: Readonly<Record<string, string>>;
    body: string;
  }): Promise<SendResult> {
    const origin = originOf(request.url);
    const state = this.#origins.get(origin);
    const now = this.#now();
    const halfOpen = state !== undefined && state.openUntil > 0;
    if (state && (state.openUntil > now || (halfOpen && state.probing))) {
      const seconds = Math.max(1, Math.ceil((state.openUntil - now) / 1000), Math.ceil(this.#stallMs / 1000));
      throw new RetryableDeliveryError(
        `not calling ${origin}: it stalled for the whole timeout ${state.stalls} times in a row; trying again in ${seconds} s`,
        seconds,
      );
    }
    if (state && halfOpen) state.probing = true;
    const started = this.#now();
    try {
      const result = await this.#options.sender.send(request);
      this.#origins.delete(origin);
      return result;
    } catch (error) {
      const stalled = error instanceof RetryableDeliveryError && this.#now() - started >= this.#stallMs;
      if (stalled) this.#recordStall(origin);
      else if (state && halfOpen) this.#origins.delete(origin); // it answered fast, if with an error: not a stall
      throw error;
    }
  }

  #recordStall(origin: string): void {
    const state = this.#origins.get(origin) ?? {
      stalls: 0,
      openUntil: 0,
      openMs: this.#firstOpenMs,
      probing: false,
    };
    state.stalls += 1;
    if (state.probing) {
      state.openMs = Math.min(this.#maxOpenMs, state.openMs * 2);
      state.openUntil = this.#now() + state.openMs;
      state.probing = false;
    } else if (state.stalls >= this.#stallsToOpen && state.openUntil <= this.#now()) {
      state.openUntil = this.#now() + state.openMs;
    }
    this.#origins.set(origin, state);
  }

  /** Closes the wrapped sender's connections, if it has any. */
  async close(): Promise<void> {
    const inner = this.#options.sender as WebhookSender & { close?: () => Promise<void> };
    await inner.close?.();
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

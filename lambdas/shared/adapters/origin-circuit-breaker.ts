import { RetryableDeliveryError } from '../errors';
import type { SendResult, WebhookSender } from '../ports';

export interface OriginCircuitBreakerOptions {
  /** The sender that really calls the targets. */
  readonly sender: WebhookSender;
  /** The sender's timeout: a failure that took most of it is a stall. */
  readonly timeoutSeconds: number;
  /** Stalls in a row that open an origin's circuit. @default 2 */
  readonly stallsToOpen?: number;
  /** How long an open circuit stays open. @default 3 × timeout */
  readonly openSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface OriginState {
  stalls: number;
  openUntil: number;
}

/**
 * Keeps one dead endpoint from stalling every batch. A Lambda invocation lasts as long as its slowest record, so
 * records to an endpoint that accepts connections and never answers hold their whole batch for the delivery
 * timeout. After `stallsToOpen` such stalls in a row, further records to that origin fail at once as retryable,
 * with a Retry-After of the time the circuit stays open (so their backoff waits it out), until a call after that
 * time succeeds or gets any HTTP answer. State lives per warm instance, which is what a Lambda can keep.
 */
export class OriginCircuitBreaker implements WebhookSender {
  readonly #options: OriginCircuitBreakerOptions;
  readonly #origins = new Map<string, OriginState>();
  readonly #stallMs: number;
  readonly #openMs: number;
  readonly #stallsToOpen: number;
  readonly #now: () => number;

  constructor(options: OriginCircuitBreakerOptions) {
    this.#options = options;
    this.#stallMs = options.timeoutSeconds * 1000 * 0.8;
    this.#openMs = (options.openSeconds ?? 3 * options.timeoutSeconds) * 1000;
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
    if (state && state.openUntil > now) {
      const seconds = Math.ceil((state.openUntil - now) / 1000);
      throw new RetryableDeliveryError(
        `not calling ${origin}: it stalled for the whole timeout ${state.stalls} times in a row; trying again in ${seconds} s`,
        seconds,
      );
    }
    const started = this.#now();
    try {
      const result = await this.#options.sender.send(request);
      this.#origins.delete(origin);
      return result;
    } catch (error) {
      if (error instanceof RetryableDeliveryError && this.#now() - started >= this.#stallMs) {
        const next = this.#origins.get(origin) ?? { stalls: 0, openUntil: 0 };
        next.stalls += 1;
        if (next.stalls >= this.#stallsToOpen) next.openUntil = this.#now() + this.#openMs;
        this.#origins.set(origin, next);
      }
      throw error;
    }
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

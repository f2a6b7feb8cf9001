import { GenesysApiError } from '../errors';
import { describeGenesysFailure, type GenesysFailure, genesysError } from './genesys-failure';
import { SlidingWindowLimiter } from './sliding-window-limiter';

const TRANSIENT = new Set([500, 502, 503, 504]);
const MAX_TRANSIENT_RETRIES = 3;
const FIRST_BACKOFF_MS = 500;
/** A server that keeps answering 429 with short Retry-Afters must not hold the poller forever. */
const MAX_THROTTLED_RETRIES = 10;
const DEFAULT_RETRY_AFTER_SECONDS = 60;
/**
 * Requests left unspent of the server's own count (inin-ratelimit-*) before we wait for its reset: its count
 * covers requests of other clients on the same token and arrivals our own window has not seen yet.
 */
const SERVER_BUDGET_MARGIN = 10;

/** A failure that retrying did not cure, carried (without the SDK's request config) to the caller. */
export class GenesysCallFailed extends Error {
  constructor(readonly failure: GenesysFailure) {
    super(failure.message);
  }
}

export interface GenesysCallPolicyOptions {
  readonly maxRequestsPerMinute: number;
  readonly timeoutMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly log?: (event: { message: string; [k: string]: unknown }) => void;
  /** Secrets to scrub from messages, read when an error is built (they change at each login). */
  readonly secrets: () => readonly string[];
}

/**
 * How patiently Genesys Cloud is called: under a client-side budget of requests a minute, each call bounded by
 * a timeout, 429s retried after their Retry-After and transient failures (5xx, network, timeout) after a short
 * exponential backoff, never waiting past the caller's deadline.
 */
export class GenesysCallPolicy {
  private readonly limiter: SlidingWindowLimiter;
  /** Epoch ms before which the server's own count says to send nothing more (from inin-ratelimit-*). */
  private serverPausedUntil = 0;

  constructor(private readonly options: GenesysCallPolicyOptions) {
    this.limiter = new SlidingWindowLimiter(options.maxRequestsPerMinute, 60_000, options.now);
  }

  /**
   * Runs `call` until it succeeds or retrying cannot help. Rejects with GenesysCallFailed (for the caller to
   * word), or with a GenesysApiError when waiting would pass the deadline.
   */
  async run<T>(what: string, deadline: number, call: () => Promise<T>): Promise<T> {
    const { now, sleep, log } = this.options;
    let throttled = 0;
    let transient = 0;
    for (;;) {
      await this.underBudget(what, deadline);
      try {
        return await this.withTimeout(call(), what);
      } catch (rejection) {
        const failure = describeGenesysFailure(rejection);
        if (failure.status === 429 && throttled < MAX_THROTTLED_RETRIES) {
          throttled++;
          const waitMs = (failure.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS) * 1000;
          if (now() + waitMs > deadline) {
            throw genesysError(
              `Genesys Cloud rate limit: the ${what} may be retried in ${waitMs / 1000} s, after the deadline; stopping to resume later (${failure.message})`,
              { ...failure, code: failure.code ?? 'too.many.requests.retry.after' },
              this.options.secrets(),
            );
          }
          log?.({ message: 'genesys.throttled', what, waitMs, correlationId: failure.correlationId });
          await sleep(waitMs);
          continue;
        }
        const retryable = failure.status === undefined || TRANSIENT.has(failure.status);
        const backoffMs = FIRST_BACKOFF_MS * 2 ** transient;
        if (retryable && transient < MAX_TRANSIENT_RETRIES && now() + backoffMs <= deadline) {
          transient++;
          log?.({ message: 'genesys.retry', what, status: failure.status, backoffMs });
          await sleep(backoffMs);
          continue;
        }
        throw new GenesysCallFailed(failure);
      }
    }
  }

  /** How many requests fit the budget from now until `until` (epoch ms), counting a pause the server asked for. */
  capacity(until: number): number {
    return this.limiter.capacity(until, this.serverPausedUntil);
  }

  /**
   * Follows the `inin-ratelimit-allowed`, `-count` and `-reset` headers of a successful response: when the
   * server's count comes within a margin of what it allows, nothing more is sent until its window resets. The
   * server's count is the one that matters; ours only approximates it.
   */
  observeServerBudget(headers: unknown): void {
    const allowed = numericHeader(headers, 'inin-ratelimit-allowed');
    const count = numericHeader(headers, 'inin-ratelimit-count');
    const resetSeconds = numericHeader(headers, 'inin-ratelimit-reset');
    if (allowed === undefined || count === undefined || resetSeconds === undefined) return;
    // Pace at what the server allows (less the margin) when that is below our own budget, so windows are
    // sized to what can really be read before the deadline.
    this.limiter.setMax(Math.min(this.options.maxRequestsPerMinute, allowed - SERVER_BUDGET_MARGIN));
    if (count < allowed - SERVER_BUDGET_MARGIN) return;
    const until = this.options.now() + Math.min(60, Math.max(0, resetSeconds)) * 1000;
    this.serverPausedUntil = Math.max(this.serverPausedUntil, until);
    this.options.log?.({ message: 'genesys.ratelimit.near', allowed, count, resetSeconds });
  }

  private delay(): number {
    return Math.max(this.limiter.delay(), this.serverPausedUntil - this.options.now());
  }

  private async underBudget(what: string, deadline: number): Promise<void> {
    for (let delay = this.delay(); delay > 0; delay = this.delay()) {
      if (this.options.now() + delay > deadline) {
        throw new GenesysApiError(
          this.serverPausedUntil > this.options.now()
            ? `Genesys Cloud's own rate count (inin-ratelimit-*) is near its limit until after the deadline of the ${what}; stopping to resume later`
            : `the client-side limit of ${this.options.maxRequestsPerMinute} Genesys Cloud requests a minute would delay the ${what} past the deadline; stopping to resume later`,
          429,
          'client.rate.limit',
          undefined,
        );
      }
      await this.options.sleep(delay);
    }
    this.limiter.record();
  }

  /** The SDK's own (axios) timeout is per socket inactivity; this bounds the whole call. */
  private async withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
    const { timeoutMs } = this.options;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the ${what} got no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function numericHeader(headers: unknown, name: string): number | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const entry = Object.entries(headers).find(([k]) => k.toLowerCase() === name);
  const value = Number(Array.isArray(entry?.[1]) ? entry?.[1][0] : entry?.[1]);
  return entry !== undefined && Number.isFinite(value) ? value : undefined;
}

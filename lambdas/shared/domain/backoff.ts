/** SQS's largest visibility timeout: the longest one receive can wait. */
export const MAX_VISIBILITY_SECONDS = 43_200;
/** SQS's longest per-message delay (DelaySeconds): the longest one hold can last before the event is looked at again. */
export const MAX_DELAY_SECONDS = 900;

export interface BackoffInput {
  /** The attempt that just failed, from 1 (SQS's ApproximateReceiveCount). */
  readonly attempt: number;
  readonly baseSeconds: number;
  readonly capSeconds: number;
  /** The target's Retry-After, if it sent one; it wins over the computed delay, still capped. */
  readonly retryAfterSeconds?: number | undefined;
  /** A number in [0, 1); injected so the delay is testable. */
  readonly random: () => number;
}

/** Seconds to wait before the next attempt: full jitter, random(0, min(cap, base·2^(n−1))), at least 1 s. */
export function backoffSeconds(input: BackoffInput): number {
  const cap = Math.min(input.capSeconds, MAX_VISIBILITY_SECONDS);
  if (input.retryAfterSeconds !== undefined && Number.isFinite(input.retryAfterSeconds)) {
    return Math.max(1, Math.min(cap, Math.ceil(input.retryAfterSeconds)));
  }
  const exponent = Math.min(Math.max(input.attempt, 1) - 1, 30);
  const ceiling = Math.min(cap, input.baseSeconds * 2 ** exponent);
  return Math.max(1, Math.floor(input.random() * ceiling));
}

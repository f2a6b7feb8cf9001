/**
 * A client-side request budget: at most `max` requests in any rolling `windowMs`. Genesys Cloud allows 300
 * requests a minute per token; staying under it ourselves avoids 429s, which cost a whole Retry-After.
 * The clock is injected so tests can check the budget without waiting.
 */
export class SlidingWindowLimiter {
  private readonly sent: number[] = [];

  constructor(
    private max: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('max must be a whole number of at least 1');
  }

  /** Changes the budget, for example to what the server says it allows; a whole number of at least 1. */
  setMax(max: number): void {
    this.max = Math.max(1, Math.floor(max));
  }

  /** How long (ms) to wait before the next request fits the budget; 0 when it fits now. */
  delay(): number {
    const now = this.now();
    while (this.sent.length > 0 && (this.sent[0] ?? 0) <= now - this.windowMs) this.sent.shift();
    if (this.sent.length < this.max) return 0;
    const oldest = this.sent[this.sent.length - this.max] ?? now;
    return Math.max(1, oldest + this.windowMs - now);
  }

  /**
   * How many requests fit the budget from now until `until` (epoch ms), none before `notBefore`: a greedy
   * replay of the rolling window, so a poll can size what it reads to what it can send.
   */
  capacity(until: number, notBefore = 0): number {
    const now = this.now();
    const times = this.sent.filter((t) => t > now - this.windowMs);
    let t = Math.max(now, notBefore);
    let fits = 0;
    while (t <= until) {
      while (times.length > 0 && (times[0] ?? 0) <= t - this.windowMs) times.shift();
      if (times.length < this.max) {
        times.push(t);
        fits += 1;
        continue;
      }
      t = (times[times.length - this.max] ?? t) + this.windowMs;
    }
    return fits;
  }

  /** Records a request sent now. Call only once `delay()` is 0. */
  record(): void {
    this.sent.push(this.now());
  }
}

/** Small statistics for benchmark runs: the figures reported are medians, never single runs. */

/** The median of a non-empty list (mean of the middle two for an even count); NaN for an empty one. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  if (sorted.length % 2 === 1) return upper;
  return ((sorted[mid - 1] ?? upper) + upper) / 2;
}

/** The smallest and largest value, to show how noisy the runs were. */
export function spread(values: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...values), max: Math.max(...values) };
}

/** Rounds to `digits` significant digits, so JSON and tables do not pretend to more precision than there is. */
export function sig(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}

/** A measured figure: the median and the raw runs it came from. */
export interface Sampled {
  readonly median: number;
  readonly runs: readonly number[];
}

/** Builds a {@link Sampled} from raw runs, rounded for reporting. */
export function sampled(runs: readonly number[], digits = 3): Sampled {
  return { median: sig(median(runs), digits), runs: runs.map((r) => sig(r, digits)) };
}

/** Milliseconds since `start` (a `performance.now()` reading). */
export function since(start: number): number {
  return performance.now() - start;
}

/** What one redelivery attempt came to. */
export type Outcome = 'delivered' | 'retryable' | 'permanent';

/** Classifies an HTTP status from the target: 2xx delivered; 408, 425, 429, 5xx retryable; the rest permanent. */
export function classifyStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retryable';
  return 'permanent';
}

/** Parses Retry-After (delta-seconds or HTTP-date) into whole seconds from `now`; undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // An HTTP-date names its day and month; anything else (e.g. "-5") is not a Retry-After.
  if (!/^[A-Za-z]{3}, /.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

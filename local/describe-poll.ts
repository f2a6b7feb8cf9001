import type { WebhookPollResult } from '../lambdas/poller/poll-failed-deliveries';

/**
 * One line per webhook and poll, whose counts add up to what was found: new, already known, invalid (first
 * seen now), invalid entries recorded by an earlier poll (the overlap lists them again), and, when the poll
 * stopped early, what it did not get to.
 */
export function describePoll(w: WebhookPollResult): string {
  const parts = [`${w.enqueued} new`, `${w.duplicates} already known`, `${w.invalid} invalid`];
  const rest = w.found - w.enqueued - w.duplicates - w.invalid;
  if (rest > 0) parts.push(w.complete ? `${rest} invalid, recorded before` : `${rest} not handled yet`);
  const status = w.complete ? '' : `; stopped early: ${w.error?.message ?? 'unknown'}`;
  return `poll ${w.webhookId}: ${w.found} found = ${parts.join(' + ')}${status}`;
}

import type { RetryMessage } from './domain/retry-message';
import type { Ledger, RetryQueue } from './ports';

/** How the messages of one enqueue ended. */
export interface Enqueued {
  /** On the queue, and their claims confirmed in the ledger. */
  readonly sent: readonly RetryMessage[];
  /** Refused by SQS for good (too large, bad characters): the caller records them and closes their claims. */
  readonly refused: readonly { readonly message: RetryMessage; readonly reason: string }[];
  /** Why some could not be sent this time, when any could not: their claims stay pending, to be taken again. */
  readonly transient?: string;
}

/**
 * Puts claimed messages on the retry queue and confirms in the ledger those that got there (the poller's and the
 * intake's shared step): a failed confirmation rejects, leaving the claims pending, which the next listing takes
 * again.
 */
export async function enqueueClaimed(
  queue: RetryQueue,
  ledger: Ledger,
  messages: readonly RetryMessage[],
): Promise<Enqueued> {
  const failures = await queue.enqueue(messages);
  const failed = new Map(failures.map((f) => [f.eventKey, f]));
  const sent = messages.filter((m) => !failed.has(m.eventKey));
  await ledger.markEnqueued(sent.map((m) => m.eventKey));
  const refused = messages.flatMap((message) => {
    const failure = failed.get(message.eventKey);
    return failure?.permanent ? [{ message, reason: failure.reason }] : [];
  });
  const transient = failures.find((f) => !f.permanent)?.reason;
  return { sent, refused, ...(transient !== undefined ? { transient } : {}) };
}

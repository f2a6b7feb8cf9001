// A namespace import lets esbuild drop what is unused, zod's 40-odd locales among them (~360 KB).
import * as z from 'zod';

/**
 * The body of every message on the retry queue, and therefore of every dead letter. SQS moves messages to the
 * DLQ unchanged, so everything an operator needs that is known at enqueue time lives here; what is learned later
 * (attempts, final reason) lives in the ledger under `eventKey`.
 */
export const retryMessageSchema = z.object({
  /** Schema version, so a future change can read old dead letters. */
  v: z.literal(1),
  /** Idempotency key of the event: the same for every attempt, redrive and replay of one Genesys delivery. */
  eventKey: z.string().regex(/^[a-f0-9]{64}$/),
  /** Id of the first failed Genesys delivery attempt seen for this event. */
  deliveryId: z.string().min(1),
  webhookId: z.string().min(1),
  targetUrl: z.url({ protocol: /^https?$/ }),
  /** Headers to send, already filtered (no hop-by-hop, Host, Content-Length, credentials unless opted in). */
  headers: z.record(z.string(), z.string()),
  /** The exact body text to send. */
  body: z.string(),
  contentType: z.string().min(1),
  /** What the target answered to Genesys; null when it did not answer. */
  originalStatus: z.number().int().nullable(),
  originalError: z.string().optional(),
  /** When Genesys's attempt failed (ISO-8601). */
  failedAt: z.iso.datetime(),
  /** When this project enqueued it (ISO-8601). */
  enqueuedAt: z.iso.datetime(),
  /** Header names removed before enqueueing, so an operator knows they were there. */
  strippedHeaders: z.array(z.string()).default([]),
});

export type RetryMessage = z.output<typeof retryMessageSchema>;

/**
 * The SQS message body of a retry message: its JSON, with the characters SQS may refuse escaped as JSON
 * `\uXXXX` sequences, so any body that is valid Unicode travels intact. U+FFFE and U+FFFF are outside SQS's
 * character set; characters beyond U+FFFF are inside it, but emulators refuse them, so their surrogate halves are
 * escaped too (JSON.parse joins them again).
 */
export function toQueueBody(message: RetryMessage): string {
  return JSON.stringify(message).replace(
    /[\uD800-\uDFFF\uFFFE\uFFFF]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
}

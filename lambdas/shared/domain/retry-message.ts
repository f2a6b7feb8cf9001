// zod/mini as a namespace: esbuild keeps only what is used (see settings.ts).
import * as z from 'zod/mini';
import { headerMapProblem } from './headers';

/**
 * The body of every message on the retry queue, and therefore of every dead letter. SQS moves messages to the
 * DLQ unchanged, so everything an operator needs that is known at enqueue time lives here; what is learned later
 * (attempts, final reason) lives in the ledger under `eventKey`.
 */
export const retryMessageSchema = z.object({
  /** Schema version, so a future change can read old dead letters. */
  v: z.literal(1),
  /** Idempotency key of the event: the same for every attempt, redrive and replay of one Genesys delivery. */
  eventKey: z.string().check(z.regex(/^[a-f0-9]{64}$/)),
  /** Id of the first failed Genesys delivery attempt seen for this event. */
  deliveryId: z.string().check(z.minLength(1)),
  webhookId: z.string().check(z.minLength(1)),
  targetUrl: z.url({ protocol: /^https?$/ }),
  /** Headers to send, already filtered (no hop-by-hop, Host, Content-Length, credentials unless opted in). */
  headers: z.pipe(
    // Checked before the record is rebuilt: rebuilding would drop a `__proto__` name without a word.
    z.unknown().check(
      z.superRefine((v, ctx) => {
        const problem = headerMapProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, input: v });
      }),
    ),
    z.record(z.string(), z.string()),
  ),
  /** The exact body text to send. */
  body: z.string(),
  contentType: z.string().check(z.minLength(1)),
  /** What the target answered to Genesys; null when it did not answer. */
  originalStatus: z.nullable(z.int()),
  originalError: z.optional(z.string()),
  /** When Genesys's attempt failed (ISO-8601). */
  failedAt: z.iso.datetime(),
  /** When this project enqueued it (ISO-8601). */
  enqueuedAt: z.iso.datetime(),
  /** Header names removed before enqueueing, so an operator knows they were there. */
  strippedHeaders: z._default(z.array(z.string()), []),
  /**
   * Where the event came from: the delivery log (the poller) or Genesys's Amazon EventBridge integration.
   * Absent on messages written before there were two sources; read as 'delivery-log'.
   */
  source: z.optional(z.enum(['delivery-log', 'eventbridge'])),
  /** The route (ROUTES) that sent an EventBridge event to this target. */
  route: z.optional(z.string()),
  /**
   * Set by the redeliverer on a copy it sends again while the target is held: the retry budget (its generation in
   * the ledger, from 1) and when the event was first held in it. The message carries the hold clock as well as
   * the ledger, so that a lost ledger write cannot make a hold endless (docs/architecture.md, the lifecycle).
   */
  budget: z.optional(z.int().check(z.gte(1))),
  heldSince: z.optional(z.iso.datetime()),
  /**
   * Set on the events of a route ordered per entity (docs/sources.md, ordering): the entity (the value of the
   * topic's first placeholder), the Genesys event time that orders it, and whether only the latest state counts.
   */
  order: z.optional(
    z.object({
      entity: z.string().check(z.minLength(1), z.maxLength(256)),
      at: z.iso.datetime(),
      latestOnly: z.optional(z.literal(true)),
    }),
  ),
});

export type RetryMessage = z.output<typeof retryMessageSchema>;

/**
 * The SQS message body of a retry message: its JSON, with the characters SQS may refuse escaped as JSON
 * `\uXXXX` sequences, so any body that is valid Unicode travels intact. U+FFFE and U+FFFF are outside SQS's
 * character set; characters beyond U+FFFF are inside it, but emulators refuse them, so their surrogate halves are
 * escaped too (JSON.parse joins them again).
 */
export function toQueueBody(message: RetryMessage): string {
  return queueSafeJson(message);
}

/** JSON of `value` with the characters SQS or its emulators may refuse escaped (see toQueueBody). */
export function queueSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\uD800-\uDFFF\uFFFE\uFFFF]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
}

import { createHash } from 'node:crypto';

/**
 * The idempotency key of a Genesys event. Genesys logs each failed attempt of one event under a new id, with the
 * same webhook, URL and body, so the key is derived from those three: every attempt, redrive and replay of one
 * event shares it, and it is what the target sees as `Idempotency-Key`.
 */
export function eventKey(webhookId: string, targetUrl: string, body: string): string {
  return createHash('sha256')
    .update(webhookId)
    .update('\u0000')
    .update(targetUrl)
    .update('\u0000')
    .update(body)
    .digest('hex');
}

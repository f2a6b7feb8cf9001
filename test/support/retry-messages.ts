import { eventKey } from '../../lambdas/shared/domain/event-key';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';

/**
 * A delivery-log retry message to `${base}${path}` for one webhook, failed with a 503 just now: its body and
 * delivery id name the path, so each path is its own event.
 */
export function retryMessageTo(webhookId: string, base: string, path: string): RetryMessage {
  const targetUrl = `${base}${path}`;
  const body = JSON.stringify({ eventId: path });
  const at = new Date().toISOString();
  return {
    v: 1,
    eventKey: eventKey(webhookId, targetUrl, body),
    deliveryId: `d${path.replaceAll('/', '-')}`,
    webhookId,
    targetUrl,
    headers: {},
    body,
    contentType: 'application/json',
    originalStatus: 503,
    failedAt: at,
    enqueuedAt: at,
    strippedHeaders: [],
  };
}

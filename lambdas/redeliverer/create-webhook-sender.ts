import { HttpWebhookSender } from '../shared/adapters/http-webhook-sender';
import { OriginCircuitBreaker } from '../shared/adapters/origin-circuit-breaker';
import type { PipelineSettings } from '../shared/settings';

/**
 * The sender the redeliverer uses in Lambda and in local mode alike: keep-alive HTTP behind a per-origin circuit
 * breaker, so an endpoint that never answers stalls a batch once or twice, not every batch.
 */
export function createWebhookSender(
  settings: Pick<PipelineSettings, 'DELIVERY_TIMEOUT_SECONDS'>,
): OriginCircuitBreaker {
  const timeoutSeconds = settings.DELIVERY_TIMEOUT_SECONDS;
  return new OriginCircuitBreaker({ sender: new HttpWebhookSender({ timeoutSeconds }), timeoutSeconds });
}

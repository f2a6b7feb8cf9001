import { HttpWebhookSender } from '../shared/adapters/http-webhook-sender';
import { OriginCircuitBreaker } from '../shared/adapters/origin-circuit-breaker';
import type { TargetPolicy } from '../shared/domain/target';
import type { PipelineSettings } from '../shared/settings';

/**
 * The sender the redeliverer uses in Lambda and in local mode alike: keep-alive HTTP behind a per-origin circuit
 * breaker, so an endpoint that never answers stalls a batch once or twice, not every batch.
 */
export function createWebhookSender(
  settings: Pick<PipelineSettings, 'DELIVERY_TIMEOUT_SECONDS' | keyof TargetPolicy>,
): OriginCircuitBreaker {
  const timeoutSeconds = settings.DELIVERY_TIMEOUT_SECONDS;
  const sender = new HttpWebhookSender({ timeoutSeconds, targets: settings });
  return new OriginCircuitBreaker({ sender, timeoutSeconds });
}

import { HttpWebhookSender } from '../shared/adapters/http-webhook-sender';
import type { PipelineSettings } from '../shared/settings';
import { TargetGate } from './target-gate';

/** The sender the redeliverer uses in Lambda and in local mode alike: keep-alive HTTP with the delivery timeout. */
export function createWebhookSender(
  settings: Pick<PipelineSettings, 'DELIVERY_TIMEOUT_SECONDS'>,
): HttpWebhookSender {
  return new HttpWebhookSender({ timeoutSeconds: settings.DELIVERY_TIMEOUT_SECONDS });
}

/** The target gate for one warm instance: holds follow the retry schedule (RETRY_DELAY_SECONDS doubling, capped). */
export function createTargetGate(
  settings: Pick<
    PipelineSettings,
    'DELIVERY_TIMEOUT_SECONDS' | 'RETRY_DELAY_SECONDS' | 'MAX_RETRY_DELAY_SECONDS'
  >,
): TargetGate {
  return new TargetGate({
    timeoutSeconds: settings.DELIVERY_TIMEOUT_SECONDS,
    baseSeconds: settings.RETRY_DELAY_SECONDS,
    capSeconds: settings.MAX_RETRY_DELAY_SECONDS,
  });
}

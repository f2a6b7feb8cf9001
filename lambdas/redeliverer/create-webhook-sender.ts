import { HttpWebhookSender } from '../shared/adapters/http-webhook-sender';
import type { TargetPolicy } from '../shared/domain/target';
import type { TargetStateStore } from '../shared/ports';
import type { PipelineSettings } from '../shared/settings';
import { TargetGate } from './target-gate';

/** Fewest connections per target origin; the pool grows with the batch. */
const MIN_CONNECTIONS_PER_ORIGIN = 10;

/**
 * The sender the redeliverer uses in Lambda and in local mode alike: keep-alive HTTP with the delivery timeout.
 * The pool holds a connection per record of a batch: a request queued behind a full pool would spend its delivery
 * timeout waiting for a socket (BATCH_SIZE 30 against a healthy 4 s target timed out a third of its calls).
 */
export function createWebhookSender(
  settings: Pick<PipelineSettings, 'DELIVERY_TIMEOUT_SECONDS' | 'BATCH_SIZE' | keyof TargetPolicy>,
): HttpWebhookSender {
  return new HttpWebhookSender({
    timeoutSeconds: settings.DELIVERY_TIMEOUT_SECONDS,
    connectionsPerOrigin: Math.max(MIN_CONNECTIONS_PER_ORIGIN, settings.BATCH_SIZE),
    targets: settings,
  });
}

/**
 * The target gate of one instance: holds follow the retry schedule (RETRY_DELAY_SECONDS doubling per failed
 * probe, capped at MAX_RETRY_DELAY_SECONDS) and live in `store`, shared with every other instance.
 */
export function createTargetGate(
  settings: Pick<
    PipelineSettings,
    'DELIVERY_TIMEOUT_SECONDS' | 'RETRY_DELAY_SECONDS' | 'MAX_RETRY_DELAY_SECONDS'
  >,
  store: TargetStateStore,
): TargetGate {
  return new TargetGate({
    store,
    timeoutSeconds: settings.DELIVERY_TIMEOUT_SECONDS,
    baseSeconds: settings.RETRY_DELAY_SECONDS,
    capSeconds: settings.MAX_RETRY_DELAY_SECONDS,
  });
}

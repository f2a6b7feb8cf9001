import type { PipelineSettings } from './settings';

/**
 * Values computed from the settings that the stack and local mode must agree on. Kept beside the schema so
 * there is one formula, not one per place.
 */
export interface DerivedSettings {
  /** Redeliverer timeout: a batch's records run in parallel, so one delivery timeout plus room for SQS/DynamoDB calls. */
  readonly redelivererTimeoutSeconds: number;
  /** Retry-queue visibility timeout: AWS's advice of 6 × the consumer's timeout, so an in-flight batch never reappears. */
  readonly retryQueueVisibilitySeconds: number;
  /** Retry-queue retention: long enough for every backoff, and shorter than the DLQ's (SQS keeps the original age). */
  readonly retryQueueRetentionSeconds: number;
  /** DLQ retention: SQS's maximum, 14 days. */
  readonly dlqRetentionSeconds: number;
  /** Poller timeout: at most the schedule interval (so polls do not pile up), at most 5 minutes. */
  readonly pollerTimeoutSeconds: number;
  /** Names of the local queues and table, and the suffixes of the deployed ones. */
  readonly names: { readonly retryQueue: string; readonly dlq: string; readonly ledgerTable: string };
}

const DAY = 86_400;

/** Derives timeouts, retention and names from the pipeline settings. */
export function deriveSettings(
  settings: PipelineSettings,
  prefix = 'genesys-webhook-recovery',
): DerivedSettings {
  const redelivererTimeoutSeconds = settings.DELIVERY_TIMEOUT_SECONDS + 15;
  // Worst case a message waits the capped backoff between each of its attempts.
  const backoffBudget = settings.MAX_RETRIES * (settings.MAX_RETRY_DELAY_SECONDS + redelivererTimeoutSeconds);
  return {
    redelivererTimeoutSeconds,
    retryQueueVisibilitySeconds: Math.min(43_200, 6 * redelivererTimeoutSeconds),
    retryQueueRetentionSeconds: Math.min(13 * DAY, Math.max(4 * DAY, backoffBudget + DAY)),
    dlqRetentionSeconds: 14 * DAY,
    pollerTimeoutSeconds: Math.max(10, Math.min(300, settings.POLL_INTERVAL_SECONDS)),
    names: { retryQueue: `${prefix}-retry`, dlq: `${prefix}-dlq`, ledgerTable: `${prefix}-ledger` },
  };
}

import type { PipelineSettings } from './settings';

/**
 * Values computed from the settings that the stack and local mode must agree on. Kept beside the schema so
 * there is one formula, not one per place: lib/pipeline-timing.ts turns these into CDK durations.
 */
export interface DerivedSettings {
  /** Redeliverer timeout: a batch's records run in parallel, so one delivery timeout plus room for SQS/DynamoDB calls. */
  readonly redelivererTimeoutSeconds: number;
  /** How long the event source may wait to fill a batch. */
  readonly batchingWindowSeconds: number;
  /** Retry-queue visibility timeout: AWS's advice of 6 × the consumer's timeout, plus the batching window. */
  readonly retryQueueVisibilitySeconds: number;
  /**
   * Receives of one message before SQS moves it to the DLQ: MAX_RETRIES plus RECEIVE_HEADROOM. The ledger's
   * verdict bounds the calls; the headroom is for receives that end without a decision (a throttled ledger, a
   * failed re-send, a timeout or a throttled function), which must not dead-letter an undecided event.
   */
  readonly maxReceiveCount: number;
  /**
   * Longest an event can spend in the retry queue: held back for MAX_HOLD_SECONDS while its host is down, then
   * every attempt followed by the longest backoff, and each receive of the headroom lost to a visibility timeout.
   */
  readonly worstCaseRetrySeconds: number;
  /** Retry-queue retention: worst case + 1 day, at least 4 days, shorter than the DLQ's (SQS keeps the original age). */
  readonly retryQueueRetentionSeconds: number;
  /** DLQ retention: SQS's maximum, 14 days. */
  readonly dlqRetentionSeconds: number;
  /** Poller timeout: the interval minus 5 s (so polls do not pile up), between 10 s and 5 minutes. */
  readonly pollerTimeoutSeconds: number;
  /** Names of the local queues and table. */
  readonly names: { readonly retryQueue: string; readonly dlq: string; readonly ledgerTable: string };
}

const DAY = 86_400;
/** Extra time per redeliverer invocation beyond the HTTP call: cold start, ledger writes, SQS visibility call. */
const REDELIVERER_OVERHEAD_SECONDS = 15;
/** Receives beyond MAX_RETRIES before SQS dead-letters a message; MAX_RETRIES stops 5 short of SQS's 1,000. */
export const RECEIVE_HEADROOM = 5;
/** The retry queue must expire messages before the DLQ does (14 days), because SQS keeps the enqueue time. */
export const MAX_RETRY_RETENTION_SECONDS = 13 * DAY;

/** Derives timeouts, retention and names from the pipeline settings. */
export function deriveSettings(
  settings: PipelineSettings,
  prefix = 'genesys-webhook-recovery',
): DerivedSettings {
  const redelivererTimeoutSeconds = settings.DELIVERY_TIMEOUT_SECONDS + REDELIVERER_OVERHEAD_SECONDS;
  const batchingWindowSeconds = 1;
  const retryQueueVisibilitySeconds = Math.min(43_200, 6 * redelivererTimeoutSeconds + batchingWindowSeconds);
  const worstCaseRetrySeconds =
    settings.MAX_HOLD_SECONDS +
    settings.MAX_RETRIES * (settings.MAX_RETRY_DELAY_SECONDS + redelivererTimeoutSeconds) +
    RECEIVE_HEADROOM * retryQueueVisibilitySeconds;
  return {
    redelivererTimeoutSeconds,
    batchingWindowSeconds,
    retryQueueVisibilitySeconds,
    maxReceiveCount: settings.MAX_RETRIES + RECEIVE_HEADROOM,
    worstCaseRetrySeconds,
    retryQueueRetentionSeconds: Math.min(
      MAX_RETRY_RETENTION_SECONDS,
      Math.max(4 * DAY, worstCaseRetrySeconds + DAY),
    ),
    dlqRetentionSeconds: 14 * DAY,
    pollerTimeoutSeconds: Math.min(300, Math.max(10, settings.POLL_INTERVAL_SECONDS - 5)),
    names: { retryQueue: `${prefix}-retry`, dlq: `${prefix}-dlq`, ledgerTable: `${prefix}-ledger` },
  };
}

import { Duration } from 'aws-cdk-lib';
import type { PipelineSettings } from '../lambdas/shared/settings';

/** Timeouts, retention periods and alarm thresholds derived from the pipeline settings. */
export interface PipelineTiming {
  /** POLL_INTERVAL_SECONDS as a duration. */
  readonly pollInterval: Duration;
  /** Redeliverer timeout: DELIVERY_TIMEOUT_SECONDS + 15 s. */
  readonly redelivererTimeout: Duration;
  /** How long the event source may wait to fill a batch: 1 s. */
  readonly maxBatchingWindow: Duration;
  /** Retry queue visibility timeout: 6 × redeliverer timeout + batching window (the AWS guidance). */
  readonly retryVisibilityTimeout: Duration;
  /** Longest time a message can spend in the retry queue before SQS moves it to the DLQ. */
  readonly worstCaseRetry: Duration;
  /** Retry queue retention: worst case + 1 day, at least 4 days, at most 13 days. */
  readonly retryRetention: Duration;
  /** DLQ retention: 14 days, the SQS maximum, and always longer than the retry queue's. */
  readonly dlqRetention: Duration;
  /** Poller timeout: the interval minus 5 s, at most 5 minutes, so a poll ends before the next one starts. */
  readonly pollerTimeout: Duration;
  /** Window in which at least one poll must have run: 3 intervals, at least 5 minutes, at most 1 day. */
  readonly missedPollPeriod: Duration;
  /** Retry queue age alarm: the worst-case retry time + 15 minutes. */
  readonly retryQueueAgeThreshold: Duration;
  /** DLQ age alarm: half the time a dead-lettered message is guaranteed to stay, at least 1 day. */
  readonly dlqAgeThreshold: Duration;
}

const DAY = 86_400;
/** Extra time per redeliverer invocation beyond the HTTP call: cold start, ledger writes, SQS visibility call. */
const REDELIVERER_OVERHEAD_SECONDS = 15;
/** The retry queue must expire messages before the DLQ does (14 days), because SQS keeps the enqueue time. */
export const MAX_RETRY_RETENTION_SECONDS = 13 * DAY;
const DLQ_RETENTION_SECONDS = 14 * DAY;

/**
 * Derives every duration of the stack from the settings, in one place, so the formulas are documented once and
 * the tests can check the template against them.
 */
export function pipelineTiming(settings: PipelineSettings): PipelineTiming {
  // Records of a batch are delivered in parallel, so one delivery timeout bounds the whole batch.
  const redelivererSeconds = settings.DELIVERY_TIMEOUT_SECONDS + REDELIVERER_OVERHEAD_SECONDS;
  const batchingWindowSeconds = 1;
  // Each of the MAX_RETRIES receives can be followed by a backoff of up to MAX_RETRY_DELAY_SECONDS.
  const worstCaseSeconds = settings.MAX_RETRIES * (settings.MAX_RETRY_DELAY_SECONDS + redelivererSeconds);
  const retryRetentionSeconds = Math.min(
    MAX_RETRY_RETENTION_SECONDS,
    Math.max(4 * DAY, worstCaseSeconds + DAY),
  );
  const interval = settings.POLL_INTERVAL_SECONDS;
  return {
    pollInterval: Duration.seconds(interval),
    redelivererTimeout: Duration.seconds(redelivererSeconds),
    maxBatchingWindow: Duration.seconds(batchingWindowSeconds),
    retryVisibilityTimeout: Duration.seconds(6 * redelivererSeconds + batchingWindowSeconds),
    worstCaseRetry: Duration.seconds(worstCaseSeconds),
    retryRetention: Duration.seconds(retryRetentionSeconds),
    dlqRetention: Duration.seconds(DLQ_RETENTION_SECONDS),
    pollerTimeout: Duration.seconds(Math.min(300, Math.max(10, interval - 5))),
    missedPollPeriod: Duration.seconds(Math.min(DAY, Math.max(300, 3 * interval))),
    retryQueueAgeThreshold: Duration.seconds(Math.min(retryRetentionSeconds, worstCaseSeconds + 900)),
    dlqAgeThreshold: Duration.seconds(
      Math.max(DAY, Math.floor((DLQ_RETENTION_SECONDS - retryRetentionSeconds) / 2)),
    ),
  };
}

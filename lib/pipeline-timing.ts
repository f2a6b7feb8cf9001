import { Duration } from 'aws-cdk-lib';
import { deriveSettings } from '../lambdas/shared/derived-settings';
import type { PipelineSettings } from '../lambdas/shared/settings';

export { MAX_RETRY_RETENTION_SECONDS } from '../lambdas/shared/derived-settings';

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
  /** The retry queue's maxReceiveCount: MAX_RETRIES + RECEIVE_HEADROOM (lambdas/shared/derived-settings.ts). */
  readonly maxReceiveCount: number;
  /** Retry queue retention: worst case + 1 day, at least 4 days, at most 13 days. */
  readonly retryRetention: Duration;
  /** DLQ retention: 14 days, the SQS maximum, and always longer than the retry queue's. */
  readonly dlqRetention: Duration;
  /** Poller timeout: the interval minus 5 s, at most 5 minutes, so a poll ends before the next one starts. */
  readonly pollerTimeout: Duration;
  /**
   * How long Lambda keeps a poll in its asynchronous queue, retries included: at least the poller timeout + Lambda's
   * one-minute wait before the first retry + a minute of margin (so the retry happens), at least one interval, and
   * at most 6 hours, Lambda's maximum.
   */
  readonly pollerAsyncEventAge: Duration;
  /** How long EventBridge Scheduler keeps trying to start a poll: one interval, at least a minute. */
  readonly pollerScheduleEventAge: Duration;
  /** Window in which at least one poll must have run: 3 intervals, at least 5 minutes, at most 1 day. */
  readonly missedPollPeriod: Duration;
  /** Retry queue age alarm: the worst-case retry time + 15 minutes. */
  readonly retryQueueAgeThreshold: Duration;
  /** Watermark lag alarm: 3 poll intervals, at least 3 minutes (a caught-up poller lags by one poll's run). */
  readonly watermarkLagThreshold: Duration;
  /**
   * DLQ age alarm: half the time a dead-lettered message is sure to stay in the DLQ (DLQ retention minus retry
   * retention, since SQS expires it by its first enqueue time), so at least 12 hours before the earliest deletion.
   */
  readonly dlqAgeThreshold: Duration;
  /** Held-target alarm: 3 poll intervals, at least 15 minutes, and below MAX_HOLD_SECONDS when it can be. */
  readonly targetHeldThreshold: Duration;
}

const DAY = 86_400;
/** Lambda waits about a minute before the first retry of a failed asynchronous invocation. */
export const LAMBDA_ASYNC_RETRY_DELAY_SECONDS = 60;
/** Lambda keeps an asynchronous event at most 6 hours (MaximumEventAgeInSeconds 60–21,600). */
export const LAMBDA_MAX_EVENT_AGE_SECONDS = 21_600;

/**
 * Turns the derived settings (lambdas/shared/derived-settings.ts, the formulas local mode uses too) into CDK
 * durations, and adds the stack-only ones: alarm windows and thresholds.
 */
export function pipelineTiming(settings: PipelineSettings): PipelineTiming {
  const d = deriveSettings(settings);
  const interval = settings.POLL_INTERVAL_SECONDS;
  return {
    pollInterval: Duration.seconds(interval),
    redelivererTimeout: Duration.seconds(d.redelivererTimeoutSeconds),
    maxBatchingWindow: Duration.seconds(d.batchingWindowSeconds),
    retryVisibilityTimeout: Duration.seconds(d.retryQueueVisibilitySeconds),
    worstCaseRetry: Duration.seconds(d.worstCaseRetrySeconds),
    maxReceiveCount: d.maxReceiveCount,
    retryRetention: Duration.seconds(d.retryQueueRetentionSeconds),
    dlqRetention: Duration.seconds(d.dlqRetentionSeconds),
    pollerTimeout: Duration.seconds(d.pollerTimeoutSeconds),
    pollerAsyncEventAge: Duration.seconds(
      Math.min(
        LAMBDA_MAX_EVENT_AGE_SECONDS,
        Math.max(interval, d.pollerTimeoutSeconds + LAMBDA_ASYNC_RETRY_DELAY_SECONDS + 60),
      ),
    ),
    pollerScheduleEventAge: Duration.seconds(Math.max(60, interval)),
    missedPollPeriod: Duration.seconds(Math.min(DAY, Math.max(300, 3 * interval))),
    retryQueueAgeThreshold: Duration.seconds(
      Math.min(d.retryQueueRetentionSeconds, d.worstCaseRetrySeconds + 900),
    ),
    watermarkLagThreshold: Duration.seconds(Math.max(180, 3 * interval)),
    dlqAgeThreshold: Duration.seconds(Math.floor((d.dlqRetentionSeconds - d.retryQueueRetentionSeconds) / 2)),
    targetHeldThreshold: Duration.seconds(
      Math.max(60, Math.min(Math.max(900, 3 * interval), Math.floor(settings.MAX_HOLD_SECONDS / 2))),
    ),
  };
}

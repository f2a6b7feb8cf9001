import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { accountOfArn } from '../shared/domain/event-origin';
import { PermanentDeliveryError, RetryableDeliveryError } from '../shared/errors';
import { type RedeliverDeps, type RedeliveryOutcome, redeliver } from './redeliver';

export type RedelivererHandlerDeps = Omit<RedeliverDeps, 'logger'> & {
  readonly logger: Logger;
  /** When given, outcomes are published as CloudWatch metrics (EMF), flushed after each invocation. */
  readonly metrics?: Metrics;
  /** Called once per record with what happened; local mode prints a line per event from it. */
  readonly onOutcome?: (outcome: RedeliveryOutcome) => void;
  /** The one partner event source whose events rules may put on the queue (GENESYS_EVENT_SOURCE). @default - any */
  readonly eventSource?: string | undefined;
  /** Refuse EventBridge events that name another account than the function's own (from its ARN). @default false */
  readonly checkAccount?: boolean;
};

/**
 * The redeliverer's Lambda handler: runs `redeliver` on every record of an SQS batch in parallel and answers with
 * the records to keep (`batchItemFailures`). Used by the Lambda entry and by local mode alike.
 *
 * Powertools' BatchProcessor does the partial batch response: it runs records in parallel by default and turns a
 * record handler's rejection into that record's failure alone. A new processor per invocation keeps concurrent
 * invocations (local mode) from sharing its state. `throwOnFullBatchFailure` is off because a batch in which every
 * record is waiting for its backoff is normal here, not an error worth a Lambda failure.
 */
export function redelivererHandler(deps: RedelivererHandlerDeps) {
  const recordHandler =
    (use: RedeliverDeps) =>
    async (record: SQSRecord): Promise<RedeliveryOutcome> => {
      let outcome: RedeliveryOutcome;
      try {
        outcome = await redeliver(record, use);
      } catch (error) {
        deps.logger.error(
          'redelivery failed before a decision; the message returns after its visibility timeout',
          {
            messageId: record.messageId,
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          },
        );
        throw error;
      }
      publish(outcome, deps);
      if (outcome.acknowledged) return outcome;
      const summary = `${outcome.result}: ${outcome.error ?? 'no further detail'}`;
      throw outcome.result === 'retry-scheduled'
        ? new RetryableDeliveryError(summary, outcome.nextAttemptInSeconds)
        : new PermanentDeliveryError(summary);
    };

  // Never the whole event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: its bodies may carry credential headers.
  const middlewares: MiddlewareObj[] = [injectLambdaContext(deps.logger, { logEvent: false })];
  if (deps.metrics) middlewares.push(logMetrics(deps.metrics));

  return middy<SQSEvent, SQSBatchResponse>()
    .use(middlewares)
    .handler((event, context) =>
      processPartialResponse(event, recordHandler(withOrigin(context)), new BatchProcessor(EventType.SQS), {
        context,
        processInParallel: true,
        throwOnFullBatchFailure: false,
      }),
    );

  /** The deps with the origin EventBridge events must have; the account is the function's own, from its ARN. */
  function withOrigin(context: Context): RedeliverDeps {
    if (deps.eventSource === undefined && !deps.checkAccount) return deps;
    // No account in the ARN refuses every event: better than taking events from anywhere.
    const account = deps.checkAccount ? (accountOfArn(context.invokedFunctionArn) ?? 'unknown') : undefined;
    return { ...deps, origin: { source: deps.eventSource, account } };
  }
}

function publish(outcome: RedeliveryOutcome, deps: RedelivererHandlerDeps): void {
  const { logger, metrics } = deps;
  // The outcome names its target by id (origin and a path hash): a path or a query may carry a token.
  const line = { ...outcome };
  if (INFO.has(outcome.result)) logger.info('redelivery', line);
  else logger.warn('redelivery', line);

  if (metrics) {
    const counter = COUNTERS[outcome.result];
    if (counter) metrics.addMetric(counter, MetricUnit.Count, 1);
    if (outcome.repeat) metrics.addMetric('Duplicates', MetricUnit.Count, 1);
    if (outcome.targetCalled)
      metrics.addMetric('DeliveryDurationMs', MetricUnit.Milliseconds, outcome.durationMs);
    if (outcome.hold) {
      // The longest hold feeds the TargetHeldBack alarm; the per-target one names the target on the dashboard.
      metrics.addMetric('LongestHoldSeconds', MetricUnit.Seconds, outcome.hold.heldForSeconds);
      const perTarget = metrics.singleMetric();
      // The hold key is `<kind> <origin or target id>`: never a path or a query, which may carry a token.
      perTarget.addDimension('Target', outcome.hold.key.slice(0, 250));
      perTarget.addMetric('TargetHeldSeconds', MetricUnit.Seconds, outcome.hold.heldForSeconds);
    }
  }
  try {
    deps.onOutcome?.(outcome);
  } catch (error) {
    // A reporting hook must not change what happens to the message.
    logger.error('onOutcome threw', { error: String(error) });
  }
}

/** Results that are the pipeline working as meant; the others are logged as warnings. */
const INFO = new Set<RedeliveryOutcome['result']>([
  'delivered',
  'already-delivered',
  'held',
  'waiting',
  'outdated',
  'already-recorded',
]);

const COUNTERS: Partial<Record<RedeliveryOutcome['result'], string>> = {
  delivered: 'Delivered',
  'retry-scheduled': 'Retried',
  permanent: 'PermanentFailures',
  'invalid-message': 'PermanentFailures',
  exhausted: 'RetriesExhausted',
  held: 'HeldBack',
  // Nothing was sent for a reason of ours (the signing key could not be read): the RedeliveriesNotSent alarm.
  'not-sent': 'RedeliveriesNotSent',
  // latestOnly routes: events a newer one of their entity made obsolete (never sent, never dead-lettered).
  outdated: 'SupersededEvents',
  // EventBridge events put on the queue by a rule that no route takes, or refused: the UnmatchedEvents alarm.
  unmatched: 'UnmatchedEvents',
  'refused-event': 'InvalidEvents',
};

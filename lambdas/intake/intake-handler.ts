import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { accountOfArn } from '../shared/domain/event-origin';
import { routeSchema } from '../shared/domain/routes';
import type { EntityOrderStore, Ledger, RetryQueue } from '../shared/ports';
import type { PipelineSettings } from '../shared/settings';
import { acceptGenesysEvent, type IntakeEvent, type IntakeResult } from './accept-genesys-event';

export interface IntakeHandlerDeps {
  readonly queue: RetryQueue;
  readonly ledger: Ledger;
  readonly settings: Pick<PipelineSettings, 'FORWARD_CREDENTIAL_HEADERS'>;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => Date;
  /** The one partner event source taken in (the stack's GENESYS_EVENT_SOURCE). @default - any */
  readonly eventSource?: string | undefined;
  /** Refuse events that name another account than the function's own (from its ARN). @default false */
  readonly checkAccount?: boolean;
  readonly onEvent?: (event: IntakeEvent) => void;
  /** Each ordered route's entities (the ledger table in AWS). */
  readonly orders?: EntityOrderStore;
}

/** Thrown when a rule's input is not what the stack's rules send: a wiring bug, worth the error alarm. */
export class IntakeInputError extends Error {}

/**
 * The intake's middy handler. Each rule of the partner event bus invokes it asynchronously with
 * `{"route": {…} | null, "event": <the EventBridge event>}` (an input transformer): `route` is the rule's route,
 * or null for the catch-all rule of events no route takes. A thrown error makes Lambda retry the invocation,
 * then send it to the on-failure destination (the intake-failures queue, which has an alarm).
 */
export function intakeHandler(deps: IntakeHandlerDeps) {
  const base = async (input: unknown, context: Context): Promise<IntakeResult> => {
    if (typeof input !== 'object' || input === null || !('event' in input) || !('route' in input)) {
      throw new IntakeInputError('input is not {"route", "event"}: check the rule target input transformer');
    }
    const route = input.route === null ? undefined : routeSchema.safeParse(input.route);
    if (route && !route.success) {
      throw new IntakeInputError(`input route is not a route: ${route.error.issues[0]?.message ?? ''}`);
    }
    const result = await acceptGenesysEvent(input.event, route ? [route.data] : [], {
      queue: deps.queue,
      ledger: deps.ledger,
      settings: deps.settings,
      now: deps.now ?? (() => new Date()),
      ...(deps.orders ? { orders: deps.orders } : {}),
      origin: {
        source: deps.eventSource,
        // No account in the ARN refuses every event: better than taking events from anywhere.
        account: deps.checkAccount ? (accountOfArn(context.invokedFunctionArn) ?? 'unknown') : undefined,
      },
      onEvent: (event) => {
        if (event.kind === 'unmatched' || event.kind === 'invalid') {
          deps.logger.warn('EventBridge event not enqueued', { ...event });
        }
        deps.onEvent?.(event);
      },
    });
    deps.metrics?.addMetric('Enqueued', MetricUnit.Count, result.enqueued);
    deps.metrics?.addMetric('Duplicates', MetricUnit.Count, result.duplicates);
    deps.metrics?.addMetric('UnmatchedEvents', MetricUnit.Count, result.unmatched);
    deps.metrics?.addMetric('InvalidEvents', MetricUnit.Count, result.invalid);
    deps.logger.info('EventBridge event taken in', { ...result });
    return result;
  };
  // Never the whole event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: it carries bodies and may carry credentials.
  const handler = middy(base).use(injectLambdaContext(deps.logger, { logEvent: false }));
  if (deps.metrics) handler.use(logMetrics(deps.metrics));
  return handler;
}

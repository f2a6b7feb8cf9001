import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { publishStoredMetrics } from '../shared/adapters/publish-stored-metrics';
import type { FailedDeliverySource, Ledger, PollLease, RetryQueue } from '../shared/ports';
import type { PipelineSettings } from '../shared/settings';
import { type PollEvent, pollFailedDeliveries, type WebhookPollResult } from './poll-failed-deliveries';
import { SettledClaims, withSettledClaims } from './settled-claims';

/** Stop starting new work this long before the Lambda's own timeout, so the watermark write always lands. */
const SAFETY_MS = 5_000;
/**
 * The lease outlives the invocation's timeout by this much: a poll that dies holding it (a timeout, a crash)
 * blocks the next ones for at most its timeout and this margin, and a live poll's lease never runs out under it.
 */
export const LEASE_MARGIN_MS = 30_000;

export interface PollerHandlerDeps {
  readonly source: FailedDeliverySource;
  readonly queue: RetryQueue;
  readonly ledger: Ledger;
  /** At most one poll at a time: one that finds the lease taken skips (PollsSkipped) instead of overlapping. */
  readonly lease: PollLease;
  readonly settings: PipelineSettings;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => Date;
  readonly onEvent?: (event: PollEvent) => void;
  /**
   * Entries this instance has seen settled, kept across its warm invocations, so that the overlap's re-listings
   * cost no ledger read (./settled-claims.ts). A capacity of 0 asks the ledger every time.
   * @default new SettledClaims() (DEFAULT_SETTLED_CLAIMS entries)
   */
  readonly settledClaims?: SettledClaims;
}

/** Summary returned by one poll; the Lambda's result, and what local mode prints. */
export interface PollSummary {
  readonly webhooks: readonly WebhookPollResult[];
  /** True when another poll held the lease, so this one read nothing. */
  readonly skipped?: true;
}

/** How far each webhook's watermark is behind the end of the poll, in seconds (the lag alarm's metric; the
 * stack names it again in lib/constructs/recovery-alarms.ts, which must not import handler code). */
export const WATERMARK_LAG_METRIC = 'WatermarkLagSeconds';

/** Thrown after the metrics are out when some webhook could not be polled, so the error alarm sees it. */
export class PollFailedError extends Error {}

/** The poller's middy handler: the same code runs in Lambda (EventBridge Scheduler) and in local mode. */
export function pollerHandler(deps: PollerHandlerDeps) {
  // Made once per handler, that is per Lambda instance: it outlives the invocation, never the instance.
  const settled = deps.settledClaims ?? new SettledClaims();
  const ledger = settled.capacity > 0 ? withSettledClaims(deps.ledger, settled) : deps.ledger;
  const behind = (lagSeconds: number) => lagSeconds >= deps.settings.POLL_INTERVAL_SECONDS;
  const poll = async (_event: unknown, context: Context): Promise<PollSummary> => {
    const webhooks = await pollFailedDeliveries({
      source: deps.source,
      queue: deps.queue,
      ledger,
      settings: deps.settings,
      now: deps.now ?? (() => new Date()),
      deadline: Date.now() + context.getRemainingTimeInMillis() - SAFETY_MS,
      onEvent: (event) => {
        if (event.kind === 'invalid') deps.logger.warn('delivery-log entry not enqueued', { ...event });
        deps.onEvent?.(event);
      },
    });
    // Counts only when they are not zero: CloudWatch bills a custom metric for every month it receives data, and
    // an idle poll's zeros tell nothing the alarms need (they treat missing data as not breaching, PollErrors
    // through FILL). The watermark lag likewise goes out only when a webhook is behind by a poll interval or
    // more: a caught-up poller lags by less (one poll's run), its alarm's threshold is 3 intervals, and a missed
    // poll is the missed-polls alarm's. So an idle stack publishes no custom metric at all.
    const count = (name: string, n: number) => {
      if (n > 0) deps.metrics?.addMetric(name, MetricUnit.Count, n);
    };
    for (const w of webhooks) {
      count('FailedDeliveriesFound', w.found);
      count('Enqueued', w.enqueued);
      count('Duplicates', w.duplicates);
      count('InvalidEntries', w.invalid);
      // A poll that found nothing read one page; a page count says something only when there was something.
      if (w.found > 0) count('DeliveryLogPages', w.pages);
      // Per webhook, so an operator sees which one is behind; the undimensioned maximum below is alarmed on.
      // With one webhook the two are the same figure, and each metric is billed a month: only the maximum goes.
      if (webhooks.length > 1 && behind(w.lagSeconds)) {
        const single = deps.metrics?.singleMetric();
        single?.addDimension('webhookId', w.webhookId);
        single?.addMetric(WATERMARK_LAG_METRIC, MetricUnit.Seconds, w.lagSeconds);
      }
      deps.logger.info('webhook polled', { ...w });
    }
    const lag = Math.max(0, ...webhooks.map((w) => w.lagSeconds));
    if (behind(lag)) deps.metrics?.addMetric(WATERMARK_LAG_METRIC, MetricUnit.Seconds, lag);
    // Running out of time or budget under a backlog is normal, as long as each poll moves the watermark: the
    // next tick resumes. A poll that read pages but moved nothing is an error (see WebhookPollResult.stalled).
    const failed = webhooks.filter((w) => w.error && !isResumable(w));
    count('PollErrors', failed.length);
    if (failed.length > 0) {
      const detail = failed.map((w) => `${w.webhookId}: ${w.error?.message}`).join('; ');
      throw new PollFailedError(`poll failed for ${failed.length} webhook(s): ${detail}`);
    }
    return { webhooks };
  };
  const base = async (event: unknown, context: Context): Promise<PollSummary> => {
    // The request id: a retried asynchronous invocation keeps it, so a retry of a poll that died may re-enter.
    const holder = context.awsRequestId;
    const until = new Date(Date.now() + context.getRemainingTimeInMillis() + LEASE_MARGIN_MS);
    if (!(await deps.lease.acquire(holder, until))) {
      deps.logger.info('poll skipped: another poll holds the lease', { holder });
      deps.metrics?.addMetric('PollsSkipped', MetricUnit.Count, 1);
      return { webhooks: [], skipped: true };
    }
    try {
      return await poll(event, context);
    } finally {
      // A failed release is logged, not thrown: it must not hide the poll's own outcome, and the lease expires.
      await deps.lease.release(holder).catch((error: unknown) => {
        deps.logger.warn('poll lease not released; it expires by itself', {
          holder,
          error: error instanceof Error ? error.message : String(error),
        });
      });
    }
  };
  // Never the whole event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: it carries bodies and may carry credentials.
  const handler = middy(base).use(injectLambdaContext(deps.logger, { logEvent: false }));
  // No ColdStart metric: nothing alarms on it, it would be billed every month, and Lambda's REPORT line has the
  // init duration.
  if (deps.metrics) handler.use(publishStoredMetrics(deps.metrics));
  return handler;
}

function isResumable(w: WebhookPollResult): boolean {
  if (w.stalled) return false;
  return w.error?.status === 429 || /(time|request) budget/.test(w.error?.message ?? '');
}

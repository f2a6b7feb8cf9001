import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';

/**
 * Powertools' logMetrics without its one drawback here: it warns on every invocation that adds no metric, and
 * the poller of an idle stack adds none on purpose (each custom metric is billed for every month it receives
 * data). This publishes what was added, after the handler and after its error alike, and says nothing otherwise.
 */
export function publishStoredMetrics(metrics: Metrics): MiddlewareObj {
  const publish = async (): Promise<void> => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: publish, onError: publish };
}

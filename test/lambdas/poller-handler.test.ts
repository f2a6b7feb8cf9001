import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import { MemoryLedger, MemoryPollLease, MemoryRetryQueue } from '../../bench/support/memory-ports';
import { PollFailedError, pollerHandler } from '../../lambdas/poller/poller-handler';
import { GenesysApiError } from '../../lambdas/shared/errors';
import type { FailedDeliverySource } from '../../lambdas/shared/ports';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { lambdaContext } from '../../local/lambda-context';

const settings = parsePipelineSettings({ WEBHOOK_ID: 'wh-stuck,wh-fine' });

/**
 * A log whose every window, however short, claims 500 pages for wh-stuck (a platform misbehaving, or a
 * second's worth of failures no poll can read), and whose budget runs out after 40 requests.
 */
function source(): FailedDeliverySource {
  let requests = 0;
  return {
    async *failedDeliveries() {},
    requestCapacity: () => Math.max(0, 40 - requests),
    readPage: async (window, pageNumber) => {
      requests += 1;
      if (requests > 40)
        throw new GenesysApiError('client budget spent', 429, 'client.rate.limit', undefined);
      if (window.webhookId === 'wh-fine') return { entries: [], pageCount: 0, hasNext: false };
      return { entries: [], pageCount: 500, hasNext: pageNumber < 500 };
    },
  };
}

describe('poller handler', () => {
  it('fails the poll (PollErrors, the alarm) when pages were read but a watermark could not move', async () => {
    const metrics = new Metrics({ namespace: 'WebhookRecovery', serviceName: 'test' });
    const added = vi.spyOn(metrics, 'addMetric');
    vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
    const handler = pollerHandler({
      source: source(),
      queue: new MemoryRetryQueue(),
      ledger: new MemoryLedger(),
      lease: new MemoryPollLease(),
      settings,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics,
    });
    const failure = await handler({}, lambdaContext('poller', 30)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(PollFailedError);
    expect(String(failure)).toMatch(/wh-stuck/);
    expect(String(failure)).not.toMatch(/wh-fine/);
    const calls = added.mock.calls.map(([name, , value]) => `${name}:${value}`);
    expect(calls).toContain('PollErrors:1');
    // The fine webhook is caught up; the stuck one is an hour behind (LOOKBACK_HOURS).
    expect(calls.find((c) => c.startsWith('WatermarkLagSeconds:'))).toMatch(/^WatermarkLagSeconds:36\d\d$/);
  });

  it('publishes the lag only when a webhook is a poll interval behind, per webhook only when there are several', async () => {
    const lagMetrics = async (webhookIds: string, behind: readonly string[] = []) => {
      const metrics = new Metrics({ namespace: 'WebhookRecovery', serviceName: 'test' });
      const added = vi.spyOn(metrics, 'addMetric');
      const singles: string[] = [];
      vi.spyOn(metrics, 'singleMetric').mockImplementation(() => {
        const single = new Metrics({ namespace: 'WebhookRecovery', serviceName: 'test' });
        let dimension = '';
        vi.spyOn(single, 'addDimension').mockImplementation((_name, value) => {
          dimension = value;
          return single;
        });
        vi.spyOn(single, 'addMetric').mockImplementation((name) => {
          singles.push(`${name}{${dimension}}`);
          return single;
        });
        return single;
      });
      vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
      // The webhooks in `behind` are refused (429): their watermarks stay an hour back (LOOKBACK_HOURS).
      const quiet: FailedDeliverySource = {
        async *failedDeliveries() {},
        readPage: async (window) => {
          if (behind.includes(window.webhookId))
            throw new GenesysApiError('slow down', 429, 'client.rate.limit', undefined);
          return { entries: [], pageCount: 0, hasNext: false };
        },
      };
      await pollerHandler({
        source: quiet,
        queue: new MemoryRetryQueue(),
        ledger: new MemoryLedger(),
        lease: new MemoryPollLease(),
        settings: parsePipelineSettings({ WEBHOOK_ID: webhookIds }),
        logger: new Logger({ logLevel: 'SILENT' }),
        metrics,
      })({}, lambdaContext('poller', 30));
      const lags = added.mock.calls.filter(([name]) => name === 'WatermarkLagSeconds').length;
      return { lags, singles };
    };
    // Caught up: no lag metric at all (its alarm treats no data as not breaching).
    expect(await lagMetrics('wh-only')).toEqual({ lags: 0, singles: [] });
    expect(await lagMetrics('wh-a,wh-b')).toEqual({ lags: 0, singles: [] });
    expect(await lagMetrics('wh-only', ['wh-only'])).toEqual({ lags: 1, singles: [] });
    expect(await lagMetrics('wh-a,wh-b', ['wh-a'])).toEqual({
      lags: 1,
      singles: ['WatermarkLagSeconds{wh-a}'],
    });
    expect(await lagMetrics('wh-a,wh-b', ['wh-a', 'wh-b'])).toEqual({
      lags: 1,
      singles: ['WatermarkLagSeconds{wh-a}', 'WatermarkLagSeconds{wh-b}'],
    });
  });

  it('publishes nothing, and warns of nothing, on an idle poll: no custom metric is billed for an idle stack', async () => {
    const metrics = new Metrics({ namespace: 'WebhookRecovery', serviceName: 'test' });
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const published = vi.spyOn(metrics, 'publishStoredMetrics');
    try {
      await pollerHandler({
        source: {
          async *failedDeliveries() {},
          readPage: async () => ({ entries: [], pageCount: 0, hasNext: false }),
        },
        queue: new MemoryRetryQueue(),
        ledger: new MemoryLedger(),
        lease: new MemoryPollLease(),
        settings: parsePipelineSettings({ WEBHOOK_ID: 'wh-idle' }),
        logger: new Logger({ logLevel: 'SILENT' }),
        metrics,
      })({}, lambdaContext('poller', 30));
      expect(published).not.toHaveBeenCalled();
      expect(warned).not.toHaveBeenCalled();
      expect(out.mock.calls.map(([line]) => String(line)).filter((l) => l.includes('_aws'))).toEqual([]);
    } finally {
      out.mockRestore();
      warned.mockRestore();
    }
  });
});

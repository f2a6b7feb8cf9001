import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PollFailedError } from '../../lambdas/poller/poller-handler';
import type { Ledger } from '../../lambdas/shared/ports';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type GenesysEmulator, startGenesysEmulator } from '../../local/genesys-emulator';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { drainQueue } from '../support/queue-contents';

/**
 * Issue 10, point 3: an invalid-entry write that fails while the page's claims are still in flight. Node's
 * default (--unhandled-rejections=throw) ends the process on an unhandled rejection, which is how local mode
 * used to exit; the listener below records any, and the test fails if there is one.
 */
const CLIENT = { clientId: 'id', clientSecret: 'secret' };
let emulator: GenesysEmulator;
let pipeline: LocalPipeline;
let failInvalidWrites = 1;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  emulator = await startGenesysEmulator({ clients: [CLIENT] });
  const created = new Date(Date.now() - 60_000).toISOString();
  const entry = (id: string, webhookUrl: string) => ({
    id,
    webhookId: 'wh-faults',
    status: 'failed' as const,
    httpStatusCode: 503,
    body: { id },
    headers: {},
    webhookUrl,
    dateCreated: created,
  });
  emulator.addDeliveries([
    entry('bad-1', 'ftp://hooks.example.com/not-http'),
    entry('good-1', 'http://127.0.0.1:9/a'),
    entry('good-2', 'http://127.0.0.1:9/b'),
  ]);
  pipeline = await startLocalPipeline({
    settings: parsePipelineSettings({
      GENESYS_CLOUD_REGION: emulator.url,
      WEBHOOK_ID: 'wh-faults',
      TARGET_ALLOW_LOOPBACK: 'true', // the good entries point at this machine, as in local mode
    }),
    credentials: CLIENT,
    // Claims are slow; the invalid-entry write fails at once, while they are in flight.
    decorateLedger: (ledger: Ledger): Ledger =>
      new Proxy(ledger, {
        get(target, prop, receiver) {
          if (prop === 'claim') {
            return async (...args: Parameters<Ledger['claim']>) => {
              await new Promise((resolve) => setTimeout(resolve, 100));
              return target.claim(...args);
            };
          }
          if (prop === 'recordInvalid') {
            return async (...args: Parameters<Ledger['recordInvalid']>) => {
              if (failInvalidWrites > 0) {
                failInvalidWrites -= 1;
                throw new Error('injected: DynamoDB write failed');
              }
              return target.recordInvalid(...args);
            };
          }
          const value = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
  });
  // Nothing should be redelivered during this test: the event source would only race the queue checks.
  await pipeline.eventSource.stop();
}, 30_000);

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await pipeline?.stop();
  await emulator?.stop();
});

describe('a failed invalid-entry write while claims are in flight', () => {
  it('is reported by the poll, enqueues the good entries anyway, and the next poll records it', async () => {
    const first = await pipeline.pollOnce().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(first).toBeInstanceOf(PollFailedError);
    expect(String(first)).toMatch(/could not record a delivery-log entry.*injected: DynamoDB write failed/);
    // The watermark stayed put: the refused entry is still to be recorded.
    const before = await pipeline.ledger.getWatermark('wh-faults');
    const queued = await drainQueue(pipeline.aws.sqs, pipeline.aws.retryQueueUrl);
    expect(queued.map((m) => m.deliveryId).sort()).toEqual(['good-1', 'good-2']);

    const second = await pipeline.pollOnce();
    expect(second.webhooks[0]).toMatchObject({ complete: true, invalid: 1, enqueued: 0, duplicates: 2 });
    const after = await pipeline.ledger.getWatermark('wh-faults');
    expect(Date.parse(after?.through ?? '')).toBeGreaterThan(Date.parse(before?.through ?? ''));
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
  });
});

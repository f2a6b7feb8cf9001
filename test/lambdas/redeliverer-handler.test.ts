import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryTargetStateStore } from '../../bench/support/memory-ports';
import type { RedeliveryOutcome } from '../../lambdas/redeliverer/redeliver';
import { redelivererHandler } from '../../lambdas/redeliverer/redeliverer-handler';
import { TargetGate } from '../../lambdas/redeliverer/target-gate';
import { RetryableDeliveryError } from '../../lambdas/shared/errors';
import type { SendResult } from '../../lambdas/shared/ports';
import { FakeLedger, FakeQueue, FakeSender, retryMessage } from '../unit/redeliver-fakes';

const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'redeliverer',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:redeliverer',
  memoryLimitInMB: '256',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/redeliverer',
  logStreamName: 'stream',
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

function record(messageId: string, body: unknown, receiveCount = 1): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '1764331200000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1764331200000',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:retry',
    awsRegion: 'eu-west-1',
  };
}

/** Each target path answers differently, so one batch exercises every outcome. */
function answerFor(url: string): SendResult | Error {
  const path = new URL(url).pathname;
  if (path === '/ok') return { status: 200, durationMs: 10 };
  if (path === '/busy') return { status: 503, durationMs: 20 };
  if (path === '/gone') return { status: 410, durationMs: 30 };
  return new RetryableDeliveryError('request to hooks.example.com failed: ECONNREFUSED');
}

function setup(options: { metrics?: Metrics } = {}) {
  const ledger = new FakeLedger();
  const queue = new FakeQueue();
  const sender = new FakeSender(answerFor);
  const outcomes: RedeliveryOutcome[] = [];
  const handler = redelivererHandler({
    sender,
    gate: new TargetGate({
      store: new MemoryTargetStateStore(),
      timeoutSeconds: 10,
      baseSeconds: 5,
      capSeconds: 3_600,
    }),
    queue,
    ledger,
    settings: {
      MAX_RETRIES: 3,
      FORWARD_CREDENTIAL_HEADERS: false,
      RETRY_DELAY_SECONDS: 5,
      MAX_RETRY_DELAY_SECONDS: 3_600,
      TARGET_ALLOWED_HOSTS: [],
      DELIVERY_TIMEOUT_SECONDS: 10,
      MAX_HOLD_SECONDS: 86_400,
      TARGET_ALLOW_LOOPBACK: false,
      TARGET_ALLOW_PRIVATE: false,
    },
    random: () => 0.5,
    now: () => new Date('2026-11-28T13:00:00.000Z'),
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    onOutcome: (o) => outcomes.push(o),
  });
  return { handler, ledger, queue, sender, outcomes };
}

const message = (path: string) => retryMessage({ targetUrl: `https://hooks.example.com${path}` });

describe('redelivererHandler', () => {
  it('reports exactly the records that failed, each on its own', async () => {
    const { handler, ledger, outcomes, sender } = setup();
    const crashing = message('/ok-but-ledger-down');
    ledger.failGetEvent = (key) => key === crashing.eventKey;
    const event: SQSEvent = {
      Records: [
        record('ok', message('/ok')),
        record('busy', message('/busy')),
        record('gone', message('/gone')),
        record('invalid', 'not json'),
        // A later receive (a first one claims without reading the ledger).
        record('crash', crashing, 2),
        record('ok-2', retryMessage({ targetUrl: 'https://hooks.example.com/ok', body: 'plain text' })),
      ],
    };

    const response = await handler(event, context);

    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      ['busy', 'crash', 'gone', 'invalid'].sort(),
    );
    // The crashing record never reached the target, and did not stop the others.
    expect(sender.requests.map((r) => new URL(r.url).pathname).sort()).toEqual([
      '/busy',
      '/gone',
      '/ok',
      '/ok',
    ]);
    expect(Object.fromEntries(outcomes.map((o) => [o.messageId, o.result]))).toEqual({
      ok: 'delivered',
      'ok-2': 'delivered',
      busy: 'retry-scheduled',
      gone: 'permanent',
      invalid: 'invalid-message',
    });
  });

  it('answers with every record, rather than throwing, when the whole batch must wait', async () => {
    const { handler, queue } = setup();
    const event: SQSEvent = { Records: [record('a', message('/busy')), record('b', message('/refused'))] };

    const response = await handler(event, context);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'a' }, { itemIdentifier: 'b' }] });
    expect(queue.visibility.map((v) => v.receiptHandle).sort()).toEqual(['rh-a', 'rh-b']);
  });

  it('answers an all-delivered batch with no failures', async () => {
    const { handler, ledger } = setup();
    const response = await handler({ Records: [record('a', message('/ok'))] }, context);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ledger.attempts.map((a) => a.status)).toEqual(['delivered']);
  });

  it('counts outcomes and delivery time as metrics', async () => {
    const metrics = new Metrics({ namespace: 'WebhookRecovery', serviceName: 'test' });
    const added = vi.spyOn(metrics, 'addMetric');
    const published = vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
    const { handler, ledger } = setup({ metrics });
    // Two real attempts already spent from this event's budget: the third is its last.
    const spent = message('/busy?spent');
    ledger.seed(spent.eventKey, 'enqueued', undefined, undefined, { budgetAttempts: 2 });
    const event: SQSEvent = {
      Records: [
        record('ok', message('/ok')),
        record('busy', message('/busy')),
        record('gone', message('/gone')),
        record('spent', spent, 3),
      ],
    };

    await handler(event, context);

    const calls = added.mock.calls.map(([name, unit, value]) => `${name}:${unit}:${value}`).sort();
    expect(calls).toEqual(
      [
        'Delivered:Count:1',
        'Retried:Count:1',
        'PermanentFailures:Count:1',
        'RetriesExhausted:Count:1',
        'DeliveryDurationMs:Milliseconds:10',
        'DeliveryDurationMs:Milliseconds:20',
        'DeliveryDurationMs:Milliseconds:30',
        'DeliveryDurationMs:Milliseconds:20',
      ].sort(),
    );
    expect(published).toHaveBeenCalledTimes(1);
  });
});

describe('the Lambda entry (lambdas/redeliverer/handler.ts)', () => {
  const env = {
    WEBHOOK_ID: 'wh-1',
    RETRY_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/retry',
    LEDGER_TABLE_NAME: 'webhook-recovery-ledger',
    AWS_REGION: 'eu-west-1',
    // As the stack sets it: signing is on by default and the key is read on the first send, not at init.
    SIGNING_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hooks/signing-AbC123',
  };

  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('wires a handler at cold start from the environment', async () => {
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    const entry = await import('../../lambdas/redeliverer/handler');
    expect(typeof entry.handler).toBe('function');
    expect(typeof entry.handler.use).toBe('function');
  });

  it('fails the cold start, naming the variable, when a setting is bad', async () => {
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    vi.stubEnv('MAX_RETRIES', 'lots');
    await expect(import('../../lambdas/redeliverer/handler')).rejects.toThrow(/MAX_RETRIES/);
  });
});

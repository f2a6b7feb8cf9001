import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { Agent, request } from 'undici';
import { createTargetGate, createWebhookSender } from '../lambdas/redeliverer/create-webhook-sender';
import { redelivererHandler } from '../lambdas/redeliverer/redeliverer-handler';
import { DynamoDbLedger } from '../lambdas/shared/adapters/dynamodb-ledger';
import { SigningWebhookSender } from '../lambdas/shared/adapters/signing-webhook-sender';
import { normaliseDelivery } from '../lambdas/shared/domain/normalise-delivery';
import type { RetryMessage } from '../lambdas/shared/domain/retry-message';
import { PUBLIC_TARGETS_ONLY } from '../lambdas/shared/domain/target';
import type { Ledger } from '../lambdas/shared/ports';
import { parsePipelineSettings } from '../lambdas/shared/settings';
import { lambdaContext } from '../local/lambda-context';
import { startLocalAws } from '../local/local-aws';
import { failedDeliveries } from './support/deliveries';
import { MemoryLedger, MemoryRetryQueue, MemoryTargetStateStore } from './support/memory-ports';
import type { Receivers } from './support/receivers';
import { silenced } from './support/silence';
import { since } from './support/stats';

const WEBHOOK_ID = 'wh-throughput';

/** The benchmark's signing key (Standard Webhooks form); the deployed redeliverer signs every request. */
const SIGNING_KEY = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

/** Retry messages as the poller would enqueue them, each a distinct event, all to the healthy receiver. */
export function retryMessages(count: number, targetUrl: string): RetryMessage[] {
  const now = new Date();
  return failedDeliveries({
    count,
    webhookId: WEBHOOK_ID,
    now: now.getTime(),
    urlFor: (i) => `${targetUrl}/hooks/${i % 20}`,
  }).map((entry) => {
    const normalised = normaliseDelivery(entry, {
      webhookId: WEBHOOK_ID,
      forwardCredentials: false,
      // The receivers listen on 127.0.0.1, as in local mode.
      targets: { ...PUBLIC_TARGETS_ONLY, TARGET_ALLOW_LOOPBACK: true },
      now,
    });
    if (!normalised.ok) throw new Error(`benchmark delivery is invalid: ${normalised.reason}`);
    return normalised.message;
  });
}

function sqsRecord(message: RetryMessage, i: number): SQSRecord {
  return {
    messageId: `bench-${i}`,
    receiptHandle: `rh-${i}`,
    body: JSON.stringify(message),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'bench',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:bench',
    awsRegion: 'us-east-1',
  };
}

/** One timed pass: records per second and log bytes per record. */
export interface Pass {
  readonly recordsPerSecond: number;
  readonly logBytesPerRecord: number;
}

/**
 * The real redeliverer handler (middy, Powertools batch processor, logger at INFO and EMF metrics, the node:http
 * sender signing every request, its pool sized by BATCH_SIZE) as one warm Lambda instance runs it, built as
 * lambdas/redeliverer/handler.ts builds it: batches one after another, the records of a batch in parallel.
 * The queue is in memory (a delivered record never touches it); the ledger is in memory unless one is given.
 */
export async function handlerPass(
  messages: readonly RetryMessage[],
  batchSize: number,
  ledger: Ledger = new MemoryLedger(),
  logLevel: 'INFO' | 'WARN' = 'INFO',
): Promise<Pass> {
  const settings = parsePipelineSettings({
    WEBHOOK_ID,
    DELIVERY_TIMEOUT_SECONDS: '10',
    TARGET_ALLOW_LOOPBACK: 'true',
    BATCH_SIZE: String(batchSize),
  });
  // As deployed: signed (the key read once, as a warm instance holds it for 5 minutes), one connection per record.
  const sender = new SigningWebhookSender({
    sender: createWebhookSender(settings),
    secret: async () => SIGNING_KEY,
    maxAgeSeconds: 300,
    secretSource: 'bench',
  });
  let delivered = 0;
  const handler = redelivererHandler({
    sender,
    gate: createTargetGate(settings, new MemoryTargetStateStore()),
    queue: new MemoryRetryQueue(),
    ledger,
    settings,
    random: Math.random,
    now: () => new Date(),
    logger: new Logger({ serviceName: 'redeliverer', logLevel }),
    metrics: new Metrics({ namespace: 'Bench', serviceName: 'redeliverer' }),
    onOutcome: (o) => {
      if (o.result === 'delivered') delivered += 1;
    },
  });
  const events: SQSEvent[] = [];
  for (let i = 0; i < messages.length; i += batchSize) {
    events.push({ Records: messages.slice(i, i + batchSize).map((m, j) => sqsRecord(m, i + j)) });
  }
  try {
    const { result: elapsedMs, bytes } = await silenced(async () => {
      const started = performance.now();
      for (const event of events) await handler(event, lambdaContext('redeliverer', 25));
      return since(started);
    });
    if (delivered !== messages.length) {
      throw new Error(`handler delivered ${delivered} of ${messages.length} records`);
    }
    return {
      recordsPerSecond: (messages.length / elapsedMs) * 1000,
      logBytesPerRecord: bytes / messages.length,
    };
  } finally {
    await sender.close();
  }
}

/**
 * The baseline: a bare keep-alive POST loop with undici, `concurrency` requests in flight at all times, sending
 * the same URLs, headers and bodies. No parsing, no decisions, no ledger, no logs: the ceiling for this machine.
 */
export async function rawLoopPass(messages: readonly RetryMessage[], concurrency: number): Promise<Pass> {
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 60_000 });
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < messages.length; i = next++) {
      const m = messages[i];
      if (!m) return;
      const response = await request(m.targetUrl, {
        method: 'POST',
        headers: { ...m.headers, 'content-type': m.contentType, 'idempotency-key': m.eventKey },
        body: m.body,
        dispatcher: agent,
      });
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`receiver answered ${response.statusCode}`);
    }
  };
  try {
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { recordsPerSecond: (messages.length / since(started)) * 1000, logBytesPerRecord: 0 };
  } finally {
    await agent.close();
  }
}

/** One side-by-side comparison at one batch size. */
export interface ThroughputPair {
  readonly handler: Pass;
  /** The handler with its logger at WARN (no INFO line per record), to show what the logging costs. */
  readonly handlerQuiet: Pass;
  readonly raw: Pass;
}

/**
 * Measures the handler and the raw loop back to back, alternating which goes first so that drift in the
 * machine's load does not favour one side. A warm-up pass of each comes first (JIT, connection pools).
 */
export async function throughputPair(
  receivers: Receivers,
  records: number,
  batchSize: number,
  handlerFirst: boolean,
): Promise<ThroughputPair> {
  const messages = retryMessages(records, receivers.healthyUrl);
  const warm = messages.slice(0, Math.min(messages.length, batchSize * 2));
  await handlerPass(warm, batchSize);
  await rawLoopPass(warm, batchSize);
  const quiet = () => handlerPass(messages, batchSize, new MemoryLedger(), 'WARN');
  if (handlerFirst) {
    const handler = await handlerPass(messages, batchSize);
    const handlerQuiet = await quiet();
    const raw = await rawLoopPass(messages, batchSize);
    return { handler, handlerQuiet, raw };
  }
  const raw = await rawLoopPass(messages, batchSize);
  const handlerQuiet = await quiet();
  const handler = await handlerPass(messages, batchSize);
  return { handler, handlerQuiet, raw };
}

/**
 * The handler with the real DynamoDB ledger adapter on dynalite (two UpdateItem per record: a first receive
 * reads nothing). An emulator in the same process is far slower than DynamoDB, so this shows that the ledger
 * dominates locally, not what it costs in AWS.
 */
export async function dynaliteLedgerPass(
  receivers: Receivers,
  records: number,
  batchSize: number,
): Promise<Pass> {
  const settings = parsePipelineSettings({ WEBHOOK_ID });
  const aws = await startLocalAws(settings);
  try {
    const ledger = new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 1, client: aws.doc });
    const messages = retryMessages(records, receivers.healthyUrl);
    await handlerPass(messages.slice(0, batchSize), batchSize, ledger);
    return await handlerPass(messages.slice(batchSize), batchSize, ledger);
  } finally {
    await aws.stop();
  }
}

import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { GenesysDeliverySource } from '../lambdas/shared/adapters/genesys-delivery-source';
import { parsePipelineSettings } from '../lambdas/shared/settings';
import { type GenesysEmulator, startGenesysEmulator } from '../local/genesys-emulator';
import { startLocalPipeline } from '../local/local-pipeline';
import { CommandCounter } from './support/command-counter';
import { failedDeliveries } from './support/deliveries';
import type { Receivers } from './support/receivers';
import { since } from './support/stats';

const CLIENT = { clientId: 'bench-client', clientSecret: 'bench-client-secret' };
const WEBHOOK_ID = 'wh-bench';

/** What one end-to-end run measured. */
export interface PipelineRun {
  readonly deliveries: number;
  readonly healthy: number;
  /** From the start of the poll to the last healthy delivery answered. */
  readonly elapsedMs: number;
  /** Healthy deliveries per second over `elapsedMs`. */
  readonly healthyPerSecond: number;
  readonly pollMs: number;
  readonly enqueued: number;
  readonly genesys: { readonly logins: number; readonly deliveryRequests: number };
  /** SQS commands by name while recovering (not counting the idle poll after). */
  readonly sqsCalls: Record<string, number>;
  /** SQS billable requests (64 KB units) by command name. */
  readonly sqsUnits: Record<string, number>;
  readonly dynamoDbCalls: Record<string, number>;
  /** A second poll once everything is recovered: what a poll that finds nothing new costs. */
  readonly idlePoll: {
    readonly genesysRequests: number;
    readonly logins: number;
    readonly dynamoDbCalls: Record<string, number>;
  };
  /** Approximate DynamoDB size of a delivered event's ledger item (names + values), for write units. */
  readonly eventItemBytes: number;
  /** Requests the black-holed targets swallowed (each ties up a record until the delivery timeout). */
  readonly swallowed: number;
}

/** Options of an end-to-end run through local mode. */
export interface PipelineRunOptions {
  readonly receivers: Receivers;
  readonly deliveries: number;
  /** Every `blackHoleEvery`-th delivery goes to the black-holed target (2 = half). @default none */
  readonly blackHoleEvery?: number;
  /** Gives up after this long; the run then reports what it reached. */
  readonly timeoutMs: number;
}

/**
 * Recovers failed deliveries through local mode, exactly as `npm start` runs it: Genesys emulator → poller →
 * fauxqs → event-source stand-in → redeliverer → receivers, with the default batch size and concurrency, and a
 * delivery timeout of 2 s so black-holed targets give up quickly.
 */
export async function runPipeline(options: PipelineRunOptions): Promise<PipelineRun> {
  const { receivers, deliveries: n } = options;
  const every = options.blackHoleEvery ?? 0;
  const dead = (i: number) => every > 0 && i % every === every - 1;
  const healthy = Array.from({ length: n }, (_, i) => i).filter((i) => !dead(i)).length;
  const emulator = await startGenesysEmulator({
    clients: [CLIENT],
    deliveries: failedDeliveries({
      count: n,
      webhookId: WEBHOOK_ID,
      now: Date.now(),
      urlFor: (i) => `${dead(i) ? receivers.blackHoleUrl : receivers.healthyUrl}/hooks/${i % 20}`,
    }),
  });
  const settings = parsePipelineSettings({
    GENESYS_CLOUD_REGION: emulator.url,
    WEBHOOK_ID,
    DELIVERY_TIMEOUT_SECONDS: '2',
    RETRY_DELAY_SECONDS: '1',
    MAX_RETRY_DELAY_SECONDS: '2',
    // The receivers listen on 127.0.0.1, as in local mode.
    TARGET_ALLOW_LOOPBACK: 'true',
  });
  const pipeline = await startLocalPipeline({ settings, credentials: CLIENT, waitTimeSeconds: 1 });
  const sqs = new CommandCounter();
  const dynamoDb = new CommandCounter();
  sqs.attach(pipeline.aws.sqs.middlewareStack);
  dynamoDb.attach(pipeline.aws.doc.middlewareStack);
  const answeredBefore = receivers.answered();
  const swallowedBefore = receivers.swallowed();
  try {
    const started = performance.now();
    const summary = await pipeline.pollOnce();
    const pollMs = since(started);
    const until = Date.now() + options.timeoutMs;
    while (receivers.answered() - answeredBefore < healthy && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const elapsedMs = since(started);
    const delivered = receivers.answered() - answeredBefore;
    // A target's answer comes before the handler records the attempt and the batch is deleted: let the last
    // batches finish so that the counts are whole, and so that the idle poll below is counted alone.
    if (every === 0) {
      const settleBy = Date.now() + 30_000;
      while (pipeline.eventSource.stats.deleted < delivered && Date.now() < settleBy) {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const sqsCalls = sqs.snapshot();
    const sqsUnits = { ...sqs.sqsBillableUnits };
    const dynamoDbCalls = dynamoDb.snapshot();
    const genesys = { logins: emulator.stats.logins, deliveryRequests: emulator.stats.deliveryRequests };
    await pipeline.pollOnce();
    const idlePoll = {
      genesysRequests: emulator.stats.deliveryRequests - genesys.deliveryRequests,
      logins: emulator.stats.logins - genesys.logins,
      dynamoDbCalls: difference(dynamoDb.snapshot(), dynamoDbCalls),
    };
    const scan = await pipeline.aws.doc.send(
      new ScanCommand({ TableName: pipeline.aws.tableName, Limit: 20 }),
    );
    const eventItem = (scan.Items ?? []).find((item) => item.kind === 'event');
    return {
      deliveries: n,
      healthy: delivered,
      elapsedMs,
      healthyPerSecond: (delivered / elapsedMs) * 1000,
      pollMs,
      enqueued: summary.webhooks.reduce((sum, w) => sum + w.enqueued, 0),
      genesys,
      sqsCalls,
      sqsUnits,
      dynamoDbCalls,
      idlePoll,
      eventItemBytes: eventItem ? itemBytes(eventItem) : 0,
      swallowed: receivers.swallowed() - swallowedBefore,
    };
  } finally {
    await pipeline.stop();
    await emulator.stop();
  }
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, count] of Object.entries(after)) {
    const delta = count - (before[name] ?? 0);
    if (delta > 0) out[name] = delta;
  }
  return out;
}

/** DynamoDB's item size rule, approximately: attribute names plus values, a few bytes per list or map. */
function itemBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return Math.ceil(String(value).length / 2) + 1;
  if (typeof value === 'boolean' || value === null || value === undefined) return 1;
  if (value instanceof Set) return [...value].reduce((sum: number, v: unknown) => sum + itemBytes(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v: unknown) => sum + 1 + itemBytes(v), 0);
  if (typeof value === 'object') {
    return (
      3 +
      Object.entries(value).reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k, 'utf8') + itemBytes(v), 0)
    );
  }
  return 0;
}

/** What one run of the seed-style loop measured. */
export interface SeedRun {
  readonly deliveries: number;
  readonly elapsedMs: number;
  readonly perSecond: number;
}

/**
 * The original design's loop, modelled: read the delivery log page by page (the same SDK adapter, so listing
 * costs the same on both sides), and POST each failed delivery's body to its URL with `fetch`, one request at a
 * time, waiting for each answer before the next. No queue, no ledger, no concurrency. `limit` stops after that
 * many deliveries (a sequential loop's rate does not depend on how many follow).
 */
export async function runSeedLoop(options: {
  readonly receivers: Receivers;
  readonly deliveries: number;
  readonly limit?: number;
}): Promise<SeedRun> {
  const { receivers, deliveries: n } = options;
  const limit = Math.min(n, options.limit ?? n);
  const now = Date.now();
  const emulator: GenesysEmulator = await startGenesysEmulator({
    clients: [CLIENT],
    deliveries: failedDeliveries({
      count: n,
      webhookId: WEBHOOK_ID,
      now,
      urlFor: (i) => `${receivers.healthyUrl}/hooks/${i % 20}`,
    }),
  });
  const source = new GenesysDeliverySource({ region: emulator.url, credentials: async () => CLIENT });
  try {
    const started = performance.now();
    let sent = 0;
    const window = { webhookId: WEBHOOK_ID, start: new Date(now - 3_600_000), end: new Date(now) };
    outer: for await (const page of source.failedDeliveries(window)) {
      for (const entry of page) {
        if (sent >= limit) break outer;
        const { webhookUrl, headers, body } = entry as {
          webhookUrl: string;
          headers: Record<string, string>;
          body: unknown;
        };
        const response = await fetch(webhookUrl, {
          method: 'POST',
          headers,
          body: typeof body === 'string' ? body : JSON.stringify(body),
        });
        await response.arrayBuffer();
        sent += 1;
      }
    }
    const elapsedMs = since(started);
    return { deliveries: sent, elapsedMs, perSecond: (sent / elapsedMs) * 1000 };
  } finally {
    await emulator.stop();
  }
}

import { queueDepth } from '../../cli/commands/status';
import type { RedeliveryOutcome } from '../../lambdas/redeliverer/redeliver';
import { eventKey } from '../../lambdas/shared/domain/event-key';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type EmulatedDelivery, startGenesysEmulator } from '../../local/genesys-emulator';
import { type LocalPipelineOptions, startLocalPipeline } from '../../local/local-pipeline';
import { drainQueue, eventually } from './queue-contents';

const CLIENT = { clientId: 'backpressure-client', clientSecret: 'backpressure-secret-value' };

export interface PlannedEvent {
  readonly url: string;
  readonly body: string;
}

/**
 * Runs the whole local pipeline (Genesys emulator → poller → fauxqs → redeliverer → real targets) over the given
 * failed deliveries until the retry queue is empty, then returns where each event ended: the event keys the DLQ
 * holds, and every outcome the redeliverer reported.
 */
export async function runPipeline(
  events: readonly PlannedEvent[],
  settings: Record<string, string>,
  timeoutMs: number,
  /** Local pipeline options; by default one warm redeliverer instance (its own gate) per concurrent batch. */
  options: Pick<LocalPipelineOptions, 'redelivererInstances'> = {},
): Promise<{
  keys: string[];
  dlq: Set<string>;
  outcomes: RedeliveryOutcome[];
  ledger: Awaited<ReturnType<typeof startLocalPipeline>>['ledger'];
  seconds: number;
  stop: () => Promise<void>;
}> {
  const started = Date.now();
  const webhookId = 'wh-single-host';
  const deliveries: EmulatedDelivery[] = events.map((e, i) => ({
    id: `d-${i}`,
    webhookId,
    status: 'failed',
    httpStatusCode: 503,
    body: e.body,
    headers: { 'Content-Type': 'application/json' },
    webhookUrl: e.url,
    dateCreated: new Date(started - 600_000 + i).toISOString(),
  }));
  const emulator = await startGenesysEmulator({ clients: [CLIENT], deliveries });
  const outcomes: RedeliveryOutcome[] = [];
  const pipeline = await startLocalPipeline({
    settings: parsePipelineSettings({
      GENESYS_CLOUD_REGION: emulator.url,
      WEBHOOK_ID: webhookId,
      // Polled once, by hand: the interval only sets the poll's timeout (interval − 5 s), room on a busy machine.
      POLL_INTERVAL_SECONDS: '60',
      BATCH_SIZE: '10',
      // Four concurrent batches: four redeliverer instances, each with its own gate, sharing holds through the table.
      MAX_CONCURRENCY: '4',
      // The targets are servers on this machine, as in local mode.
      TARGET_ALLOW_LOOPBACK: 'true',
      ...settings,
    }),
    credentials: CLIENT,
    logLevel: 'SILENT',
    waitTimeSeconds: 1,
    onOutcome: (o) => outcomes.push(o),
    ...options,
  });
  const stop = async () => {
    await pipeline.stop();
    await emulator.stop();
  };
  try {
    const poll = await pipeline.pollOnce();
    if (!poll.webhooks.every((w) => w.complete)) throw new Error('the poll did not read the whole log');
    // Delayed copies too: an event held back waits as one.
    const depth = async () => {
      const d = await queueDepth(pipeline.aws.sqs, pipeline.aws.retryQueueUrl);
      return d.visible + d.inFlight + d.delayed;
    };
    let quiet = 0;
    await eventually(
      async () => {
        quiet = (await depth()) === 0 ? quiet + 1 : 0;
        return quiet >= 3;
      },
      'the retry queue to drain',
      timeoutMs,
    );
    const dlq = new Set((await drainQueue(pipeline.aws.sqs, pipeline.aws.dlqUrl)).map((m) => m.eventKey));
    const keys = events.map((e) => eventKey(webhookId, e.url, e.body));
    return {
      keys,
      dlq,
      outcomes,
      ledger: pipeline.ledger,
      seconds: Math.round((Date.now() - started) / 1000),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { parsePipelineSettings } from '../lambdas/shared/settings';
import { startLocalPipeline } from '../local/local-pipeline';
import { CommandCounter } from './support/command-counter';
import type { Receivers } from './support/receivers';
import { since } from './support/stats';

/** The partner source the bench's events name (the shape of Genesys's; local mode takes any org). */
const SOURCE = 'aws.partner/genesys.com/cloud/00000000-0000-4000-8000-000000000000/bench';

/** What recovering events through the EventBridge source cost in AWS calls, counted at the SDK clients. */
export interface EventBridgeRun {
  readonly events: number;
  readonly delivered: number;
  readonly elapsedMs: number;
  /** SQS commands per event: the rules' SendMessage (local mode's stand-in for them) and the redeliverer's. */
  readonly sqsCallsPerEvent: Record<string, number>;
  readonly sqsUnitsPerEvent: number;
  readonly dynamoDbCallsPerEvent: Record<string, number>;
  /** PutItem + UpdateItem per event, failed conditional writes included. */
  readonly writesPerEvent: number;
  readonly readsPerEvent: number;
}

/**
 * Puts `events` Genesys events of one unordered route through local mode's PutEvents endpoint, exactly as
 * `npm start` takes them (rule → retry queue → redeliverer → receiver), waits until each is delivered and its
 * message deleted, and counts every SQS and DynamoDB call at the clients. Each event's content differs, so none is
 * a repeat: the figure is the cost of an event delivered on its first attempt.
 */
export async function runEventBridge(
  receivers: Receivers,
  events: number,
  timeoutMs: number,
): Promise<EventBridgeRun> {
  const route = {
    name: 'bench',
    topics: ['v2.detail.events.conversation.{id}.customer.end'],
    url: `${receivers.healthyUrl}/eb`,
  };
  const settings = parsePipelineSettings({
    ROUTES: JSON.stringify([route]),
    TARGET_ALLOW_LOOPBACK: 'true',
    DELIVERY_TIMEOUT_SECONDS: '2',
  });
  const pipeline = await startLocalPipeline({
    settings,
    credentials: { clientId: 'unused', clientSecret: 'unused' },
    waitTimeSeconds: 1,
    eventBridgePort: 0,
  });
  const client = new EventBridgeClient({
    region: 'us-east-1',
    endpoint: pipeline.eventBridge?.url ?? '',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const sqs = new CommandCounter();
  const dynamoDb = new CommandCounter();
  sqs.attach(pipeline.aws.sqs.middlewareStack);
  dynamoDb.attach(pipeline.aws.doc.middlewareStack);
  const answeredBefore = receivers.answered();
  try {
    const started = performance.now();
    // Many PutEvents in flight, as a busy Genesys org sends them: events arrive faster than one receive takes,
    // so the event source fills its batches, as Lambda's batching window does at ten or more events a second.
    const puts: number[] = [];
    for (let i = 0; i < events; i += 10) puts.push(i);
    const putBatch = async (i: number) => {
      const entries: PutEventsRequestEntry[] = [];
      for (let j = i; j < Math.min(events, i + 10); j += 1) entries.push(entry(j));
      const out = await client.send(new PutEventsCommand({ Entries: entries }));
      if (out.FailedEntryCount) throw new Error(`local PutEvents refused ${out.FailedEntryCount} entries`);
    };
    const lanes = Array.from({ length: 16 }, async () => {
      for (let i = puts.shift(); i !== undefined; i = puts.shift()) await putBatch(i);
    });
    await Promise.all(lanes);
    const until = Date.now() + timeoutMs;
    while (receivers.answered() - answeredBefore < events && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const elapsedMs = since(started);
    const delivered = receivers.answered() - answeredBefore;
    // The answer comes before the settlement and the delete: let the last batches finish so the counts are whole.
    while (pipeline.eventSource.stats.deleted < delivered && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    if (delivered < events) throw new Error(`EventBridge run delivered ${delivered} of ${events} events`);
    const dynamoDbCalls = dynamoDb.snapshot();
    const perEvent = (calls: Record<string, number>) =>
      Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, round(v / events)]));
    return {
      events,
      delivered,
      elapsedMs,
      sqsCallsPerEvent: perEvent(sqs.snapshot()),
      sqsUnitsPerEvent: round(Object.values(sqs.sqsBillableUnits).reduce((s, v) => s + v, 0) / events),
      dynamoDbCallsPerEvent: perEvent(dynamoDbCalls),
      writesPerEvent: round(((dynamoDbCalls.PutItem ?? 0) + (dynamoDbCalls.UpdateItem ?? 0)) / events),
      readsPerEvent: round((dynamoDbCalls.GetItem ?? 0) / events),
    };
  } finally {
    client.destroy();
    await pipeline.stop();
  }
}

/** A `customer.end` of its own conversation: Genesys's shape, about 1 KB. */
function entry(i: number): PutEventsRequestEntry {
  const conversationId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const topicName = `v2.detail.events.conversation.${conversationId}.customer.end`;
  return {
    Source: SOURCE,
    DetailType: 'v2.detail.events.conversation.{id}.customer.end',
    Detail: JSON.stringify({
      topicName,
      version: '2',
      eventBody: { conversationId, participantId: `p-${i}`, eventTime: Date.now(), pad: 'x'.repeat(800) },
      metadata: { CorrelationId: `bench-${i}` },
      timestamp: new Date().toISOString(),
    }),
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

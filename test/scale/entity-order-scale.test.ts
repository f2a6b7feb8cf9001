import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GAP_HEADER } from '../../lambdas/shared/domain/entity-order';
import type { LocalPipeline } from '../../local/local-pipeline';
import { startEventBridgePipeline } from '../support/eventbridge-pipeline';
import { GENESYS_EXAMPLE_SOURCE } from '../support/genesys-events';
import { drainQueue, eventually } from '../support/queue-contents';
import { startTargetServer, type TargetHit } from '../support/target-server';

/**
 * Order per entity on a bad day: 10,000 events of 2,000 conversations on one host, published in Genesys's order
 * and interleaved; every fourth conversation's first event is answered 503 once, every fiftieth conversation's
 * third event 410. Final states: each conversation's accepted events in order, the 410s (and only they) in the
 * DLQ, the event after each carrying the gap, nothing else lost.
 */
const CONVERSATIONS = 2_000;
const STEPS = 5;
const T0 = Date.parse('2026-12-01T10:00:00.000Z');

let targets: Awaited<ReturnType<typeof startTargetServer>>;
let pipeline: LocalPipeline;
let client: EventBridgeClient;
let stop: () => Promise<void>;

const eventOf = (body: Buffer) =>
  (JSON.parse(body.toString('utf8')) as { eventBody: { c: number; step: number } }).eventBody;
const refusedOnce = new Set<number>();

beforeAll(async () => {
  targets = await startTargetServer({
    '/ordered': (_n, body) => {
      const { c, step } = eventOf(body);
      if (c % 50 === 0 && step === 2) return 410;
      if (c % 4 === 0 && step === 0 && !refusedOnce.has(c)) {
        refusedOnce.add(c);
        return 503;
      }
      return 200;
    },
  });
  ({ pipeline, client, stop } = await startEventBridgePipeline(
    [
      {
        name: 'ordered',
        topics: ['v2.detail.events.conversation.{id}.*'],
        url: `${targets.url}/ordered`,
        order: 'per-entity',
      },
    ],
    { MAX_RETRIES: '10' },
  ));
}, 60_000);

afterAll(async () => {
  await stop?.();
  await targets?.stop();
});

describe('order per entity at the scale of a bad day', () => {
  it('delivers 10,000 events of 2,000 conversations in order on one host, the 410s dead-lettered with their gaps', async () => {
    const started = Date.now();
    for (let step = 0; step < STEPS; step += 1) {
      const entries: PutEventsRequestEntry[] = [];
      for (let c = 0; c < CONVERSATIONS; c += 1) {
        entries.push({
          Source: GENESYS_EXAMPLE_SOURCE,
          DetailType: 'conversation',
          Detail: JSON.stringify({
            topicName: `v2.detail.events.conversation.conv-${c}.step-${step}`,
            version: '2',
            eventBody: { c, step },
            metadata: { CorrelationId: `corr-${c}-${step}` },
            timestamp: new Date(T0 + step * 1_000).toISOString(),
          }),
        });
      }
      for (let i = 0; i < entries.length; i += 10) {
        const out = await client.send(new PutEventsCommand({ Entries: entries.slice(i, i + 10) }));
        expect(out.FailedEntryCount).toBe(0);
      }
      console.log(`published step ${step} of ${STEPS} (${Math.round((Date.now() - started) / 1000)} s)`);
    }
    const gone = CONVERSATIONS / 50;
    const expected = CONVERSATIONS * STEPS - gone;
    const accepted = () => targets.hitsOn('/ordered').filter((h) => h.status === 200);
    const dead: Awaited<ReturnType<typeof drainQueue>> = [];
    await eventually(
      async () => {
        dead.push(...(await drainQueue(pipeline.aws.sqs, pipeline.aws.dlqUrl)));
        return accepted().length >= expected && dead.length >= gone;
      },
      `${expected} delivered and ${gone} dead-lettered`,
      900_000,
    );
    console.log(
      `settled in ${Math.round((Date.now() - started) / 1000)} s: ${accepted().length} delivered, ${dead.length} dead-lettered, ${targets.hits.length} calls`,
    );
    const byConversation = new Map<number, TargetHit[]>();
    for (const h of accepted()) {
      const { c } = eventOf(h.body);
      byConversation.set(c, [...(byConversation.get(c) ?? []), h]);
    }
    const deadKeys = new Map(dead.map((m) => [eventOf(Buffer.from(m.body)).c, m.eventKey]));
    for (let c = 0; c < CONVERSATIONS; c += 1) {
      const hits = byConversation.get(c) ?? [];
      const steps = hits.map((h) => eventOf(h.body).step);
      if (c % 50 === 0) {
        expect(steps, `conversation ${c}`).toEqual([0, 1, 3, 4]);
        expect(hits[2]?.headers[GAP_HEADER.toLowerCase()]).toBe(deadKeys.get(c));
      } else {
        expect(steps, `conversation ${c}`).toEqual([0, 1, 2, 3, 4]);
      }
    }
    expect(dead).toHaveLength(gone);
    expect(accepted()).toHaveLength(expected);
    expect(await drainQueue(pipeline.aws.sqs, pipeline.aws.retryQueueUrl)).toEqual([]);
  }, 1_000_000);
});

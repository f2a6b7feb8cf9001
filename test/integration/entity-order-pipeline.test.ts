import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandCounter } from '../../bench/support/command-counter';
import type { LocalPipeline } from '../../local/local-pipeline';
import { startEventBridgePipeline } from '../support/eventbridge-pipeline';
import { GENESYS_EXAMPLE_SOURCE } from '../support/genesys-events';
import { drainQueue, eventually } from '../support/queue-contents';
import { startTargetServer, type TargetHit } from '../support/target-server';

/**
 * Order per entity in local mode (fauxqs, dynalite, four redeliverer instances), on the topology most orgs have:
 * one host for every route. The same conversations go once through an unordered route and once through an
 * ordered one, side by side in one run, so the DynamoDB calls order adds per event are measured, not guessed.
 */
const CONVERSATIONS = 20;
const STEPS = 5;
const EVENTS = CONVERSATIONS * STEPS;
const T0 = Date.parse('2026-12-01T10:00:00.000Z');

let targets: Awaited<ReturnType<typeof startTargetServer>>;
let pipeline: LocalPipeline;
let client: EventBridgeClient;
let stop: () => Promise<void>;
const commands = new CommandCounter();

const idOf = (hit: TargetHit) => {
  const d = JSON.parse(hit.body.toString('utf8')) as { eventBody: { c: number; step: number } };
  return d.eventBody;
};
/** Every fourth conversation's first event is answered 503 once, on either path: a retry that order must wait for. */
const refusedOnce = (path: string) => (_n: number, body: Buffer, before: readonly TargetHit[]) => {
  const { c, step } = idOf({ body } as TargetHit);
  if (c % 4 !== 0 || step !== 0) return 200;
  const seen = before.some((h) => h.path === path && idOf(h).c === c && idOf(h).step === 0);
  return seen ? 200 : 503;
};

beforeAll(async () => {
  targets = await startTargetServer({ '/plain': refusedOnce('/plain'), '/ordered': refusedOnce('/ordered') });
  const routes = [
    { name: 'plain', topics: ['v2.detail.events.conversation.{id}.*'], url: `${targets.url}/plain` },
    {
      name: 'ordered',
      topics: ['v2.conversations.{id}.*'],
      url: `${targets.url}/ordered`,
      order: 'per-entity',
    },
  ];
  ({ pipeline, client, stop } = await startEventBridgePipeline(
    routes,
    { MAX_RETRIES: '10' },
    { visibilityTimeoutSeconds: 1 },
  ));
  commands.attach(pipeline.aws.doc.middlewareStack);
}, 60_000);

afterAll(async () => {
  await stop?.();
  await targets?.stop();
});

/** Publishes every conversation's steps in Genesys's order, interleaved, ten entries a PutEvents. */
async function publish(prefix: string): Promise<void> {
  const entries: PutEventsRequestEntry[] = [];
  for (let step = 0; step < STEPS; step += 1) {
    for (let c = 0; c < CONVERSATIONS; c += 1) {
      const at = new Date(T0 + step * 1_000).toISOString();
      entries.push({
        Source: GENESYS_EXAMPLE_SOURCE,
        DetailType: 'conversation',
        Detail: JSON.stringify({
          topicName: `${prefix}.conv-${c}.step-${step}`,
          version: '2',
          eventBody: { c, step },
          metadata: { CorrelationId: `corr-${c}-${step}` },
          timestamp: at,
        }),
      });
    }
  }
  for (let i = 0; i < entries.length; i += 10) {
    const out = await client.send(new PutEventsCommand({ Entries: entries.slice(i, i + 10) }));
    expect(out.FailedEntryCount).toBe(0);
  }
}

const accepted = (path: string) => targets.hitsOn(path).filter((h) => h.status === 200);

/** DynamoDB calls per event made while `run` ran. */
async function measured(run: () => Promise<void>): Promise<Record<string, number>> {
  const before = commands.snapshot();
  await run();
  const per: Record<string, number> = {};
  for (const [name, n] of Object.entries(commands.calls)) {
    const d = n - (before[name] ?? 0);
    if (d > 0) per[name] = Math.round((d / EVENTS) * 100) / 100;
  }
  return per;
}

describe('order per entity, one host, four instances', () => {
  it('delivers every conversation in order on the ordered route, and says what order costs per event', async () => {
    const plain = await measured(async () => {
      await publish('v2.detail.events.conversation');
      await eventually(() => accepted('/plain').length === EVENTS, 'the unordered route delivered', 60_000);
    });
    const ordered = await measured(async () => {
      await publish('v2.conversations');
      await eventually(() => accepted('/ordered').length === EVENTS, 'the ordered route delivered', 120_000);
    });
    for (let c = 0; c < CONVERSATIONS; c += 1) {
      const steps = accepted('/ordered')
        .map(idOf)
        .filter((e) => e.c === c)
        .map((e) => e.step);
      expect(steps, `conversation ${c}`).toEqual([0, 1, 2, 3, 4]);
    }
    // Each event delivered once on each route; the refused first events were retried, and nothing dead-lettered.
    expect(targets.hitsOn('/ordered').filter((h) => h.status === 503)).toHaveLength(CONVERSATIONS / 4);
    expect(await drainQueue(pipeline.aws.sqs, pipeline.aws.dlqUrl)).toEqual([]);
    console.log(
      `DynamoDB calls per event: unordered ${JSON.stringify(plain)}, ordered ${JSON.stringify(ordered)}`,
    );
    // The entity's position: one registration and one end write per event, plus the waits' occasional writes.
    const extraWrites = (ordered.UpdateItem ?? 0) - (plain.UpdateItem ?? 0);
    expect(extraWrites).toBeGreaterThanOrEqual(1.9);
    expect(extraWrites).toBeLessThanOrEqual(3);
  }, 240_000);
});

import { createServer } from 'node:net';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import type { EventRecord } from '../../lambdas/shared/ports';
import { type PipelineSettings, parsePipelineSettings } from '../../lambdas/shared/settings';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { drainQueue, eventually } from '../support/queue-contents';
import {
  type RedelivererInstance,
  receive,
  redelivererInstance,
  sendCopy,
} from '../support/redeliverer-harness';
import { retryMessageTo } from '../support/retry-messages';
import { startTargetServer } from '../support/target-server';

/**
 * Issue 20, points 1 and 2, on fauxqs, dynalite and real HTTP targets: two live copies of one event (in one
 * batch, in different invocations of different instances), a stale copy after a verdict, a redrive after one, and
 * ledger calls that are throttled. Each instance is built as the stack builds one, with its own memory.
 */
const MAX_RETRIES = 3;
let aws: LocalAws;
let settings: PipelineSettings;
let targets: Awaited<ReturnType<typeof startTargetServer>>;
let refusedUrl: string;
let flipped = false;

beforeAll(async () => {
  settings = parsePipelineSettings({
    WEBHOOK_ID: 'wh-lifecycle',
    MAX_RETRIES: String(MAX_RETRIES),
    RETRY_DELAY_SECONDS: '1',
    MAX_RETRY_DELAY_SECONDS: '2',
    DELIVERY_TIMEOUT_SECONDS: '2',
    MAX_HOLD_SECONDS: '10',
    TARGET_ALLOW_LOOPBACK: 'true',
  });
  aws = await startLocalAws(settings, undefined, 1);
  const ok200then503 = (n: number) => (n === 1 ? 200 : 503);
  targets = await startTargetServer({
    ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`/batch-${i}`, ok200then503])),
    ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`/apart-${i}`, ok200then503])),
    '/race': ok200then503,
    '/flip': () => (flipped ? 200 : 503),
    '/throttled': () => 200,
    '/counted': () => 200,
  });
  // A port nothing listens on: connections are refused, the gate holds the host for an outage.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((r) => probe.close(() => r()));
  refusedUrl = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await targets?.stop();
  await aws?.stop();
});

const message = (path: string, base = targets.url): RetryMessage =>
  retryMessageTo('wh-lifecycle', base, path);

const event = (m: RetryMessage) => getEvent(m.eventKey);
async function getEvent(key: string): Promise<EventRecord | undefined> {
  const { DynamoDbLedger } = await import('../../lambdas/shared/adapters/dynamodb-ledger');
  return new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 1, client: aws.doc }).getEvent(key);
}

/** Every message on the retry queue and the DLQ, by event key (drained: call once the events settled). */
async function leftOver(): Promise<{ retry: RetryMessage[]; dead: RetryMessage[] }> {
  return { retry: await drainQueue(aws.sqs, aws.retryQueueUrl), dead: await drainQueue(aws.sqs, aws.dlqUrl) };
}

/** Runs instances in turn until `quiet` receives in a row find nothing. */
async function drain(
  instances: readonly RedelivererInstance[],
  quiet = 4,
  timeoutMs = 45_000,
  batchSize = 10,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let empty = 0;
  let turn = 0;
  while (empty < quiet) {
    if (Date.now() > until) throw new Error(`the retry queue did not drain in ${timeoutMs} ms`);
    const got = await receive(aws, batchSize, 1);
    empty = got.length === 0 ? empty + 1 : 0;
    await instances[turn++ % instances.length]?.invoke(got);
  }
}

describe('two live copies of one event', () => {
  it('both copies in one batch, target 200 then 503: called once, delivered, never dead-lettered', async () => {
    const events = Array.from({ length: 5 }, (_, i) => message(`/batch-${i}`));
    for (const m of events) {
      await sendCopy(aws, m);
      await sendCopy(aws, m);
    }
    const instance = redelivererInstance(aws, settings, 'one');
    const batch = await receive(aws, 10, 1);
    expect(batch).toHaveLength(10);
    await instance.invoke(batch);
    await drain([instance]);

    for (const [i, m] of events.entries()) {
      expect(targets.hitsOn(`/batch-${i}`).map((h) => h.status)).toEqual([200]);
      expect(await event(m)).toMatchObject({ status: 'delivered', budget: 1, budgetAttempts: 1 });
    }
    // Each event's other copy stood down: its claim, made without a read, was refused by the item, which was
    // claimed (superseded) or, by the time it came back, delivered.
    const results = instance.outcomes.map((o) => o.result);
    expect(results.filter((r) => r === 'delivered')).toHaveLength(5);
    expect(results.filter((r) => r === 'superseded' || r === 'already-delivered')).toHaveLength(5);
    expect(instance.outcomes.every((o) => o.acknowledged)).toBe(true);
    const { retry, dead } = await leftOver();
    expect(retry).toEqual([]);
    expect(dead.filter((d) => events.some((m) => m.eventKey === d.eventKey))).toEqual([]);
  }, 60_000);

  it('copies in invocations of two instances, one after the other and at once: one call per event', async () => {
    const events = Array.from({ length: 5 }, (_, i) => message(`/apart-${i}`));
    for (const m of events) {
      await sendCopy(aws, m);
      await sendCopy(aws, m);
    }
    const a = redelivererInstance(aws, settings, 'a');
    const b = redelivererInstance(aws, settings, 'b');
    // One record per invocation, alternating instances: the second copy finds the first one's verdict.
    await drain([a, b], 4, 45_000, 1);
    // And two instances at once on the two copies of one event: the claim lets one through.
    const race = message('/race');
    await sendCopy(aws, race);
    await sendCopy(aws, race);
    const copies = await receive(aws, 10, 1);
    expect(copies).toHaveLength(2);
    await Promise.all([a.invoke(copies.slice(0, 1)), b.invoke(copies.slice(1))]);
    await drain([a, b]);

    for (const [i, m] of events.entries()) {
      expect(targets.hitsOn(`/apart-${i}`).map((h) => h.status)).toEqual([200]);
      expect((await event(m))?.status).toBe('delivered');
    }
    expect(targets.hitsOn('/race').map((h) => h.status)).toEqual([200]);
    expect(await event(race)).toMatchObject({ status: 'delivered', budgetAttempts: 1 });
    const raceResults = [...a.outcomes, ...b.outcomes].filter((o) => o.eventKey === race.eventKey);
    expect(raceResults.map((o) => o.result).sort()).toEqual(['delivered', 'superseded']);
    const { retry, dead } = await leftOver();
    expect(retry).toEqual([]);
    expect(dead.filter((d) => [...events, race].some((m) => m.eventKey === d.eventKey))).toEqual([]);
  }, 60_000);
});

describe('verdicts, stale copies and redrives', () => {
  it('a stale copy sent before a MAX_HOLD verdict does not restart the hold clock', async () => {
    const instance = redelivererInstance(aws, settings, 'holder');
    // Three events to a refused host make it an outage: the gate holds it, and probes spend no budget.
    for (const path of ['/o-1', '/o-2', '/o-3']) await sendCopy(aws, message(path, refusedUrl));
    const held = message('/o-held', refusedUrl);
    await sendCopy(aws, held);
    // The stale copy: sent now (as an SDK retry of the send would), seen only after the verdict.
    await sendCopy(aws, held, 15);
    const started = Date.now();
    await eventually(
      async () => {
        await instance.invoke(await receive(aws, 10, 1));
        return (await event(held))?.status === 'exhausted';
      },
      'the hold verdict',
      30_000,
    );
    const verdict = await event(held);
    expect(verdict?.finalReason).toMatch(/^target held back for \d+ s .*MAX_HOLD_SECONDS is 10$/);
    const heldFor = Date.parse(verdict?.decidedAt ?? '') - Date.parse(verdict?.heldSince ?? '');
    expect(heldFor).toBeGreaterThanOrEqual(10_000);
    // Within one more hold of the limit: the longest re-send delay is the gate's hold plus its spread.
    expect(heldFor).toBeLessThan(10_000 + 5_000);
    // The stale copy arrives (15 s after it was sent), stands down, and nothing starts again.
    await eventually(
      async () => {
        await instance.invoke(await receive(aws, 10, 1));
        return instance.outcomes.some((o) => o.eventKey === held.eventKey && o.result === 'superseded');
      },
      'the stale copy',
      30_000,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(15_000);
    await drain([instance]);
    expect(await event(held)).toMatchObject({ status: 'exhausted', budget: 1, redrives: 0 });
    const { dead } = await leftOver();
    expect(dead.filter((d) => d.eventKey === held.eventKey)).toHaveLength(1);
  }, 90_000);

  it('a redrive after exhaustion gets a fresh budget and is delivered', async () => {
    const instance = redelivererInstance(aws, settings, 'redrive');
    const m = message('/flip');
    await sendCopy(aws, m);
    await drain([instance]);
    expect(await event(m)).toMatchObject({ status: 'exhausted', budget: 1, budgetAttempts: MAX_RETRIES });
    expect(targets.hitsOn('/flip')).toHaveLength(MAX_RETRIES);
    // The DLQ holds the one copy the verdict was taken on; a redrive moves it back with a new id.
    let redriven = 0;
    await eventually(
      async () => {
        const out = await aws.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: aws.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        for (const d of out.Messages ?? []) {
          if (!d.Body?.includes(m.eventKey)) continue;
          await aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.retryQueueUrl, MessageBody: d.Body }));
          await aws.sqs.send(
            new DeleteMessageCommand({ QueueUrl: aws.dlqUrl, ReceiptHandle: d.ReceiptHandle }),
          );
          redriven += 1;
        }
        return redriven > 0;
      },
      'the dead letter',
      20_000,
    );
    expect(redriven).toBe(1);
    flipped = true;
    await drain([instance]);
    expect(await event(m)).toMatchObject({ status: 'delivered', budget: 2, redrives: 1, budgetAttempts: 1 });
    expect(targets.hitsOn('/flip').map((h) => h.status)).toEqual([503, 503, 503, 200]);
    const { dead } = await leftOver();
    expect(dead.filter((d) => d.eventKey === m.eventKey)).toEqual([]);
  }, 90_000);
});

/**
 * A document client whose first calls of each command named in `times` answer
 * ProvisionedThroughputExceededException (that many of them).
 */
function throttling(
  doc: DynamoDBDocumentClient,
  times: Record<string, number>,
  calls: Record<string, number>,
) {
  const left = { ...times };
  return new Proxy(doc, {
    get(target, prop, receiver) {
      if (prop === 'send') {
        return async (command: { constructor: { name: string } }, ...rest: unknown[]) => {
          const name = command.constructor.name;
          calls[name] = (calls[name] ?? 0) + 1;
          if ((left[name] ?? 0) > 0) {
            left[name] = (left[name] ?? 0) - 1;
            throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });
          }
          return (target.send as (...a: unknown[]) => Promise<unknown>)(command, ...rest);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('the DLQ receives only verdicts', () => {
  it('three throttled ledger calls do not dead-letter the event: it is delivered after them', async () => {
    const calls: Record<string, number> = {};
    // The first receive claims without a read: its claim is throttled; the next two receives' reads are.
    const instance = redelivererInstance(aws, settings, 'throttled', {
      doc: throttling(aws.doc, { UpdateCommand: 1, GetCommand: MAX_RETRIES - 1 }, calls),
    });
    const m = message('/throttled');
    await sendCopy(aws, m);
    await drain([instance], 6);
    // Three receives ended without a decision (the handler threw); the fourth delivered it.
    expect(calls).toEqual({ UpdateCommand: 1 + 2, GetCommand: MAX_RETRIES });
    expect(await event(m)).toMatchObject({ status: 'delivered', budgetAttempts: 1 });
    expect(targets.hitsOn('/throttled')).toHaveLength(1);
    const { dead } = await leftOver();
    expect(dead.filter((d) => d.eventKey === m.eventKey)).toEqual([]);
  }, 60_000);

  it('costs no ledger read and two conditional writes per delivery on its first receive', async () => {
    const calls: Record<string, number> = {};
    const instance = redelivererInstance(aws, settings, 'counted', {
      doc: throttling(aws.doc, {}, calls),
    });
    const m = message('/counted');
    await sendCopy(aws, m);
    await drain([instance]);
    expect(await event(m)).toMatchObject({ status: 'delivered' });
    expect(calls).toEqual({ UpdateCommand: 2 });
  }, 30_000);
});

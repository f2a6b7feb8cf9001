import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Message } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandCounter } from '../../bench/support/command-counter';
import { DynamoDbLedger, ledgerKeys } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { ABSENT, claim } from '../../lambdas/shared/domain/event-lifecycle';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import { type PipelineSettings, parsePipelineSettings } from '../../lambdas/shared/settings';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { dynamoDbLikeDocumentClient } from '../support/all-old-on-condition-failure';
import { drainQueue } from '../support/queue-contents';
import { receive, redelivererInstance, runUntil, sendCopy } from '../support/redeliverer-harness';
import { retryMessageTo } from '../support/retry-messages';
import { startTargetServer } from '../support/target-server';

/**
 * Issue 25: a copy's first receive claims without reading the ledger (lambdas/redeliverer/redeliver.ts), on
 * fauxqs, dynalite and real HTTP targets. A claim the item refuses decides again on the item the refusal hands
 * back: from the exception where DynamoDB puts it (ReturnValuesOnConditionCheckFailure), or from a read where the
 * emulator returns none (dynalite). Both are run: `dynalite` as it is, and `DynamoDB-like`, dynalite with the
 * item added to the refusal on the wire. The ledger's own calls are counted at the client.
 */
let aws: LocalAws;
let settings: PipelineSettings;
let targets: Awaited<ReturnType<typeof startTargetServer>>;
const clients: { name: string; doc: DynamoDBDocumentClient; calls: CommandCounter }[] = [];

beforeAll(async () => {
  settings = parsePipelineSettings({
    WEBHOOK_ID: 'wh-first',
    MAX_RETRIES: '3',
    RETRY_DELAY_SECONDS: '1',
    MAX_RETRY_DELAY_SECONDS: '2',
    DELIVERY_TIMEOUT_SECONDS: '2',
    TARGET_ALLOW_LOOPBACK: 'true',
  });
  aws = await startLocalAws(settings, undefined, 1);
  const ok = () => 200;
  targets = await startTargetServer({
    '/enqueued': ok,
    ...Object.fromEntries(
      ['dynalite', 'DynamoDB-like'].flatMap((c) => [
        [`/same-id-${c}`, ok],
        [`/two-ids-${c}`, ok],
        [`/delivered-${c}`, ok],
      ]),
    ),
    '/verdict': (n) => (n === 1 ? 410 : 200),
    '/legacy': ok,
  });
  for (const [name, doc] of [
    ['dynalite', DynamoDBDocumentClient.from(new DynamoDBClient(aws.dynamoDbConfig))],
    ['DynamoDB-like', dynamoDbLikeDocumentClient(aws.dynamoDbConfig)],
  ] as const) {
    const calls = new CommandCounter();
    calls.attach(doc.middlewareStack);
    clients.push({ name, doc, calls });
  }
}, 60_000);

afterAll(async () => {
  await targets?.stop();
  await aws?.stop();
});

const message = (path: string): RetryMessage => retryMessageTo('wh-first', targets.url, path);

const ledger = () => new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 1, client: aws.doc });

/** The ledger calls `work` made through `calls`, by command, leaving out those it did not make. */
async function callsOf(calls: CommandCounter, work: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = calls.snapshot();
  await work();
  return Object.fromEntries(
    Object.entries(calls.calls)
      .map(([name, n]) => [name, n - (before[name] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}

/** Receives until `n` messages are in hand (fauxqs may hand a batch out in parts). */
async function receiveAll(n: number): Promise<Message[]> {
  const got: Message[] = [];
  for (let i = 0; i < 10 && got.length < n; i += 1) got.push(...(await receive(aws, 10, 1)));
  expect(got).toHaveLength(n);
  return got;
}

describe('a first receive claims without reading the ledger', () => {
  it('a poller-enqueued event costs no GetItem: one claim write and one settle write', async () => {
    const m = message('/enqueued');
    // As the poller leaves it: claimed (pending), then confirmed on the queue (enqueued), version 0.
    expect(await ledger().claim(m, { likelyNew: true })).toBe('new');
    await sendCopy(aws, m);
    await ledger().markEnqueued([m.eventKey]);
    expect(await ledger().getEvent(m.eventKey)).toMatchObject({ status: 'enqueued', version: 0 });
    const { doc, calls } = clients[0] ?? {};
    if (!doc || !calls) throw new Error('no client');
    const instance = redelivererInstance(aws, settings, 'enqueued', { doc });
    const copies = await receiveAll(1);
    expect(await callsOf(calls, () => instance.invoke(copies))).toEqual({ UpdateItem: 2 });
    expect(instance.outcomes).toMatchObject([{ result: 'delivered', attempt: 1, acknowledged: true }]);
    expect(await ledger().getEvent(m.eventKey)).toMatchObject({
      status: 'delivered',
      version: 2,
      budget: 1,
      budgetAttempts: 1,
      attemptsTotal: 1,
      deliveryId: m.deliveryId,
    });
    expect(targets.hitsOn('/enqueued')).toHaveLength(1);
  }, 30_000);

  describe.each(['dynalite', 'DynamoDB-like'])('a claim the item refuses, on %s', (name) => {
    const client = () => {
      const c = clients.find((x) => x.name === name);
      if (!c) throw new Error(`no client ${name}`);
      return c;
    };

    it('two receives of the same message at once: the target is called once', async () => {
      const m = message(`/same-id-${name}`);
      await sendCopy(aws, m);
      const [copy] = await receiveAll(1);
      if (!copy) throw new Error('no copy');
      // SQS's at-least-once: the same message handed to two instances, each as a first receive.
      const a = redelivererInstance(aws, settings, 'a', { doc: client().doc });
      const b = redelivererInstance(aws, settings, 'b', { doc: client().doc });
      await Promise.all([a.invoke([copy]), b.invoke([{ ...copy }])]);
      expect(targets.hitsOn(`/same-id-${name}`)).toHaveLength(1);
      const results = [...a.outcomes, ...b.outcomes].map((o) => o.result).sort();
      expect(results[1]).toBe('delivered');
      // The loser found the winner's claim live (busy: this very message), or, read later, its verdict.
      expect(['already-delivered', 'busy']).toContain(results[0]);
      expect(await ledger().getEvent(m.eventKey)).toMatchObject({ status: 'delivered', budgetAttempts: 1 });
      await drainQueue(aws.sqs, aws.retryQueueUrl);
    }, 30_000);

    it('two copies of one event (two message ids) at once: the target is called once', async () => {
      const m = message(`/two-ids-${name}`);
      await sendCopy(aws, m);
      await sendCopy(aws, m);
      const copies = await receiveAll(2);
      const a = redelivererInstance(aws, settings, 'a', { doc: client().doc });
      const b = redelivererInstance(aws, settings, 'b', { doc: client().doc });
      await Promise.all([a.invoke(copies.slice(0, 1)), b.invoke(copies.slice(1))]);
      expect(targets.hitsOn(`/two-ids-${name}`)).toHaveLength(1);
      const outcomes = [...a.outcomes, ...b.outcomes];
      expect(outcomes.map((o) => o.result).sort()).toEqual(
        expect.arrayContaining(['delivered', expect.stringMatching(/^(superseded|already-delivered)$/)]),
      );
      expect(outcomes.every((o) => o.acknowledged)).toBe(true);
      expect(await ledger().getEvent(m.eventKey)).toMatchObject({ status: 'delivered', budgetAttempts: 1 });
      expect(await drainQueue(aws.sqs, aws.retryQueueUrl)).toEqual([]);
    }, 30_000);

    it('a first receive of an event another copy delivered: acknowledged, no call, no second read', async () => {
      const m = message(`/delivered-${name}`);
      const { doc, calls } = client();
      const instance = redelivererInstance(aws, settings, 'delivered', { doc });
      await sendCopy(aws, m);
      await instance.invoke(await receiveAll(1));
      expect(instance.outcomes.at(-1)).toMatchObject({ result: 'delivered' });
      await sendCopy(aws, m);
      const late = await receiveAll(1);
      expect(late[0]?.Attributes?.ApproximateReceiveCount).toBe('1');
      const made = await callsOf(calls, () => instance.invoke(late));
      expect(instance.outcomes.at(-1)).toMatchObject({
        result: 'already-delivered',
        acknowledged: true,
        targetCalled: false,
      });
      // The refused claim; the item came back on the refusal from DynamoDB, from a read on dynalite.
      expect(made).toEqual(name === 'dynalite' ? { UpdateItem: 1, GetItem: 1 } : { UpdateItem: 1 });
      expect(targets.hitsOn(`/delivered-${name}`)).toHaveLength(1);
      expect(await drainQueue(aws.sqs, aws.retryQueueUrl)).toEqual([]);
    }, 30_000);

    it("the ledger's transition hands back the item that refused it, and none when there is none", async () => {
      const m = message(`/adapter-${name}`);
      const { doc, calls } = client();
      const own = new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 1, client: doc });
      const identity = { deliveryId: m.deliveryId, webhookId: m.webhookId, targetUrl: m.targetUrl };
      const first = claim(ABSENT, { budget: 1, spent: 0, redrive: false }, 'm-1', new Date(), 30);
      expect(await own.transition(m.eventKey, first, identity)).toEqual({ result: 'applied' });
      const stored = await own.getEvent(m.eventKey);
      let answer: unknown;
      const made = await callsOf(calls, async () => {
        answer = await own.transition(m.eventKey, first, identity);
      });
      expect(answer).toEqual({ result: 'conflict', current: stored });
      expect(made).toEqual(name === 'dynalite' ? { UpdateItem: 1, GetItem: 1 } : { UpdateItem: 1 });
      // A write that expects a version on an item that is not there: refused, and nothing to hand back.
      const missing = { ...first, expectVersion: 1 };
      expect(await own.transition(`${m.eventKey}-none`, missing, identity)).toEqual({
        result: 'conflict',
        current: undefined,
      });
    });
  });

  it('an item written before versions (none on it) is not taken for untouched: delivered stays delivered', async () => {
    const m = message('/legacy');
    await aws.doc.send(
      new PutCommand({
        TableName: aws.tableName,
        Item: {
          pk: ledgerKeys.event(m.eventKey),
          kind: 'event',
          eventKey: m.eventKey,
          deliveryId: m.deliveryId,
          webhookId: m.webhookId,
          targetUrl: m.targetUrl,
          status: 'delivered',
          attempts: [
            {
              attempt: 1,
              messageId: 'm-old',
              at: new Date().toISOString(),
              durationMs: 3,
              outcome: 'delivered',
            },
          ],
          budgetAttempts: 1,
          updatedAt: new Date().toISOString(),
        },
      }),
    );
    const instance = redelivererInstance(aws, settings, 'legacy', { doc: clients[1]?.doc });
    await sendCopy(aws, m);
    await instance.invoke(await receiveAll(1));
    expect(instance.outcomes).toMatchObject([{ result: 'already-delivered', acknowledged: true }]);
    expect(targets.hitsOn('/legacy')).toHaveLength(0);
    expect(await ledger().getEvent(m.eventKey)).toMatchObject({ status: 'delivered', version: 0 });
  }, 30_000);

  it('a copy after a verdict behaves as before: a stale one stands down, a redrive starts a new budget', async () => {
    const m = message('/verdict');
    const { doc } = clients[0] ?? {};
    const instance = redelivererInstance(aws, settings, 'verdict', { doc });
    await sendCopy(aws, m);
    // Sent now, seen after the verdict: a stale copy of the decided budget.
    await sendCopy(aws, m, 3);
    await runUntil(aws, [instance], () => instance.outcomes.some((o) => o.result === 'permanent'), 20_000);
    expect(await ledger().getEvent(m.eventKey)).toMatchObject({ status: 'permanent', budget: 1 });
    const stale = (o: { error?: string }) => o.error === 'sent before the permanent verdict';
    await runUntil(aws, [instance], () => instance.outcomes.some(stale), 20_000);
    expect(instance.outcomes.find(stale)).toMatchObject({ result: 'superseded', acknowledged: true });
    // A redrive, sent after the verdict (the verdict's own copy still fails fast until the DLQ takes it).
    await sendCopy(aws, m);
    await runUntil(
      aws,
      [instance],
      async () => (await ledger().getEvent(m.eventKey))?.status === 'delivered',
      20_000,
    );
    expect(await ledger().getEvent(m.eventKey)).toMatchObject({
      status: 'delivered',
      budget: 2,
      redrives: 1,
    });
    expect(targets.hitsOn('/verdict').map((h) => h.status)).toEqual([410, 200]);
  }, 60_000);
});

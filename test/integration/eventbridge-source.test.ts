import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dlqExportCommand } from '../../cli/commands/dlq-export';
import { dlqListCommand } from '../../cli/commands/dlq-list';
import { dlqShowCommand } from '../../cli/commands/dlq-show';
import { queueDepth, statusCommand } from '../../cli/commands/status';
import type { IntakeEvent } from '../../lambdas/intake/accept-genesys-event';
import type { RedeliveryOutcome } from '../../lambdas/redeliverer/redeliver';
import { ledgerKeys } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { targetId } from '../../lambdas/shared/domain/target-id';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { testCli } from '../cli/cli-test-context';
import { GENESYS_EXAMPLE_SOURCE, realExampleEvent } from '../support/genesys-events';
import { drainBodies, eventually } from '../support/queue-contents';
import { startTargetServer } from '../support/target-server';

/**
 * The EventBridge source end to end over real sockets: the AWS SDK's PutEventsCommand → local PutEvents endpoint
 * → routes → intake → fauxqs retry queue → redeliverer → HTTP targets, and SQS's redrive policy to the DLQ.
 */
const MAX_RETRIES = 3;
const CONV = 'v2.detail.events.conversation.7d1c0f2e-5a4b-4c3d-8e9f-0a1b2c3d4e5f';

let targets: Awaited<ReturnType<typeof startTargetServer>>;
let pipeline: LocalPipeline;
let client: EventBridgeClient;
const outcomes: RedeliveryOutcome[] = [];
const intake: IntakeEvent[] = [];

const detail = (topicName: string, extra: Record<string, unknown> = {}) => ({
  topicName,
  version: '2',
  eventBody: { conversationId: topicName.split('.')[4], ...extra },
  metadata: { CorrelationId: `corr-${topicName}-${JSON.stringify(extra)}` },
  timestamp: '2026-11-30T00:00:00.000Z',
});

const entry = (d: unknown, source = GENESYS_EXAMPLE_SOURCE): PutEventsRequestEntry => ({
  Source: source,
  DetailType: 'v2.detail.events.conversation.{id}.customer.end',
  Detail: JSON.stringify(d),
});

beforeAll(async () => {
  targets = await startTargetServer({
    '/ends': () => 200,
    '/flaky': (n) => (n === 1 ? 503 : 200),
    '/gone': () => 410,
    '/audits': () => 200,
  });
  const routes = [
    { name: 'ends', topics: ['v2.detail.events.conversation.{id}.customer.end'], url: `${targets.url}/ends` },
    { name: 'flaky', topics: ['v2.detail.events.conversation.{id}.acw'], url: `${targets.url}/flaky` },
    {
      name: 'gone',
      topics: ['v2.detail.events.conversation.{id}.acd.end'],
      url: `${targets.url}/gone`,
      headers: { 'X-Route': 'gone' },
    },
    { name: 'audits', topics: ['v2.audits.entitytype.{id}.entityid.{id}'], url: `${targets.url}/audits` },
  ];
  const settings = parsePipelineSettings({
    ROUTES: JSON.stringify(routes),
    TARGET_ALLOW_LOOPBACK: 'true',
    MAX_RETRIES: String(MAX_RETRIES),
    RETRY_DELAY_SECONDS: '1',
    MAX_RETRY_DELAY_SECONDS: '2',
    DELIVERY_TIMEOUT_SECONDS: '2',
  });
  pipeline = await startLocalPipeline({
    settings,
    credentials: { clientId: 'unused', clientSecret: 'unused' },
    waitTimeSeconds: 1,
    visibilityTimeoutSeconds: 1,
    eventBridgePort: 0,
    onOutcome: (o) => outcomes.push(o),
    onIntakeEvent: (e) => intake.push(e),
  });
  client = new EventBridgeClient({
    region: 'us-east-1',
    endpoint: pipeline.eventBridge?.url ?? '',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await pipeline?.stop();
  await targets?.stop();
});

describe('EventBridge source in local mode', () => {
  it('delivers the exact detail JSON once, with Content-Type and the content-derived Idempotency-Key', async () => {
    const d = detail(`${CONV}.customer.end`, { text: 'ünïcødé ✓' });
    const out = await client.send(new PutEventsCommand({ Entries: [entry(d)] }));
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    await eventually(
      () => outcomes.some((o) => o.result === 'delivered' && o.target === targetId(`${targets.url}/ends`)),
      'delivery',
    );
    const [hit, ...more] = targets.hitsOn('/ends');
    expect(more).toEqual([]);
    expect(hit?.body.toString('utf8')).toBe(JSON.stringify(d));
    expect(hit?.headers['content-type']).toBe('application/json');
    expect(hit?.headers['idempotency-key']).toMatch(/^[a-f0-9]{64}$/);
  });

  it('delivers the real example audit event of the shared document', async () => {
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: realExampleEvent.source,
            DetailType: realExampleEvent['detail-type'],
            Detail: JSON.stringify(realExampleEvent.detail),
            Time: new Date(realExampleEvent.time),
          },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    await eventually(() => targets.hitsOn('/audits').length === 1, 'the audit event');
    expect(targets.hitsOn('/audits')[0]?.body.toString('utf8')).toBe(JSON.stringify(realExampleEvent.detail));
  });

  it('delivers a duplicate (same content, new EventBridge id) once', async () => {
    const d = detail(`${CONV}.customer.end`, { n: 'dup' });
    const first = await client.send(new PutEventsCommand({ Entries: [entry(d)] }));
    const second = await client.send(new PutEventsCommand({ Entries: [entry(d)] }));
    expect(first.Entries?.[0]?.EventId).not.toBe(second.Entries?.[0]?.EventId);
    expect(second.FailedEntryCount).toBe(0);
    // Both copies are on the queue (a rule does not dedupe); the redeliverer's claim lets one through.
    const secondId = second.Entries?.[0]?.EventId;
    await eventually(
      () => outcomes.some((o) => o.deliveryId === secondId && o.acknowledged),
      'the second copy taken in',
    );
    const body = JSON.stringify(d);
    await eventually(
      () => targets.hitsOn('/ends').some((h) => h.body.toString('utf8') === body),
      'the first copy',
    );
    const copies = outcomes.filter(
      (o) => o.deliveryId === first.Entries?.[0]?.EventId || o.deliveryId === secondId,
    );
    expect(copies.filter((o) => o.result === 'delivered')).toHaveLength(1);
    expect(copies.filter((o) => o.repeat)).toHaveLength(1);
    expect(targets.hitsOn('/ends').filter((h) => h.body.toString('utf8') === body)).toHaveLength(1);
    // Nothing of either copy is left on the queue.
    const ids = [first.Entries?.[0]?.EventId, secondId];
    const queued = await drainBodies(pipeline.aws.sqs, pipeline.aws.retryQueueUrl);
    expect(queued.filter((m) => ids.includes((m as { event?: { id?: string } }).event?.id))).toEqual([]);
  });

  it('retries a 503 with the same key, dead-letters a 410, and the CLI shows its source and route', async () => {
    const out = await client.send(
      new PutEventsCommand({
        Entries: [entry(detail(`${CONV}.acw`)), entry(detail(`${CONV}.acd.end`))],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    await eventually(() => targets.hitsOn('/flaky').length === 2, 'the retry of the 503', 20_000);
    const [first, second] = targets.hitsOn('/flaky');
    expect(first?.status).toBe(503);
    expect(second?.status).toBe(200);
    expect(second?.headers['idempotency-key']).toBe(first?.headers['idempotency-key']);

    await eventually(
      async () => (await queueDepth(pipeline.aws.sqs, pipeline.aws.dlqUrl)).visible === 1,
      'the 410 in the DLQ',
      30_000,
    );
    expect(targets.hitsOn('/gone')).toHaveLength(1);
    expect(targets.hitsOn('/gone')[0]?.headers['x-route']).toBe('gone');
    const goneId = out.Entries?.[1]?.EventId ?? '';

    // The CLI shows which source and route a dead letter came from.
    const list = testCli(pipeline.aws);
    expect(await dlqListCommand(list.ctx, { json: true, waitTimeSeconds: 0 })).toBe(0);
    expect(JSON.parse(list.out())).toEqual([
      expect.objectContaining({ deliveryId: goneId, source: 'eventbridge', route: 'gone', lastStatus: 410 }),
    ]);
    const table = testCli(pipeline.aws);
    await dlqListCommand(table.ctx, { json: false, waitTimeSeconds: 0 });
    expect(table.out()).toMatch(/SOURCE\s+WEBHOOK\/ROUTE/);
    expect(table.out()).toMatch(/eventbridge\s+eventbridge:gone/);
    const show = testCli(pipeline.aws);
    expect(await dlqShowCommand(show.ctx, goneId, { json: false, waitTimeSeconds: 0 })).toBe(0);
    expect(show.out()).toMatch(/^ {2}source\s+eventbridge$/m);
    expect(show.out()).toMatch(/^ {2}route\s+gone$/m);
    const file = join(await mkdtemp(join(tmpdir(), 'eb-export-')), 'dlq.json');
    expect(await dlqExportCommand(testCli(pipeline.aws).ctx, { out: file, waitTimeSeconds: 0 })).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual([
      expect.objectContaining({ deliveryId: goneId, source: 'eventbridge', route: 'gone' }),
    ]);
    const status = testCli(pipeline.aws);
    expect(await statusCommand(status.ctx, { json: false })).toBe(0);
    expect(status.out()).toMatch(/eventbridge, route gone\s+1/);
    expect(status.out()).toMatch(/eventbridge, route ends\s+\d+/);

    const dead = await drainBodies(pipeline.aws.sqs, pipeline.aws.dlqUrl);
    expect(dead).toHaveLength(1);
    // The dead letter is what the rule queued, unchanged: the route and the whole event, for a redrive.
    expect(dead[0]).toMatchObject({ route: { name: 'gone' }, event: { id: goneId } });
  }, 60_000);

  it('counts an unmatched event and records it in the ledger', async () => {
    const before = intake.filter((e) => e.kind === 'unmatched').length;
    const out = await client.send(
      new PutEventsCommand({ Entries: [entry(detail('v2.users.u-1.presence'))] }),
    );
    expect(out.FailedEntryCount).toBe(0);
    expect(intake.filter((e) => e.kind === 'unmatched')).toHaveLength(before + 1);
    const id = out.Entries?.[0]?.EventId ?? '';
    // The catch-all rule queues it; the redeliverer records it, counts it and deletes the message.
    await eventually(() => outcomes.some((o) => o.deliveryId === id && o.result === 'unmatched'), 'recorded');
    const item = await pipeline.aws.doc.send(
      new GetCommand({
        TableName: pipeline.aws.tableName,
        Key: { pk: ledgerKeys.invalid('eventbridge', id) },
      }),
    );
    expect(item.Item?.reason).toBe('no route matches topic v2.users.u-1.presence');
  });

  it('refuses an entry over 256 KB on its own, in the EventBridge error shape, and takes the others', async () => {
    const big = detail(`${CONV}.customer.end`, { pad: 'x'.repeat(300 * 1024) });
    const small = detail(`${CONV}.customer.end`, { n: 'beside-the-big-one' });
    const out = await client.send(new PutEventsCommand({ Entries: [entry(big), entry(small)] }));
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[0]).toEqual({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: expect.stringMatching(/exceeds the maximum of 262144 bytes/),
    });
    expect(out.Entries?.[1]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ignores events of other sources, as a bus with only Genesys rules does', async () => {
    const before = intake.length;
    const out = await client.send(
      new PutEventsCommand({ Entries: [entry(detail(`${CONV}.customer.end`), 'my.app')] }),
    );
    expect(out.FailedEntryCount).toBe(0);
    expect(intake).toHaveLength(before);
  });
});

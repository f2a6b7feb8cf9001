import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GenesysEmulator, startGenesysEmulator } from '../../local/genesys-emulator';
import { GENESYS_EXAMPLE_SOURCE } from '../support/genesys-events';
import { drainQueue, eventually } from '../support/queue-contents';
import { startTargetServer } from '../support/target-server';
import { type DeployedStack, startDeployedStack } from './deployed-stack';
import { checkObservedCalls, observedCalls } from './observed-calls';

/**
 * The stack as deployed (issue 19): the synthesised template and each function's file from cdk.out, run in their
 * own processes under their own roles, against fauxqs, dynalite and a Secrets Manager stand-in through the IAM
 * proxy. Events enter as AWS delivers them: the schedule runs the poller against the Genesys emulator's delivery
 * log, EventBridge rules take events from the partner bus.
 */
const CLIENT = { clientId: 'deployed-client', clientSecret: 'deployed-client-secret-value' };
const WEBHOOK = 'wh-deployed';
const MAX_RETRIES = 4;
const HELD_FOR_MS = 10_000;
const ROUTE_ORIGIN = 'https://route-target.example';
const EVENT_SOURCE = GENESYS_EXAMPLE_SOURCE.replace(/[^/]+$/, 'deployed-test');
const HELD = ['held-1', 'held-2', 'held-3', 'held-4', 'held-5', 'held-6'];

const DEPLOYED_CONTEXT = {
  WEBHOOK_ID: WEBHOOK,
  eventSource: EVENT_SOURCE,
  ROUTES: JSON.stringify([
    { name: 'presence', topics: ['v2.users.{id}.presence'], url: `${ROUTE_ORIGIN}/presence` },
  ]),
  MAX_RETRIES: String(MAX_RETRIES),
  RETRY_DELAY_SECONDS: '1',
  MAX_RETRY_DELAY_SECONDS: '2',
  DELIVERY_TIMEOUT_SECONDS: '2',
};

/** A host that answers 429 with Retry-After for HELD_FOR_MS from its first request, then 200. */
async function startHeldHost() {
  let first: number | undefined;
  const hits: { path: string; status: number }[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      first ??= Date.now();
      const status = Date.now() - first < HELD_FOR_MS ? 429 : 200;
      hits.push({ path: req.url ?? '/', status });
      res.writeHead(status, status === 429 ? { 'Retry-After': '2' } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function presenceEvent(id: string, user: string) {
  return {
    version: '0' as const,
    id,
    'detail-type': 'v2.users.{id}.presence',
    source: EVENT_SOURCE,
    account: '111111111111',
    time: '2026-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      topicName: `v2.users.${user}.presence`,
      version: '2',
      eventBody: { id: user, presenceDefinition: { systemPresence: 'Available' } },
      metadata: { CorrelationId: `correlation-${user}` },
      timestamp: '2026-01-01T00:00:00.000Z',
    },
  };
}

let targets: Awaited<ReturnType<typeof startTargetServer>>;
let held: Awaited<ReturnType<typeof startHeldHost>>;
let emulator: GenesysEmulator;
let stack: DeployedStack;
const started = Date.now();

type LedgerItem = {
  kind: string;
  deliveryId: string;
  status?: string;
  duplicateDeliveryIds?: Set<string>;
  attempts?: { status: number }[];
};
async function ledger(): Promise<LedgerItem[]> {
  const table = stack.resources[stack.logicalId('AWS::DynamoDB::Table', 'Ledger')]?.ref;
  const out = await stack.doc.send(new ScanCommand({ TableName: table }));
  return (out.Items ?? []) as LedgerItem[];
}
const statusOf = (items: LedgerItem[], id: string) =>
  items.find((i) => i.kind === 'event' && i.deliveryId === id)?.status;

beforeAll(async () => {
  targets = await startTargetServer({
    '/ok': () => 200,
    '/flaky': (n) => (n <= 2 ? 503 : 200),
    '/gone': () => 410,
    '/presence': () => 200,
  });
  held = await startHeldHost();
  const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
  const entry = (id: string, url: string, s: number) => ({
    id,
    webhookId: WEBHOOK,
    status: 'failed' as const,
    httpStatusCode: 503,
    body: { eventId: id },
    headers: { 'User-Agent': 'Genesys' },
    webhookUrl: url,
    dateCreated: ago(s),
  });
  emulator = await startGenesysEmulator({
    clients: [CLIENT],
    deliveries: [
      entry('ok-1', `${targets.url}/ok`, 600),
      entry('ok-2', `${targets.url}/ok`, 590),
      entry('flaky', `${targets.url}/flaky`, 580),
      entry('gone', `${targets.url}/gone`, 570),
      ...HELD.map((id, i) => entry(id, `${held.url}/${id}`, 560 - i)),
    ],
  });
  stack = await startDeployedStack({
    context: DEPLOYED_CONTEXT,
    instances: { RedelivererFunction: 3 },
    outsideWorld: { GENESYS_CLOUD_REGION: emulator.url, TARGET_ALLOW_LOOPBACK: 'true' },
    hostMap: { [ROUTE_ORIGIN]: targets.url },
  });
  // The operator's step after the deploy: the Genesys credentials into the secret the stack created.
  const secret =
    stack.resources[stack.logicalId('AWS::SecretsManager::Secret', 'GenesysCredentials')]?.ref ?? '';
  stack.secrets.put(secret, JSON.stringify(CLIENT));
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await emulator?.stop();
  await held?.stop();
  await targets?.stop();
});

describe('the stack as deployed: each function from cdk.out, under its own role', () => {
  const deadLetters: Awaited<ReturnType<typeof drainQueue>> = [];

  it('settles every event in its right final state', async () => {
    const polls = await stack.tick();
    expect(polls).toEqual([expect.objectContaining({ ok: true })]);
    const bus =
      stack.resources[stack.logicalId('AWS::Events::EventBus', 'EventBridgeSourcePartnerEventBus')]?.ref ??
      '';
    const first = await stack.rules.put(bus, presenceEvent('eb-1', 'user-a'));
    const repeat = await stack.rules.put(bus, presenceEvent('eb-1-again', 'user-a'));
    const unmatched = await stack.rules.put(bus, {
      ...presenceEvent('eb-2', 'user-b'),
      detail: { ...presenceEvent('eb-2', 'user-b').detail, topicName: 'v2.routing.queues.q1.conversations' },
    });
    for (const d of [...first, ...repeat, ...unmatched])
      expect(d.result, stack.output()).toMatchObject({ ok: true });
    expect([first, repeat, unmatched].map((d) => d.map((x) => x.rule.replace(/[0-9A-F]{8}$/, '')))).toEqual([
      ['EventBridgeSourceRoutepresence'],
      ['EventBridgeSourceRoutepresence'],
      ['EventBridgeSourceUnmatched'],
    ]);

    const delivered = ['ok-1', 'ok-2', 'flaky', 'eb-1', ...HELD];
    await eventually(
      async () => {
        const items = await ledger();
        return (
          delivered.every((id) => statusOf(items, id) === 'delivered') &&
          statusOf(items, 'gone') === 'permanent'
        );
      },
      'every event delivered, and the 410 permanent',
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${stack.output().slice(-20_000)}`);
    });
    const dlq =
      stack.resources[stack.logicalId('AWS::SQS::Queue', 'QueuesDeadLetterQueue')]?.attributes.QueueName;
    await eventually(
      async () => {
        deadLetters.push(...(await drainQueue(stack.sqs, `${stack.proxy.url}/000000000000/${dlq}`)));
        return deadLetters.length >= 1;
      },
      'the 410 in the DLQ',
      30_000,
    );
    const items = await ledger();
    expect(deadLetters.map((m) => m.deliveryId)).toEqual(['gone']);
    expect(items.find((i) => i.deliveryId === 'eb-1')?.duplicateDeliveryIds).toEqual(new Set(['eb-1-again']));
    expect(items.some((i) => i.kind === 'invalid' && i.deliveryId === 'eb-2')).toBe(true);
  }, 120_000);

  it('calls each target as often as its answers ask: 503 twice then 200, 410 once, healthy once, the repeat never', () => {
    expect(targets.hitsOn('/flaky').map((h) => h.status)).toEqual([503, 503, 200]);
    expect(targets.hitsOn('/gone')).toHaveLength(1);
    expect(targets.hitsOn('/ok')).toHaveLength(2);
    expect(targets.hitsOn('/presence')).toHaveLength(1);
    // Signed with the key the stack generated (GenerateSecretString), read from Secrets Manager.
    expect(targets.hitsOn('/ok')[0]?.headers['webhook-signature']).toMatch(/^v1,/);
  });

  it('delivers the held host’s events after its 429s, none dead-lettered', () => {
    for (const id of HELD)
      expect(held.hits.filter((h) => h.path === `/${id}` && h.status === 200)).toHaveLength(1);
    expect(held.hits.some((h) => h.status === 429)).toBe(true);
  });

  it('makes no call its role refuses', () => {
    expect(stack.proxy.calls.filter((c) => !c.allowed)).toEqual([]);
    expect(stack.proxy.calls.length).toBeGreaterThan(0);
  });

  it('makes the calls recorded in observed-calls.json, no more and no fewer', () => {
    checkObservedCalls(observedCalls(stack));
    console.log(
      `deployed-stack layer: ${stack.proxy.calls.length} calls, ${Math.round((Date.now() - started) / 1000)} s`,
    );
  });
});

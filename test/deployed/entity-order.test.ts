import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GAP_HEADER, LATE_HEADER } from '../../lambdas/shared/domain/entity-order';
import { eventually } from '../support/queue-contents';
import { startTargetServer, type TargetHit } from '../support/target-server';
import { DEPLOYED_CONTEXT, DEPLOYED_EVENT_SOURCE, ROUTE_ORIGIN } from './deployed-context';
import { type DeployedStack, startDeployedStack } from './deployed-stack';
import { drainRaw, ledger } from './scenario';
import { removeSyntheses } from './synth-deployed';

/**
 * Order per entity (issue 24), as deployed: an ordered route of conversation events and a latestOnly route of
 * presence events, run by the template's rules, intake and redeliverers (3 instances) under their own roles.
 */
const ORDERED_CONTEXT: Readonly<Record<string, string>> = {
  ...DEPLOYED_CONTEXT,
  WEBHOOK_ID: '',
  // A budget that outlasts B's and C's deliveries on a loaded machine, so A's first event is never exhausted.
  MAX_RETRIES: '30',
  ROUTES: JSON.stringify([
    {
      name: 'conversations',
      topics: ['v2.detail.events.conversation.{id}.*'],
      url: `${ROUTE_ORIGIN}/conversations`,
      order: 'per-entity',
    },
    {
      name: 'presence',
      topics: ['v2.users.{id}.presence'],
      url: `${ROUTE_ORIGIN}/presence`,
      order: 'per-entity',
      latestOnly: true,
    },
  ]),
};

const STEPS = ['acd.start', 'acd.end', 'customer.end'] as const;
const T0 = Date.parse('2026-12-01T10:00:00.000Z');

function genesysEvent(id: string, topicName: string, atMs: number, body: Record<string, unknown>) {
  return {
    version: '0' as const,
    id,
    'detail-type': topicName,
    source: DEPLOYED_EVENT_SOURCE,
    account: '111111111111',
    time: new Date(atMs).toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: {
      topicName,
      version: '2',
      eventBody: body,
      metadata: { CorrelationId: `correlation-${id}` },
      timestamp: new Date(atMs).toISOString(),
    },
  };
}

const conversationEvent = (conversation: string, step: number) =>
  genesysEvent(
    `${conversation}-${step}`,
    `v2.detail.events.conversation.${conversation}.${STEPS[step]}`,
    T0 + step * 1_000,
    { conversationId: conversation, step },
  );

const presenceEvent = (id: string, atMs: number, presence: string) =>
  genesysEvent(id, 'v2.users.user-u.presence', atMs, { id: 'user-u', presence });

/** Which event a hit carried: `<conversation>-<step>` or the presence. */
function idOf(hit: TargetHit): string {
  const body = JSON.parse(hit.body.toString('utf8')) as { eventBody: Record<string, unknown> };
  const e = body.eventBody;
  return typeof e.conversationId === 'string' ? `${e.conversationId}-${e.step}` : String(e.presence);
}

afterAll(removeSyntheses);

describe('order per entity, as deployed', () => {
  let targets: Awaited<ReturnType<typeof startTargetServer>>;
  let stack: DeployedStack;
  const accepted = (conversation: string) =>
    targets
      .hitsOn('/conversations')
      .filter((h) => h.status === 200 && idOf(h).startsWith(`${conversation}-`))
      .map(idOf);

  beforeAll(async () => {
    targets = await startTargetServer({
      '/conversations': (_n, body, before) => {
        const id = idOf({ body } as TargetHit);
        // D's first event is refused (the gap), and taken when an operator redrives it.
        if (id === 'D-0')
          return before.some((h) => h.path === '/conversations' && idOf(h) === 'D-0') ? 200 : 410;
        if (id !== 'A-0') return 200;
        // A's first event answers 503 twice, and for as long as B's and C's events have not all arrived: were
        // they made to wait for A, this would never end (and the test would time out), whatever the timings.
        const earlier = before.filter((h) => h.path === '/conversations' && idOf(h) === 'A-0').length;
        const othersDone = ['B', 'C'].every(
          (c) => before.filter((h) => h.status === 200 && idOf(h).startsWith(`${c}-`)).length === 3,
        );
        return earlier < 2 || !othersDone ? 503 : 200;
      },
      '/presence': () => 200,
    });
    stack = await startDeployedStack({
      context: ORDERED_CONTEXT,
      instances: { RedelivererFunction: 3 },
      outsideWorld: { TARGET_ALLOW_LOOPBACK: 'true' },
      hostMap: { [ROUTE_ORIGIN]: targets.url },
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await targets?.stop();
  });

  const put = async (event: ReturnType<typeof genesysEvent>) => {
    const bus = stack.resources[stack.logicalId('AWS::Events::EventBus', 'EventBridgeSourcePartnerEventBus')];
    const delivered = await stack.rules.put(bus?.ref ?? '', event);
    for (const d of delivered) expect(d.result, stack.output()).toMatchObject({ ok: true });
  };

  it('delivers each conversation in order; the others do not wait for the one whose first event is refused', async () => {
    // Published as Genesys publishes them, interleaved across conversations; each conversation's later events reach
    // the queue while its first is still pending (A's retrying, D's about to be refused).
    for (const step of [0, 1, 2]) for (const c of ['A', 'B', 'C', 'D']) await put(conversationEvent(c, step));
    await eventually(
      async () => accepted('A').length === 3 && accepted('D').length === 2,
      'every conversation delivered (D without its refused first event)',
      90_000,
    ).catch(async (error: Error) => {
      const hits = targets.hitsOn('/conversations').map((h) => `${idOf(h)} ${h.status}`);
      const states = (await ledger(stack)).map((i) => `${i.deliveryId}: ${i.status ?? i.kind}`);
      throw new Error(`${error.message}; hits: ${hits.join(', ')}; ledger: ${states.join(', ')}`);
    });
    for (const c of ['A', 'B', 'C']) expect(accepted(c)).toEqual([`${c}-0`, `${c}-1`, `${c}-2`]);
    const a0 = targets.hitsOn('/conversations').filter((h) => idOf(h) === 'A-0');
    expect(a0.filter((h) => h.status === 503).length).toBeGreaterThanOrEqual(2);
    expect(a0.filter((h) => h.status === 200)).toHaveLength(1);
    // No event of A reached the target before A-0 was accepted.
    const hits = targets.hitsOn('/conversations').map(idOf);
    const a0Accepted = targets
      .hitsOn('/conversations')
      .findIndex((h) => idOf(h) === 'A-0' && h.status === 200);
    expect(hits.slice(0, a0Accepted).filter((id) => id === 'A-1' || id === 'A-2')).toEqual([]);
  }, 120_000);

  it('dead-letters the refused event, marks the next one of its conversation with the gap, and a redrive late', async () => {
    const dead: { raw: string }[] = [];
    await eventually(
      async () => {
        dead.push(...(await drainRaw(stack, 'QueuesDeadLetterQueue')));
        return dead.length > 0;
      },
      'the 410 in the DLQ',
      30_000,
    );
    expect(dead).toHaveLength(1);
    const d0 = JSON.parse(dead[0]?.raw ?? '{}') as { eventKey?: string; deliveryId?: string };
    expect(d0.deliveryId).toBe('D-0');
    const d = targets.hitsOn('/conversations').filter((h) => h.status === 200 && idOf(h).startsWith('D-'));
    expect(d.map(idOf)).toEqual(['D-1', 'D-2']);
    expect(d[0]?.headers[GAP_HEADER.toLowerCase()]).toBe(d0.eventKey);
    expect(d[1]?.headers[GAP_HEADER.toLowerCase()]).toBeUndefined();
    // Nothing was late.
    for (const h of targets.hitsOn('/conversations'))
      expect(h.headers[LATE_HEADER.toLowerCase()]).toBeUndefined();

    // The operator redrives it (as SQS's redrive does: the same body, a new message): delivered, marked late.
    await stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrl('QueuesRetryQueue'),
        MessageBody: dead[0]?.raw ?? '',
      }),
    );
    await eventually(async () => accepted('D').length === 3, 'the redriven D-0 delivered', 30_000);
    const redriven = targets.hitsOn('/conversations').filter((h) => idOf(h) === 'D-0' && h.status === 200);
    expect(
      redriven.map((h) => [h.headers[LATE_HEADER.toLowerCase()], h.headers[GAP_HEADER.toLowerCase()]]),
    ).toEqual([['true', undefined]]);
  }, 60_000);

  it('delivers an event that arrives after a later one of its conversation was delivered, marked late', async () => {
    await put(conversationEvent('E', 1));
    await eventually(async () => accepted('E').length === 1, 'E-1 delivered', 30_000);
    await put(conversationEvent('E', 0));
    await eventually(async () => accepted('E').length === 2, 'E-0 delivered', 30_000);
    const e = targets.hitsOn('/conversations').filter((h) => idOf(h).startsWith('E-'));
    expect(e.map((h) => [idOf(h), h.headers[LATE_HEADER.toLowerCase()]])).toEqual([
      ['E-1', undefined],
      ['E-0', 'true'],
    ]);
  }, 60_000);

  it('on a latestOnly route, supersedes an older presence published after a newer one was delivered', async () => {
    await put(presenceEvent('presence-new', T0 + 60_000, 'Busy'));
    await eventually(
      async () => targets.hitsOn('/presence').length === 1,
      'the newer presence delivered',
      30_000,
    );
    await put(presenceEvent('presence-old', T0, 'Available'));
    await eventually(
      async () => /"SupersededEvents":\s*\[?1/.test(stack.output()),
      'the older presence counted as superseded',
      30_000,
    );
    expect(targets.hitsOn('/presence').map(idOf)).toEqual(['Busy']);
    const items = await ledger(stack);
    expect(items.find((i) => i.deliveryId === 'presence-old')?.status).toBe('superseded');
    expect(await drainRaw(stack, 'QueuesDeadLetterQueue')).toEqual([]);
  }, 60_000);

  it('makes no call its role refuses', () => {
    expect(stack.proxy.calls.filter((c) => !c.allowed)).toEqual([]);
    expect(stack.proxy.calls.length).toBeGreaterThan(0);
  });
});

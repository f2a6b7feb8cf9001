import { randomBytes } from 'node:crypto';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveTargetKey } from '../../lambdas/shared/domain/target-signing-key';
import { type GenesysEmulator, startGenesysEmulator } from '../../local/genesys-emulator';
import { eventually } from '../support/queue-contents';
import { startTargetServer } from '../support/target-server';
import { DEPLOYED_CONTEXT, DEPLOYED_WEBHOOK, ROUTE_ORIGIN } from './deployed-context';
import { type DeployedStack, startDeployedStack } from './deployed-stack';
import { checkObservedCalls, observedCalls } from './observed-calls';
import {
  delivery,
  drainRaw,
  ledger,
  presenceEvent,
  startHeldHost,
  statusOf,
  withoutRedelivererSendMessage,
} from './scenario';
import { type CfnTemplate, removeSyntheses } from './synth-deployed';

/**
 * The stack as deployed (issue 19): the synthesised template and each function's file from cdk.out, run in their
 * own processes under their own roles, against fauxqs, dynalite and a Secrets Manager stand-in through the IAM
 * proxy. Events enter as AWS delivers them: the schedule runs the poller against the Genesys emulator's delivery
 * log, EventBridge rules take events from the partner bus.
 */
const CLIENT = { clientId: 'deployed-client', clientSecret: 'deployed-client-secret-value' };
const HELD_FOR_MS = 10_000;
const HELD = ['held-1', 'held-2', 'held-3', 'held-4', 'held-5', 'held-6'];
/** A Slack-style target: its credential in the path, another in the query. Neither may reach a log line. */
const PATH_TOKEN = `pathtok${randomBytes(12).toString('hex')}`;
const QUERY_TOKEN = `querytok${randomBytes(12).toString('hex')}`;
const TOKEN_PATH = `/services/T0TEAM/B0HOOK/${PATH_TOKEN}`;

afterAll(removeSyntheses);

async function startWith(emulator: GenesysEmulator, targetsUrl: string, edit?: (t: CfnTemplate) => void) {
  const stack = await startDeployedStack({
    context: DEPLOYED_CONTEXT,
    instances: { RedelivererFunction: 3 },
    outsideWorld: { GENESYS_CLOUD_REGION: emulator.url, TARGET_ALLOW_LOOPBACK: 'true' },
    hostMap: { [ROUTE_ORIGIN]: targetsUrl },
    ...(edit ? { editTemplate: edit } : {}),
  });
  // The operator's step after the deploy: the Genesys credentials into the secret the stack created.
  const secret = stack.resources[stack.logicalId('AWS::SecretsManager::Secret', 'GenesysCredentials')]?.ref;
  stack.secrets.put(secret ?? '', JSON.stringify(CLIENT));
  return stack;
}

describe('the stack as deployed: each function from cdk.out, under its own role', () => {
  let targets: Awaited<ReturnType<typeof startTargetServer>>;
  let held: Awaited<ReturnType<typeof startHeldHost>>;
  let emulator: GenesysEmulator;
  let stack: DeployedStack;
  const deadLetters: { deliveryId?: string; raw: string }[] = [];

  beforeAll(async () => {
    targets = await startTargetServer({
      '/ok': () => 200,
      '/flaky': (n) => (n <= 2 ? 503 : 200),
      '/gone': () => 410,
      '/presence': () => 200,
      [TOKEN_PATH]: (n) => (n <= 1 ? 503 : 200),
    });
    held = await startHeldHost(HELD_FOR_MS);
    emulator = await startGenesysEmulator({
      clients: [CLIENT],
      deliveries: [
        delivery('ok-1', `${targets.url}/ok`, 600),
        delivery('ok-2', `${targets.url}/ok`, 590),
        delivery('flaky', `${targets.url}/flaky`, 580),
        delivery('gone', `${targets.url}/gone`, 570),
        delivery('token', `${targets.url}${TOKEN_PATH}?token=${QUERY_TOKEN}`, 565),
        ...HELD.map((id, i) => delivery(id, `${held.url}/${id}`, 560 - i)),
      ],
    });
    stack = await startWith(emulator, targets.url);
  }, 180_000); // the synth (bin/app.ts, bundling three functions) takes half a minute on a loaded machine

  afterAll(async () => {
    await stack?.stop();
    await emulator?.stop();
    await held?.stop();
    await targets?.stop();
  });

  it('settles every event in its right final state', async () => {
    const polls = await stack.tick();
    expect(polls, stack.output()).toEqual([expect.objectContaining({ ok: true })]);
    const bus = stack.resources[stack.logicalId('AWS::Events::EventBus', 'EventBridgeSourcePartnerEventBus')];
    const put = (event: ReturnType<typeof presenceEvent>) => stack.rules.put(bus?.ref ?? '', event);
    const routed = [
      await put(presenceEvent('eb-1', 'user-a')),
      // Genesys may send the same event again under a new EventBridge id.
      await put(presenceEvent('eb-1-again', 'user-a')),
      await put(presenceEvent('eb-2', 'user-b', 'v2.routing.queues.q1.conversations')),
    ];
    for (const d of routed.flat()) expect(d.result, stack.output()).toMatchObject({ ok: true });
    expect(routed.map((d) => d.map((x) => x.rule.replace(/[0-9A-F]{8}$/, '')))).toEqual([
      ['EventBridgeSourceRoutepresence'],
      ['EventBridgeSourceRoutepresence'],
      ['EventBridgeSourceUnmatched'],
    ]);
    // A message no pipeline wrote (by hand, or redriven from elsewhere): recorded as invalid, then dead-lettered.
    const stray = await stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrl('QueuesRetryQueue'),
        MessageBody: '{"not":"a retry"}',
      }),
    );

    const delivered = ['ok-1', 'ok-2', 'flaky', 'token', 'eb-1', ...HELD];
    await eventually(
      async () => {
        const items = await ledger(stack);
        return (
          delivered.every((id) => statusOf(items, id) === 'delivered') &&
          statusOf(items, 'gone') === 'permanent'
        );
      },
      'every event delivered, and the 410 permanent',
      60_000,
    ).catch(async (error: Error) => {
      if (process.env.DEPLOYED_OUTPUT)
        (await import('node:fs')).writeFileSync(process.env.DEPLOYED_OUTPUT, stack.output());
      const states = (await ledger(stack)).map((i) => `${i.deliveryId}: ${i.status ?? i.kind}`);
      throw new Error(`${error.message}; ledger: ${states.join(', ')}\n${stack.output().slice(-8_000)}`);
    });
    await eventually(
      async () => {
        deadLetters.push(...(await drainRaw(stack, 'QueuesDeadLetterQueue')));
        return deadLetters.length >= 2;
      },
      'the 410 and the stray message in the DLQ',
      30_000,
    );
    const items = await ledger(stack);
    expect(deadLetters.map((m) => m.deliveryId ?? m.raw).sort()).toEqual(['gone', '{"not":"a retry"}']);
    expect(items.find((i) => i.deliveryId === 'eb-1')?.duplicateDeliveryIds).toEqual(new Set(['eb-1-again']));
    expect(items.some((i) => i.kind === 'invalid' && i.deliveryId === 'eb-2')).toBe(true);
    expect(items.some((i) => i.kind === 'invalid' && i.deliveryId === `sqs-message:${stray.MessageId}`)).toBe(
      true,
    );
  }, 120_000);

  it('calls each target as its answers ask: 503 twice then 200, 410 once, healthy once, the repeat never', () => {
    expect(targets.hitsOn('/flaky').map((h) => h.status)).toEqual([503, 503, 200]);
    expect(targets.hitsOn('/gone')).toHaveLength(1);
    expect(targets.hitsOn('/ok')).toHaveLength(2);
    expect(targets.hitsOn('/presence')).toHaveLength(1);
    // Signed with each target's own key, derived from the one the stack generated (GenerateSecretString) and
    // read from Secrets Manager (docs/signing.md): the webhook's target verifies with the webhook's key, the
    // route's with the route's, and neither with the other's.
    const secret =
      stack.resources[stack.logicalId('AWS::SecretsManager::Secret', 'SigningSecret')]?.ref ?? '';
    const key = (target: string) =>
      new Webhook(deriveTargetKey(`whsec_${stack.secrets.value(secret)}`, target));
    const verifies = (webhook: Webhook, hit: { body: Buffer; headers: unknown }) => {
      try {
        webhook.verify(hit.body.toString('utf8'), hit.headers as Record<string, string>, {
          jsonParse: false,
        });
        return true;
      } catch {
        return false;
      }
    };
    const [webhookKey, routeKey] = [key(`webhook:${DEPLOYED_WEBHOOK}`), key('route:presence')];
    for (const hit of targets.hitsOn('/ok'))
      expect([verifies(webhookKey, hit), verifies(routeKey, hit)]).toEqual([true, false]);
    for (const hit of targets.hitsOn('/presence'))
      expect([verifies(routeKey, hit), verifies(webhookKey, hit)]).toEqual([true, false]);
  });

  it('redelivers to a URL with tokens in its path and query, and no function writes either token', async () => {
    expect(targets.hitsOn(TOKEN_PATH).map((h) => h.status)).toEqual([503, 200]);
    const output = stack.output();
    expect(output).toContain('result'); // the functions' log lines are there to search
    expect(output).not.toContain(PATH_TOKEN);
    expect(output).not.toContain(QUERY_TOKEN);
    // The ledger keeps the URL (it is the target), but no reason or attempt repeats it.
    const item: Record<string, unknown> = (await ledger(stack)).find((i) => i.deliveryId === 'token') ?? {};
    const { targetUrl, ...rest } = item;
    expect(String(targetUrl)).toContain(PATH_TOKEN);
    expect(JSON.stringify(rest, (_k, v) => (v instanceof Set ? [...v] : v))).not.toContain(PATH_TOKEN);
  });

  it('delivers the held host’s events after its 429s, none dead-lettered', () => {
    expect(held.hits.some((h) => h.status === 429)).toBe(true);
    for (const id of HELD) {
      expect(held.hits.filter((h) => h.path === `/${id}` && h.status === 200)).toHaveLength(1);
    }
    expect(deadLetters.filter((m) => HELD.includes(m.deliveryId ?? ''))).toEqual([]);
  });

  it('records a failed poll in the failed-polls queue, sent by Lambda with the poller’s role', async () => {
    // Every delivery-log request refused from now on: the poll fails, Lambda retries it once, then gives up.
    emulator.injectFaults({ status: 401, count: 1_000, path: 'deliveries' });
    const [poll] = await stack.tick();
    expect(poll).toMatchObject({ ok: false });
    const failed = await stack.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: stack.queueUrl('PollerFailedPollsQueue'), WaitTimeSeconds: 1 }),
    );
    expect(failed.Messages?.map((m) => JSON.parse(m.Body ?? '{}').requestPayload)).toEqual([{}]);
  });

  it('records an intake invocation that fails in the intake-failures queue, sent by Lambda with the intake’s role', async () => {
    // What a rule whose input transformer was edited by hand would send: the intake refuses it, Lambda retries
    // twice, then the on-failure destination takes it.
    const result = await stack.invokeAsync('EventBridgeSourceIntakeFunction', { not: 'route and event' });
    expect(result).toMatchObject({ ok: false });
    const failed = await stack.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.queueUrl('EventBridgeSourceIntakeFailuresQueue'),
        WaitTimeSeconds: 1,
      }),
    );
    expect(failed.Messages?.map((m) => JSON.parse(m.Body ?? '{}').requestPayload)).toEqual([
      { not: 'route and event' },
    ]);
  });

  it('makes no call its role refuses', () => {
    expect(stack.proxy.calls.filter((c) => !c.allowed)).toEqual([]);
    expect(stack.proxy.calls.length).toBeGreaterThan(0);
  });

  it('makes the calls recorded in observed-calls.json, no more and no fewer', () => {
    checkObservedCalls(observedCalls(stack));
  });
});

describe('the same stack without the redeliverer’s sqs:SendMessage grant', () => {
  let held: Awaited<ReturnType<typeof startHeldHost>>;
  let emulator: GenesysEmulator;
  let stack: DeployedStack;
  const ids = ['refused-1', 'refused-2'];

  beforeAll(async () => {
    // Held for the whole test; a short Retry-After, so the hidden copies come back (and walk to the DLQ) quickly.
    held = await startHeldHost(120_000, 1);
    emulator = await startGenesysEmulator({
      clients: [CLIENT],
      deliveries: ids.map((id, i) => delivery(id, `${held.url}/${id}`, 600 - i)),
    });
    stack = await startWith(emulator, 'http://unused.invalid', withoutRedelivererSendMessage);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await emulator?.stop();
    await held?.stop();
  });

  it('is refused re-sending held events, which walk into the DLQ undelivered', async () => {
    expect(await stack.tick()).toEqual([expect.objectContaining({ ok: true })]);
    const deadLetters: { deliveryId?: string }[] = [];
    await eventually(
      async () => {
        deadLetters.push(...(await drainRaw(stack, 'QueuesDeadLetterQueue')));
        return deadLetters.length >= ids.length;
      },
      'both held events in the DLQ',
      60_000,
    );
    expect(deadLetters.map((m) => m.deliveryId).sort()).toEqual(ids);
    const refused = stack.proxy.calls.filter((c) => !c.allowed);
    expect(refused.length).toBeGreaterThan(0);
    expect(
      new Set(refused.map((c) => `${c.caller.replace(/[0-9A-F]{8}$/, '')} ${c.action} ${c.resource}`)),
    ).toEqual(
      new Set([
        `RedelivererRole sqs:SendMessage ${stack.resources[stack.logicalId('AWS::SQS::Queue', 'QueuesRetryQueue')]?.attributes.Arn}`,
      ]),
    );
    // As the issue saw in AWS: an event whose re-sent copy was refused is dead-lettered undecided, the ledger still
    // saying "held" (or "enqueued", when it met the hold before its own first write); it was never delivered.
    const items = await ledger(stack);
    for (const id of ids) expect(['enqueued', 'held', 'exhausted']).toContain(statusOf(items, id));
  }, 90_000);
});

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
import { checkObservedCalls, observedCalls, withoutHash } from './observed-calls';
import {
  arnOf,
  delivery,
  drainRaw,
  type LedgerItem,
  ledger,
  presenceEvent,
  queueDepth,
  redeliveryLines,
  startHeldHost,
  statusOf,
  withoutRedelivererSendMessage,
  withRuleStatementsEdited,
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
/** One presence event, and Genesys's repeat of it under a new EventBridge id. */
const PRESENCE_IDS = ['eb-1', 'eb-1-again'];

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
    // Every rule's target is the retry queue itself, which its policy lets EventBridge send to for that rule.
    const retryQueueArn = arnOf(stack, 'QueuesRetryQueue');
    for (const d of routed.flat()) expect(d.result, stack.output()).toMatchObject({ ok: true });
    expect(routed.map((d) => d.map((x) => [withoutHash(x.rule), x.target]))).toEqual([
      [['EventBridgeSourceRoutepresence', retryQueueArn]],
      [['EventBridgeSourceRoutepresence', retryQueueArn]],
      [['EventBridgeSourceUnmatched', retryQueueArn]],
    ]);
    // Each copy's outcome, as the redeliverer logs it, kept before the held host's retries crowd the output: one
    // copy delivered, the other acknowledged as a repeat, the unmatched event acknowledged.
    const outcomes: Record<string, unknown>[] = [];
    await eventually(
      () => {
        const lines = redeliveryLines(stack).filter((l) =>
          [...PRESENCE_IDS, 'eb-2'].includes(String(l.deliveryId)),
        );
        outcomes.splice(0, outcomes.length, ...lines);
        return (
          lines.some((l) => l.result === 'delivered') &&
          lines.some((l) => l.repeat === true && l.acknowledged === true) &&
          lines.some((l) => l.deliveryId === 'eb-2' && l.acknowledged === true)
        );
      },
      'the redeliverer’s outcome for each copy the rules queued',
      30_000,
    );
    // A message no pipeline wrote (by hand, or redriven from elsewhere): recorded as invalid, then dead-lettered.
    const stray = await stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrl('QueuesRetryQueue'),
        MessageBody: '{"not":"a retry"}',
      }),
    );

    const delivered = ['ok-1', 'ok-2', 'flaky', 'token', ...HELD];
    const presence = (items: LedgerItem[]) =>
      items.filter((i) => i.kind === 'event' && PRESENCE_IDS.includes(i.deliveryId));
    await eventually(
      async () => {
        const items = await ledger(stack);
        return (
          delivered.every((id) => statusOf(items, id) === 'delivered') &&
          statusOf(items, 'gone') === 'permanent' &&
          presence(items).some((i) => i.status === 'delivered') &&
          items.some((i) => i.pk === 'invalid#eventbridge#eb-2')
        );
      },
      'every event delivered, the 410 permanent, the unmatched event recorded',
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
    // Nothing is left on the retry queue: every envelope taken in, every re-sent copy settled.
    await eventually(
      async () => (await queueDepth(stack, 'QueuesRetryQueue')) === 0,
      'the retry queue empty',
      30_000,
    );
    const items = await ledger(stack);
    expect(deadLetters.map((m) => m.deliveryId ?? m.raw).sort()).toEqual(['gone', '{"not":"a retry"}']);
    // The repeat derives the same event key as the first: one event in the ledger, delivered, under whichever
    // EventBridge id claimed it first (both copies are on the queue together, taken in by parallel receives).
    const [claimed, ...others] = presence(items);
    expect(others).toEqual([]);
    expect(claimed?.status).toBe('delivered');
    // The other copy stood down as a repeat (the redeliverer's outcome lines), never reaching the target.
    const repeat = PRESENCE_IDS.find((id) => id !== claimed?.deliveryId);
    const repeatLines = outcomes.filter((l) => l.deliveryId === repeat);
    expect(repeatLines.map((l) => l.targetCalled)).not.toContain(true);
    expect(repeatLines.at(-1)).toMatchObject({ repeat: true, acknowledged: true });
    expect(outcomes.filter((l) => l.deliveryId === claimed?.deliveryId).map((l) => l.result)).toEqual([
      'delivered',
    ]);
    // The unmatched event: recorded under the EventBridge ledger id with its reason and the event, acknowledged.
    expect(items.find((i) => i.pk === 'invalid#eventbridge#eb-2')).toMatchObject({
      kind: 'invalid',
      webhookId: 'eventbridge',
      deliveryId: 'eb-2',
      reason: 'no route matches topic v2.routing.queues.q1.conversations',
    });
    expect(JSON.parse(String(items.find((i) => i.pk === 'invalid#eventbridge#eb-2')?.raw))).toMatchObject({
      id: 'eb-2',
      detail: { topicName: 'v2.routing.queues.q1.conversations' },
    });
    expect(outcomes.filter((l) => l.deliveryId === 'eb-2')).toEqual([
      expect.objectContaining({ result: 'unmatched', acknowledged: true, targetCalled: false }),
    ]);
    expect(items.some((i) => i.kind === 'invalid' && i.deliveryId === `sqs-message:${stray.MessageId}`)).toBe(
      true,
    );
    // EventBridge's sends were its own, allowed by the retry queue's policy for each rule's ARN.
    expect(
      stack.proxy.calls
        .filter((c) => c.caller === 'events.amazonaws.com')
        .map((c) => [c.operation.replace(/[0-9A-F]{8}\)$/, ')'), c.action, c.resource, c.allowed]),
    ).toEqual([
      ['SendMessage (rule EventBridgeSourceRoutepresence)', 'sqs:SendMessage', retryQueueArn, true],
      ['SendMessage (rule EventBridgeSourceRoutepresence)', 'sqs:SendMessage', retryQueueArn, true],
      ['SendMessage (rule EventBridgeSourceUnmatched)', 'sqs:SendMessage', retryQueueArn, true],
    ]);
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

describe('the same stack with the rules’ statements edited in the queue policies', () => {
  let targets: Awaited<ReturnType<typeof startTargetServer>>;
  let stack: DeployedStack;
  const put = (event: ReturnType<typeof presenceEvent>) => {
    const bus = stack.resources[stack.logicalId('AWS::Events::EventBus', 'EventBridgeSourcePartnerEventBus')];
    return stack.rules.put(bus?.ref ?? '', event);
  };
  /** Long enough for the redeliverer's event source mapping to have received anything the rule had queued. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 2_500));

  beforeAll(async () => {
    targets = await startTargetServer({ '/presence': () => 200 });
    stack = await startDeployedStack({
      context: DEPLOYED_CONTEXT,
      outsideWorld: { GENESYS_CLOUD_REGION: 'http://unused.invalid', TARGET_ALLOW_LOOPBACK: 'true' },
      hostMap: { [ROUTE_ORIGIN]: targets.url },
      editTemplate: withRuleStatementsEdited,
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await targets?.stop();
  });

  it('puts an event the retry queue’s policy refuses in the eventbridge-failures queue, not lost', async () => {
    const event = presenceEvent('refused-route', 'user-c');
    const delivered = await put(event);
    expect(delivered).toEqual([
      {
        rule: stack.logicalId('AWS::Events::Rule', 'EventBridgeSourceRoutepresence'),
        target: arnOf(stack, 'QueuesRetryQueue'),
        result: { ok: false, error: expect.objectContaining({ errorType: 'NO_PERMISSIONS' }) },
        deadLetter: { queue: arnOf(stack, 'EventBridgeSourceIntakeFailuresQueue'), sent: true },
      },
    ]);
    const failed = await stack.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.queueUrl('EventBridgeSourceIntakeFailuresQueue'),
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 1,
      }),
    );
    // The event as it arrived, with the rule, the target and why, as EventBridge's dead letters carry them.
    expect(failed.Messages?.map((m) => JSON.parse(m.Body ?? '{}'))).toEqual([event]);
    const attributes = failed.Messages?.[0]?.MessageAttributes ?? {};
    expect(
      Object.fromEntries(
        ['RULE_ARN', 'TARGET_ARN', 'ERROR_CODE'].map((k) => [k, attributes[k]?.StringValue]),
      ),
    ).toEqual({
      RULE_ARN:
        stack.resources[stack.logicalId('AWS::Events::Rule', 'EventBridgeSourceRoutepresence')]?.attributes
          .Arn,
      TARGET_ARN: arnOf(stack, 'QueuesRetryQueue'),
      ERROR_CODE: 'NO_PERMISSIONS',
    });
    await settle();
    expect(await ledger(stack)).toEqual([]);
    expect(targets.hits).toEqual([]);
  }, 30_000);

  it('refuses an event whose rule ARN the policy does not name, and drops it when its DLQ refuses too', async () => {
    const delivered = await put(
      presenceEvent('refused-unmatched', 'user-d', 'v2.routing.queues.q2.conversations'),
    );
    expect(delivered).toEqual([
      {
        rule: stack.logicalId('AWS::Events::Rule', 'EventBridgeSourceUnmatched'),
        target: arnOf(stack, 'QueuesRetryQueue'),
        result: { ok: false, error: expect.objectContaining({ errorType: 'NO_PERMISSIONS' }) },
        deadLetter: { queue: arnOf(stack, 'EventBridgeSourceIntakeFailuresQueue'), sent: false },
      },
    ]);
    await settle();
    expect(await drainRaw(stack, 'EventBridgeSourceIntakeFailuresQueue')).toEqual([]);
    expect(await ledger(stack)).toEqual([]);
  }, 30_000);

  it('records EventBridge’s refused sends in the IAM proxy, and no other refusal', () => {
    const rule = (prefix: string) => stack.logicalId('AWS::Events::Rule', prefix);
    expect(stack.proxy.calls.filter((c) => !c.allowed)).toEqual([
      {
        caller: 'events.amazonaws.com',
        operation: `SendMessage (rule ${rule('EventBridgeSourceRoutepresence')})`,
        action: 'sqs:SendMessage',
        resource: arnOf(stack, 'QueuesRetryQueue'),
        allowed: false,
      },
      {
        caller: 'events.amazonaws.com',
        operation: `SendMessage (rule ${rule('EventBridgeSourceUnmatched')})`,
        action: 'sqs:SendMessage',
        resource: arnOf(stack, 'QueuesRetryQueue'),
        allowed: false,
      },
      {
        caller: 'events.amazonaws.com',
        operation: `SendMessage (rule ${rule('EventBridgeSourceUnmatched')} dead-letter)`,
        action: 'sqs:SendMessage',
        resource: arnOf(stack, 'EventBridgeSourceIntakeFailuresQueue'),
        allowed: false,
      },
    ]);
    // The presence rule's dead letter was allowed by the failures queue's own statement for that rule.
    expect(
      stack.proxy.calls
        .filter((c) => c.caller === 'events.amazonaws.com' && c.allowed)
        .map((c) => c.resource),
    ).toEqual([arnOf(stack, 'EventBridgeSourceIntakeFailuresQueue')]);
  });
});

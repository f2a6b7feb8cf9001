import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Route } from '../../lambdas/shared/domain/routes';
import { targetId } from '../../lambdas/shared/domain/target-id';
import {
  matchingRoutes,
  routeEventPattern,
  unmatchedEventPattern,
} from '../../lambdas/shared/domain/topic-match';
import { ConfigError } from '../../lambdas/shared/errors';
import { stackConfigFromContext } from '../../lib/stack-config';
import { patternMatches } from '../support/event-pattern';
import { GENESYS_EXAMPLE_SOURCE, realExampleEvent } from '../support/genesys-events';
import { buildStack, synthStack } from './synth-stack';
import { actions, arnOf, byType, logicalId, statementsOf } from './template-queries';

const SOURCE = GENESYS_EXAMPLE_SOURCE;
const ROUTES: Route[] = [
  {
    name: 'conversation-ends',
    topics: ['v2.detail.events.conversation.{id}.customer.end'],
    url: 'https://hooks.example.com/ends',
    headers: { 'X-Team': 'cx <ops>' },
  },
  { name: 'acd', topics: ['v2.detail.events.conversation.{id}.acd.*'], url: 'https://hooks.example.com/acd' },
  {
    name: 'audits',
    topics: ['v2.audits.entitytype.{id}.entityid.{id}', 'v2.operations.events.{id}'],
    url: 'https://hooks.example.com/audits',
  },
];
/** Routes only: the EventBridge source alone, no WEBHOOK_ID, no Genesys region. */
const EVENTBRIDGE_ONLY = {
  WEBHOOK_ID: '',
  GENESYS_CLOUD_REGION: '',
  ROUTES: JSON.stringify(ROUTES),
  eventSource: SOURCE,
};

const CONV = 'v2.detail.events.conversation.0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const TOPICS = [
  `${CONV}.customer.end`,
  `${CONV}.customer.start`,
  `${CONV}.acd.start`,
  `${CONV}.acd.end`,
  `${CONV}.acw`,
  realExampleEvent.detail.topicName,
  'v2.operations.events.org-1',
  'v2.users.u-1.presence',
];

type RuleProps = {
  EventBusName: unknown;
  EventPattern: unknown;
  Targets: {
    Arn: unknown;
    DeadLetterConfig?: { Arn: unknown };
    RetryPolicy?: unknown;
    InputTransformer?: { InputTemplate: string };
  }[];
};
/** The account the example event names; rule patterns name the stack's account, a token until deployed. */
const ACCOUNT = realExampleEvent.account;
const rulesOf = (template: Template) =>
  byType(template, 'AWS::Events::Rule').map(([id, r]) => {
    const props = r.Properties as RuleProps;
    // As deployed in the example event's account.
    const deployed = JSON.stringify(props.EventPattern).replace(
      '{"Ref":"AWS::AccountId"}',
      JSON.stringify(ACCOUNT),
    );
    return { id, ...props, EventPattern: JSON.parse(deployed) as unknown };
  });

describe('EventBridge source: stack', () => {
  let template: Template;
  beforeAll(() => {
    template = synthStack(EVENTBRIDGE_ONLY).template;
  });

  it('associates the partner event source with a bus of the same name', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: SOURCE, EventSourceName: SOURCE });
  });

  it('has one rule per route plus one for unmatched events, with the domain compiler’s patterns, on that bus', () => {
    const bus = logicalId(template, 'AWS::Events::EventBus', 'EventBridgeSourcePartnerEventBus');
    const rules = rulesOf(template);
    expect(rules).toHaveLength(ROUTES.length + 1);
    const expected = [
      ...ROUTES.map((r) => routeEventPattern(r, { eventSource: SOURCE, account: ACCOUNT })),
      unmatchedEventPattern(ROUTES, { eventSource: SOURCE, account: ACCOUNT }),
    ];
    expect(rules.map((r) => r.EventPattern)).toEqual(expect.arrayContaining(expected));
    for (const r of rules) expect(r.EventBusName).toEqual({ Ref: bus });
  });

  it('matches, with the synthesized patterns, exactly the events the domain matcher routes', () => {
    const rules = rulesOf(template);
    for (const topic of TOPICS) {
      const event = {
        ...realExampleEvent,
        source: SOURCE,
        detail: { ...realExampleEvent.detail, topicName: topic },
      };
      const fired = rules.filter((r) => patternMatches(r.EventPattern, event));
      const routes = fired.map(
        (r) =>
          JSON.parse(
            r.Targets[0]?.InputTransformer?.InputTemplate.replace('<aws.events.event.json>', 'null') ?? '{}',
          ).route?.name ?? null,
      );
      const expected = matchingRoutes(ROUTES, topic).map((r) => r.name);
      expect(routes.sort(), topic).toEqual(expected.length > 0 ? expected.sort() : [null]);
    }
  });

  it('targets the retry queue with the route and the whole event, a retry policy and the failures queue as DLQ', () => {
    const retryQueue = logicalId(template, 'AWS::SQS::Queue', 'QueuesRetryQueue');
    const failures = logicalId(template, 'AWS::SQS::Queue', 'EventBridgeSourceIntakeFailuresQueue');
    for (const rule of rulesOf(template)) {
      expect(rule.Targets).toHaveLength(1);
      const [target] = rule.Targets;
      expect(target?.Arn).toEqual(arnOf(retryQueue));
      expect(target?.DeadLetterConfig).toEqual({ Arn: arnOf(failures) });
      expect(target?.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 });
      const templateText = target?.InputTransformer?.InputTemplate ?? '';
      expect(templateText).toMatch(/^\{"route":.*,"event":<aws\.events\.event\.json>\}$/);
      // Header values cannot be read as placeholders.
      expect(templateText.replace('<aws.events.event.json>', '')).not.toMatch(/[<>]/);
    }
    const ends = rulesOf(template).find((r) => r.id.startsWith('EventBridgeSourceRouteconversationends'));
    const input = JSON.parse(
      ends?.Targets[0]?.InputTransformer?.InputTemplate.replace('<aws.events.event.json>', 'null') ?? '',
    );
    expect(input).toEqual({ route: ROUTES[0], event: null });
    const unmatched = rulesOf(template).find((r) => r.id.startsWith('EventBridgeSourceUnmatched'));
    expect(unmatched?.Targets[0]?.InputTransformer?.InputTemplate).toBe(
      '{"route":null,"event":<aws.events.event.json>}',
    );
    // No route is ordered: no intake function, no invoke permission, no asynchronous invoke config.
    expect(byType(template, 'AWS::Lambda::Function').filter(([id]) => id.includes('Intake'))).toEqual([]);
    template.resourceCountIs('AWS::Lambda::Permission', 0);
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
  });

  it('gives the redeliverer the partner source, which it checks with its own account', () => {
    const [, redeliverer] =
      byType(template, 'AWS::Lambda::Function').find(([id]) => id.startsWith('Redeliverer')) ?? [];
    const env = redeliverer?.Properties.Environment as { Variables: Record<string, unknown> } | undefined;
    expect(env?.Variables.GENESYS_EVENT_SOURCE).toBe(SOURCE);
  });

  it('names each route’s target in its rule description by target id, never by path', () => {
    const described = byType(template, 'AWS::Events::Rule').map(([, r]) => String(r.Properties?.Description));
    for (const route of ROUTES) {
      expect(described).toContain(`Genesys topics of route ${route.name} → ${targetId(route.url)}`);
    }
    for (const d of described) expect(d).not.toMatch(/\/(ends|acd|audits)\b/);
  });

  it('alarms on the failures queue and on unmatched events, with explicit names', () => {
    const failures = logicalId(template, 'AWS::SQS::Queue', 'EventBridgeSourceIntakeFailuresQueue');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'GenesysWebhookRecovery-EventBridgeIntakeFailures',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [failures, 'QueueName'] } }],
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'GenesysWebhookRecovery-EventBridgeUnmatchedEvents',
    });
  });

  it('lets only these rules send to the retry queue and the failures queue, over TLS', () => {
    const rules = rulesOf(template).map((r) => r.id);
    for (const queueId of ['EventBridgeSourceIntakeFailuresQueue', 'QueuesRetryQueue']) {
      const queue = logicalId(template, 'AWS::SQS::Queue', queueId);
      const policies = byType(template, 'AWS::SQS::QueuePolicy').filter(
        ([, p]) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: queue }]),
      );
      expect(policies).toHaveLength(1);
      const statements =
        (policies[0]?.[1].Properties.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined)
          ?.Statement ?? [];
      const allows = statements.filter((s) => s.Effect === 'Allow');
      expect(allows.length).toBe(ROUTES.length + 1);
      const sources = allows.map((s) => {
        expect(s.Principal).toEqual({ Service: 'events.amazonaws.com' });
        expect([s.Action].flat()).toContain('sqs:SendMessage');
        expect(
          [s.Action]
            .flat()
            .every((a) =>
              ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'].includes(String(a)),
            ),
        ).toBe(true);
        return (s.Condition as { ArnEquals: { 'aws:SourceArn': unknown } }).ArnEquals['aws:SourceArn'];
      });
      expect(sources).toEqual(expect.arrayContaining(rules.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] }))));
      expect(
        statements.some(
          (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('SecureTransport'),
        ),
      ).toBe(true);
    }
  });

  it('keeps the routes out of every function environment (Lambda allows 4 KB of it)', () => {
    for (const [, fn] of byType(template, 'AWS::Lambda::Function')) {
      const vars = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(vars)).not.toContain('ROUTES');
      expect(Object.keys(vars)).not.toContain('ROUTES_FILE');
    }
  });

  it('has no poller, credentials secret or Scheduler without WEBHOOK_ID (only the signing secret)', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    const secrets = byType(template, 'AWS::SecretsManager::Secret').map(([id]) => id);
    expect(secrets.every((id) => id.startsWith('SigningSecret'))).toBe(true);
    expect(secrets).toHaveLength(1);
    expect(
      byType(template, 'AWS::Lambda::Function')
        .map(([id]) => id)
        .some((id) => id.startsWith('Poller')),
    ).toBe(false);
  });
});

describe('EventBridge source: with the delivery log, and on an existing bus', () => {
  it('runs both sources side by side', () => {
    const { template } = synthStack({ ROUTES: JSON.stringify(ROUTES), eventSource: SOURCE });
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    expect(rulesOf(template)).toHaveLength(ROUTES.length + 1);
  });

  it('puts rules on a bus given by name that take the exact partner source and this account only', () => {
    const { template } = synthStack({
      ...EVENTBRIDGE_ONLY,
      eventSource: SOURCE,
      eventBusName: 'genesys-events',
    });
    template.resourceCountIs('AWS::Events::EventBus', 0);
    const rules = rulesOf(template);
    expect(rules).toHaveLength(ROUTES.length + 1);
    for (const rule of rules) {
      expect(rule.EventBusName).toBe('genesys-events');
      const pattern = rule.EventPattern as { source: unknown; account: unknown };
      expect(pattern.source).toEqual([SOURCE]);
      expect(pattern.account).toEqual([ACCOUNT]);
    }
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: [SOURCE], account: [{ Ref: 'AWS::AccountId' }] },
    });
    // The synthesized patterns, with the account as deployed: an event of another org or account fires none.
    const deployed = rules.map((r) => r.EventPattern);
    const event = { ...realExampleEvent, source: SOURCE };
    expect(deployed.filter((p) => patternMatches(p, event))).toHaveLength(1);
    const strangers = [
      { ...event, source: 'aws.partner/genesys.com/cloud/another-org/x' },
      { ...event, account: '999999999999' },
    ];
    for (const stranger of strangers) expect(deployed.filter((p) => patternMatches(p, stranger))).toEqual([]);
    const redeliverer = byType(template, 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('Redeliverer'),
    );
    const props = redeliverer?.[1].Properties as
      | { Environment?: { Variables: Record<string, unknown> } }
      | undefined;
    expect(props?.Environment?.Variables.GENESYS_EVENT_SOURCE).toBe(SOURCE);
  });

  it('takes the partner source from a bus named after it, and needs eventSource for any other name', () => {
    const { template } = synthStack({ ...EVENTBRIDGE_ONLY, eventSource: undefined, eventBusName: SOURCE });
    for (const rule of rulesOf(template))
      expect((rule.EventPattern as { source: unknown }).source).toEqual([SOURCE]);
    expect(() =>
      stackConfigFromContext({ ...EVENTBRIDGE_ONLY, eventSource: undefined, eventBusName: 'b' }),
    ).toThrow(/eventBusName "b" needs eventSource: the Genesys partner event source whose events it carries/);
  });

  it('takes ROUTES as a JSON array in cdk.json context', () => {
    const { template } = synthStack({ ...EVENTBRIDGE_ONLY, ROUTES: ROUTES });
    expect(rulesOf(template)).toHaveLength(ROUTES.length + 1);
  });
});

describe('EventBridge source: a route ordered per entity keeps the intake', () => {
  const ORDERED: Route = {
    name: 'presence',
    topics: ['v2.users.{id}.presence'],
    url: 'https://hooks.example.com/presence',
    order: 'per-entity',
  };
  let template: Template;
  beforeAll(() => {
    template = synthStack({ ...EVENTBRIDGE_ONLY, ROUTES: JSON.stringify([...ROUTES, ORDERED]) }).template;
  });

  it('invokes the intake for the ordered route only, with an on-failure destination', () => {
    const intake = logicalId(template, 'AWS::Lambda::Function', 'EventBridgeSourceIntakeFunction');
    const retryQueue = logicalId(template, 'AWS::SQS::Queue', 'QueuesRetryQueue');
    const failures = logicalId(template, 'AWS::SQS::Queue', 'EventBridgeSourceIntakeFailuresQueue');
    for (const rule of rulesOf(template)) {
      const [target] = rule.Targets;
      const ordered = rule.id.startsWith('EventBridgeSourceRoutepresence');
      expect(target?.Arn).toEqual(arnOf(ordered ? intake : retryQueue));
      expect(target?.DeadLetterConfig).toEqual({ Arn: arnOf(failures) });
    }
    const permissions = byType(template, 'AWS::Lambda::Permission');
    expect(permissions).toHaveLength(1);
    expect(permissions[0]?.[1].Properties.Principal).toBe('events.amazonaws.com');
    expect(JSON.stringify(permissions[0]?.[1].Properties.SourceArn)).toContain(
      'EventBridgeSourceRoutepresence',
    );
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: arnOf(failures) } },
    });
  });

  it('grants the intake exactly: send to the retry queue and the failures queue, ledger writes', () => {
    const retryQueue = logicalId(template, 'AWS::SQS::Queue', 'QueuesRetryQueue');
    const failures = logicalId(template, 'AWS::SQS::Queue', 'EventBridgeSourceIntakeFailuresQueue');
    const table = logicalId(template, 'AWS::DynamoDB::Table', 'Ledger');
    const statements = statementsOf(template, 'EventBridgeSourceIntakeRole');
    expect(actions(statements)).toEqual([
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
      'sqs:SendMessage',
    ]);
    for (const s of statements) {
      const action = [s.Action].flat();
      if (action.includes('sqs:GetQueueUrl')) expect(s.Resource).toEqual(arnOf(failures));
      else if (action.some((a) => a.startsWith('sqs:'))) expect(s.Resource).toEqual(arnOf(retryQueue));
      if (action.some((a) => a.startsWith('dynamodb:'))) expect(s.Resource).toEqual(arnOf(table));
    }
  });

  it('counts the intake’s refusals in the unmatched-events alarm too', () => {
    const [, alarm] =
      byType(template, 'AWS::CloudWatch::Alarm').find(
        ([, a]) => a.Properties.AlarmName === 'GenesysWebhookRecovery-EventBridgeUnmatchedEvents',
      ) ?? [];
    const services = JSON.stringify(alarm?.Properties.Metrics);
    expect(services).toContain('genesys-eventbridge-intake');
    expect(services).toContain('genesys-webhook-redeliverer');
  });
});

describe('EventBridge source: configuration errors', () => {
  const problems = (context: Record<string, unknown>) => {
    try {
      stackConfigFromContext(context);
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    return '';
  };

  it.each([
    [{ ROUTES: JSON.stringify(ROUTES) }, /ROUTES needs the bus .* -c eventSource=/],
    [{ eventSource: SOURCE, WEBHOOK_ID: 'w', GENESYS_CLOUD_REGION: 'us-east-1' }, /eventSource needs ROUTES/],
    [
      { ...EVENTBRIDGE_ONLY, eventSource: undefined, eventBusName: 'b' },
      /eventBusName "b" needs eventSource/,
    ],
    [
      { ...EVENTBRIDGE_ONLY, eventSource: 'aws.partner/other.com/x' },
      /eventSource must be the Genesys partner event source/,
    ],
    [{}, /WEBHOOK_ID is required.*or give ROUTES/],
  ])('refuses %j', (context, message) => {
    expect(problems(context)).toMatch(message);
  });

  it('needs no GENESYS_CLOUD_REGION for the EventBridge source alone', () => {
    expect(problems(EVENTBRIDGE_ONLY)).toBe('');
  });
});

describe('EventBridge source: cdk-nag', () => {
  it.each([
    ['EventBridge alone', EVENTBRIDGE_ONLY],
    ['both sources', { ROUTES: JSON.stringify(ROUTES), eventSource: SOURCE }],
    ['existing bus', { ...EVENTBRIDGE_ONLY, eventBusName: 'genesys-events' }],
  ])('has no unacknowledged findings: %s', (_name, context) => {
    expect(nagFindings(buildStack(context).app)).toEqual([]);
  });
});

interface Report {
  pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath?: string }[] }[] }[];
}

function nagFindings(app: App): string[] {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  try {
    app.synth();
  } catch {
    // The report below lists what failed.
  }
  const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as Report;
  return report.pluginReports.flatMap((p) =>
    p.violations.flatMap((v) => v.violatingConstructs.map((r) => `${v.ruleName} at ${r.constructPath}`)),
  );
}

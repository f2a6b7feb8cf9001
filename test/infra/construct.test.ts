import { App, CfnParameter, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambdas/shared/errors';
import {
  GenesysWebhookRecovery,
  type GenesysWebhookRecoveryProps,
  PROP_CONTEXT_KEYS,
} from '../../lib/genesys-webhook-recovery';
import { PIPELINE_SETTING_NAMES, STACK_KEYS, stackConfigFromContext } from '../../lib/stack-config';
import { GENESYS_EXAMPLE_SOURCE } from '../support/genesys-events';
import { nagFindings } from './nag-findings';
import { cdkJsonContext } from './synth-stack';
import { byType } from './template-queries';

const MINIMAL: GenesysWebhookRecoveryProps = { webhookIds: ['abc123'], genesysRegion: 'eu-west-1' };
const ROUTE = {
  name: 'ends',
  topics: ['v2.detail.events.conversation.{id}.customer.end'],
  url: 'https://hooks.example.com/ends',
};

/** A host stack of another app, with bundling skipped as the CLI skips it for stacks it does not deploy. */
function hostStack(id = 'Host'): { app: App; stack: Stack } {
  const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
  return { app, stack: new Stack(app, id) };
}

/** The problem lines of the ConfigError `build` throws (the header names its source; the lines are compared). */
function problemLines(build: () => unknown): { header: string; lines: string[] } {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const [header = '', ...lines] = (error as ConfigError).message.split('\n');
    return { header, lines };
  }
  throw new Error('expected a ConfigError');
}

describe('GenesysWebhookRecovery props', () => {
  it('map every context key once, and nothing else', () => {
    const keys = Object.values(PROP_CONTEXT_KEYS);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual([...PIPELINE_SETTING_NAMES, ...STACK_KEYS].sort());
  });

  // Each bad prop, and the context it stands for: the construct must fail with the context's very lines.
  const cases: [string, GenesysWebhookRecoveryProps, Record<string, unknown>][] = [
    ['maxRetries', { maxRetries: 0 }, { MAX_RETRIES: '0' }],
    ['pollIntervalSeconds', { pollIntervalSeconds: 90 }, { POLL_INTERVAL_SECONDS: '90' }],
    ['genesysRegion', { genesysRegion: 'xx-nowhere-9' }, { GENESYS_CLOUD_REGION: 'xx-nowhere-9' }],
    ['webhookIds', { webhookIds: ['bad id!'] }, { WEBHOOK_ID: 'bad id!' }],
    ['webhookIds missing', { webhookIds: [] }, { WEBHOOK_ID: '' }],
    [
      'retry delays',
      { retryDelaySeconds: 100, maxRetryDelaySeconds: 50 },
      { RETRY_DELAY_SECONDS: '100', MAX_RETRY_DELAY_SECONDS: '50' },
    ],
    ['namePrefix', { namePrefix: '1-bad' }, { stackName: '1-bad' }],
    ['alarmEmail', { alarmEmail: 'nobody' }, { alarmEmail: 'nobody' }],
    [
      'both Genesys secrets',
      {
        genesysSecretName: 'genesys',
        genesysSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:genesys-AbCdEf',
      },
      {
        secretName: 'genesys',
        secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:genesys-AbCdEf',
      },
    ],
    [
      'signing off with a signing secret',
      { signRedeliveries: false, signingSecretName: 'signing' },
      { signRedeliveries: 'false', signingSecretName: 'signing' },
    ],
    ['routes without a bus', { routes: [ROUTE] }, { ROUTES: [ROUTE] }],
    [
      'a route to a private address',
      { routes: [{ ...ROUTE, url: 'http://10.0.0.1/x' }], eventBusName: 'bus' },
      { ROUTES: [{ ...ROUTE, url: 'http://10.0.0.1/x' }], eventBusName: 'bus' },
    ],
    ['eventSource', { routes: [ROUTE], eventSource: 'genesys' }, { ROUTES: [ROUTE], eventSource: 'genesys' }],
  ];
  it.each(cases)('%s: a bad prop fails with the same lines as its context key', (_, props, context) => {
    const fromContext = problemLines(() =>
      stackConfigFromContext({ WEBHOOK_ID: 'abc123', GENESYS_CLOUD_REGION: 'eu-west-1', ...context }),
    );
    const fromProps = problemLines(
      () => new GenesysWebhookRecovery(hostStack().stack, 'Recovery', { ...MINIMAL, ...props }),
    );
    expect(fromProps.lines).toEqual(fromContext.lines);
    expect(fromProps.lines.length).toBeGreaterThan(0);
    expect(fromProps.header).toContain('Invalid GenesysWebhookRecovery props at Host/Recovery');
  });

  it('yields the configuration the context gives for the same settings', () => {
    const props: GenesysWebhookRecoveryProps = {
      ...MINIMAL,
      maxRetries: 7,
      targetAllowedHosts: ['hooks.example.com', 'hooks.internal.example.com'],
      forwardCredentialHeaders: true,
      reserveRedelivererConcurrency: false,
      alarmEmail: 'ops@example.com',
      routes: [ROUTE],
      eventBusName: 'genesys-bus',
      eventSource: GENESYS_EXAMPLE_SOURCE,
    };
    const recovery = new GenesysWebhookRecovery(hostStack().stack, 'Recovery', props);
    expect(recovery.config).toEqual(
      stackConfigFromContext({
        WEBHOOK_ID: 'abc123',
        GENESYS_CLOUD_REGION: 'eu-west-1',
        MAX_RETRIES: '7',
        TARGET_ALLOWED_HOSTS: 'hooks.example.com,hooks.internal.example.com',
        FORWARD_CREDENTIAL_HEADERS: 'true',
        reserveRedelivererConcurrency: 'false',
        alarmEmail: 'ops@example.com',
        ROUTES: [ROUTE],
        eventBusName: 'genesys-bus',
        eventSource: GENESYS_EXAMPLE_SOURCE,
        stackName: 'Host',
      }),
    );
  });

  it('refuses tokens, which cannot be validated at synth, and a bus given twice', () => {
    const { stack } = hostStack();
    const email = new CfnParameter(stack, 'Email').valueAsString;
    const bus = new events.EventBus(stack, 'Bus');
    const { lines } = problemLines(
      () =>
        new GenesysWebhookRecovery(stack, 'Recovery', {
          ...MINIMAL,
          alarmEmail: email,
          routes: [ROUTE],
          eventBus: bus,
          eventBusName: 'other',
          eventSource: GENESYS_EXAMPLE_SOURCE,
        }),
    );
    expect(lines).toEqual([
      '  - alarmEmail must be a literal value, not a token: it is validated at synth time',
      '  - eventBus and eventBusName: give one of them, not both',
    ]);
  });
});

describe('GenesysWebhookRecovery inside another stack', () => {
  it('builds from the two props of the README example, names resources after the host stack, and passes cdk-nag', () => {
    const { app, stack } = hostStack('Billing');
    const recovery = new GenesysWebhookRecovery(stack, 'Recovery', MINIMAL);
    const template = Template.fromStack(stack);
    const queueNames = byType(template, 'AWS::SQS::Queue').map(([, q]) => q.Properties.QueueName);
    expect(queueNames).toEqual(expect.arrayContaining(['Billing-retry', 'Billing-retry-dlq']));
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Billing' });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'Billing/genesys-credentials' });
    expect(recovery.config.stackName).toBe('Billing');
    // Construct-level outputs would collide between two instances; the stack owner decides what to export.
    expect(template.findOutputs('*')).toEqual({});
    expect(nagFindings(app)).toEqual([]);
  });

  it('exposes every created resource as a public property, resolving to the template resource', () => {
    const { stack } = hostStack();
    const recovery = new GenesysWebhookRecovery(stack, 'Recovery', MINIMAL);
    const template = Template.fromStack(stack);
    const typeOf = (token: string) => {
      const resolved = stack.resolve(token) as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      const id = resolved.Ref ?? resolved['Fn::GetAtt']?.[0] ?? '';
      return (template.toJSON().Resources as Record<string, { Type: string }>)[id]?.Type;
    };
    expect(typeOf(recovery.retryQueue.queueArn)).toBe('AWS::SQS::Queue');
    expect(typeOf(recovery.deadLetterQueue.queueArn)).toBe('AWS::SQS::Queue');
    expect(typeOf(recovery.ledgerTable.tableName)).toBe('AWS::DynamoDB::Table');
    expect(typeOf(recovery.redelivererFunction.functionName)).toBe('AWS::Lambda::Function');
    expect(recovery.pollerFunction && typeOf(recovery.pollerFunction.functionName)).toBe(
      'AWS::Lambda::Function',
    );
    expect(recovery.pollerSchedule && typeOf(recovery.pollerSchedule.scheduleArn)).toBe(
      'AWS::Scheduler::Schedule',
    );
    expect(recovery.failedPollsQueue && typeOf(recovery.failedPollsQueue.queueArn)).toBe('AWS::SQS::Queue');
    expect(recovery.genesysSecret && typeOf(recovery.genesysSecret.secretArn)).toBe(
      'AWS::SecretsManager::Secret',
    );
    expect(recovery.signingSecret && typeOf(recovery.signingSecret.secretArn)).toBe(
      'AWS::SecretsManager::Secret',
    );
    expect(typeOf(recovery.alarmTopic.topicArn)).toBe('AWS::SNS::Topic');
    expect(typeOf(recovery.dashboard?.dashboardName ?? '')).toBe('AWS::CloudWatch::Dashboard');
    expect(recovery.alarms.map((a) => typeOf(a.alarmArn))).toEqual(
      recovery.alarms.map(() => 'AWS::CloudWatch::Alarm'),
    );
    expect(recovery.alarms).toHaveLength(byType(template, 'AWS::CloudWatch::Alarm').length);
    // No EventBridge source without routes.
    expect([recovery.eventBus, recovery.intakeFunction, recovery.intakeFailuresQueue]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(recovery.eventRules).toEqual([]);
  });

  it('puts the EventBridge source on a bus of the host stack, and two instances side by side by namePrefix', () => {
    const { stack } = hostStack();
    const bus = new events.EventBus(stack, 'Bus', { eventBusName: 'host-bus' });
    const a = new GenesysWebhookRecovery(stack, 'A', {
      routes: [ROUTE],
      eventBus: bus,
      eventSource: GENESYS_EXAMPLE_SOURCE,
      namePrefix: 'a',
    });
    const b = new GenesysWebhookRecovery(stack, 'B', {
      ...MINIMAL,
      namePrefix: 'b',
      signRedeliveries: false,
    });
    const template = Template.fromStack(stack);
    expect(a.eventBus).toBe(bus);
    expect(a.eventRules).toHaveLength(2);
    expect(a.pollerFunction).toBeUndefined();
    // No route is ordered: the rules put events on the retry queue, and only the failures queue is needed.
    expect(a.intakeFunction).toBeUndefined();
    expect(a.intakeFailuresQueue).toBeDefined();
    expect(b.signingSecret).toBeUndefined();
    for (const [, rule] of byType(template, 'AWS::Events::Rule')) {
      expect(stack.resolve(rule.Properties.EventBusName)).toEqual(stack.resolve(bus.eventBusName));
    }
    const queueNames = byType(template, 'AWS::SQS::Queue').map(([, q]) => q.Properties.QueueName);
    expect(queueNames).toEqual(
      expect.arrayContaining(['a-retry', 'a-retry-dlq', 'a-eventbridge-failures', 'b-retry', 'b-retry-dlq']),
    );
    const alarmNames = byType(template, 'AWS::CloudWatch::Alarm').map(([, x]) => x.Properties.AlarmName);
    expect(new Set(alarmNames).size).toBe(alarmNames.length);
  });
});

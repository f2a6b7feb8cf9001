import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { CONSOLE_DOMAINS, consoleUrl } from '../../lib/console-links';
import { ALARM_NAMES } from '../../lib/constructs/recovery-alarms';
import { LAMBDA_MAX_EVENT_AGE_SECONDS, pipelineTiming } from '../../lib/pipeline-timing';
import { synthStack } from './synth-stack';
import { byType, logicalId } from './template-queries';

/**
 * What AWS does with the template, checked against AWS's documented behaviour (no account is needed): alarms
 * can publish to their topic, a failed poll is really retried, DLQ alarms see viewed messages, throttling cannot
 * spend retry budget, alarm names match the docs, console links use the partition's console.
 */

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

const resourcesOf = (template: Template) => template.toJSON().Resources as Resources;

/** The one resource of `type` whose logical id starts with `prefix`, as plain JSON. */
function resource(template: Template, type: string, prefix: string): Record<string, unknown> {
  return resourcesOf(template)[logicalId(template, type, prefix)]?.Properties ?? {};
}

/** Matches an IAM ArnLike pattern (`*` and `?` wildcards) against a string. */
function arnLike(pattern: string, value: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(value);
}

describe('the stack as AWS runs it', () => {
  let defaults: Template;
  let named: Template;
  beforeAll(() => {
    defaults = synthStack().template;
    named = synthStack({
      stackName: 'WebhookRecoveryTest',
      MAX_CONCURRENCY: '20',
      POLL_INTERVAL_SECONDS: '3600',
    }).template;
  });

  describe('alarm notifications', () => {
    it('lets CloudWatch publish to the topic for this account and stack only, and still denies non-TLS', () => {
      for (const [template, stackName] of [
        [defaults, 'GenesysWebhookRecovery'],
        [named, 'WebhookRecoveryTest'],
      ] as const) {
        const topic = logicalId(template, 'AWS::SNS::Topic', 'AlarmsTopic');
        const policies = byType(template, 'AWS::SNS::TopicPolicy');
        expect(policies).toHaveLength(1);
        const [[, policy] = ['', { Properties: {} }]] = policies;
        expect(policy.Properties.Topics).toEqual([{ Ref: topic }]);
        const statements = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] })
          .Statement;
        expect(statements).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            expect.objectContaining({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: { Ref: topic },
              Condition: {
                StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
                ArnLike: {
                  'aws:SourceArn': {
                    'Fn::Join': [
                      '',
                      [
                        'arn:',
                        { Ref: 'AWS::Partition' },
                        ':cloudwatch:',
                        { Ref: 'AWS::Region' },
                        ':',
                        { Ref: 'AWS::AccountId' },
                        `:alarm:${stackName}-*`,
                      ],
                    ],
                  },
                },
              },
            }),
          ]),
        );
        // Every alarm of the stack is admitted by that pattern.
        for (const [, alarm] of byType(template, 'AWS::CloudWatch::Alarm')) {
          const arn = `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${String(alarm.Properties.AlarmName)}`;
          expect(arnLike(`arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${stackName}-*`, arn), arn).toBe(
            true,
          );
        }
      }
    });

    it('names every alarm <stack name>-<the name the docs use>', () => {
      for (const [template, stackName] of [
        [defaults, 'GenesysWebhookRecovery'],
        [named, 'WebhookRecoveryTest'],
      ] as const) {
        const names = byType(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties.AlarmName);
        expect(names.sort()).toEqual(ALARM_NAMES.map((n) => `${stackName}-${n}`).sort());
      }
    });
  });

  it('documents every alarm under the name it is deployed with', () => {
    const operations = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const start = operations.indexOf('## Alarms');
    const table = operations.slice(start, operations.indexOf('\n## ', start + 1));
    const documented = [...table.matchAll(/^\| `([A-Za-z]+)` /gm)].map((m) => m[1]);
    // The EventBridge source's two alarms exist only in a stack with that source.
    const eventBridge = ['EventBridgeIntakeFailures', 'EventBridgeUnmatchedEvents'];
    expect(documented.sort()).toEqual([...ALARM_NAMES, ...eventBridge].sort());
    expect(operations).toContain('`<stack name>-<Alarm>`');
  });

  describe('poll retries', () => {
    it('keeps a failed poll long enough for Lambda to retry it (timeout + 60 s), within 6 hours', () => {
      for (const template of [defaults, named]) {
        const poller = resource(template, 'AWS::Lambda::Function', 'PollerFunction');
        const config = resource(template, 'AWS::Lambda::EventInvokeConfig', 'Poller');
        expect(config.MaximumRetryAttempts).toBe(1);
        expect(config.MaximumEventAgeInSeconds).toBeGreaterThan(Number(poller.Timeout) + 60);
        expect(config.MaximumEventAgeInSeconds).toBeLessThanOrEqual(LAMBDA_MAX_EVENT_AGE_SECONDS);
      }
    });

    it('derives a valid event age for every interval the schema allows', () => {
      for (const interval of [60, 120, 300, 3_600, 21_600, 21_660, 43_200, 86_400]) {
        const t = pipelineTiming(
          parsePipelineSettings({ WEBHOOK_ID: 'w', POLL_INTERVAL_SECONDS: String(interval) }),
        );
        const age = t.pollerAsyncEventAge.toSeconds();
        expect(age, `interval ${interval}`).toBeGreaterThan(t.pollerTimeout.toSeconds() + 60);
        expect(age, `interval ${interval}`).toBeLessThanOrEqual(LAMBDA_MAX_EVENT_AGE_SECONDS);
        expect(age, `interval ${interval}`).toBeGreaterThanOrEqual(
          Math.min(interval, LAMBDA_MAX_EVENT_AGE_SECONDS),
        );
        expect(t.pollerScheduleEventAge.toSeconds()).toBeLessThanOrEqual(86_400);
      }
    });
  });

  describe('dead-letter alarms', () => {
    it('counts visible and in-flight DLQ messages, so viewing a dead letter does not clear the alarm', () => {
      const dlq = logicalId(defaults, 'AWS::SQS::Queue', 'QueuesDeadLetterQueue');
      const alarm = resource(defaults, 'AWS::CloudWatch::Alarm', 'AlarmsDeadLetterQueueNotEmpty');
      expect(alarm).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      const metrics = alarm.Metrics as {
        Id: string;
        Expression?: string;
        ReturnData?: boolean;
        MetricStat?: { Metric: { MetricName: string; Dimensions: unknown } };
      }[];
      const byName = (name: string) => metrics.find((m) => m.MetricStat?.Metric.MetricName === name);
      const visible = byName('ApproximateNumberOfMessagesVisible');
      const inFlight = byName('ApproximateNumberOfMessagesNotVisible');
      for (const m of [visible, inFlight]) {
        expect(m?.MetricStat?.Metric.Dimensions).toEqual([
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } },
        ]);
      }
      const expression = metrics.find((m) => m.Expression !== undefined);
      expect(expression?.ReturnData).not.toBe(false);
      expect(expression?.Expression).toContain(visible?.Id);
      expect(expression?.Expression).toContain(inFlight?.Id);
    });

    it('alarms on a dead letter’s age well before the earliest time SQS may delete it', () => {
      for (const env of [
        {},
        { MAX_RETRIES: '200', MAX_RETRY_DELAY_SECONDS: '3600' }, // retry retention at its 13-day cap
        { MAX_RETRIES: '9', MAX_RETRY_DELAY_SECONDS: '43200' },
      ]) {
        const t = pipelineTiming(parsePipelineSettings({ WEBHOOK_ID: 'w', ...env }));
        // SQS expires a dead letter by its first enqueue time: it is sure to stay this long in the DLQ.
        const sureToStay = t.dlqRetention.toSeconds() - t.retryRetention.toSeconds();
        expect(sureToStay).toBeGreaterThanOrEqual(86_400);
        expect(t.dlqAgeThreshold.toSeconds()).toBeLessThanOrEqual(sureToStay / 2);
      }
      const retry = resource(defaults, 'AWS::SQS::Queue', 'QueuesRetryQueue');
      const dead = resource(defaults, 'AWS::SQS::Queue', 'QueuesDeadLetterQueue');
      defaults.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'GenesysWebhookRecovery-DeadLetterQueueMessageAging',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Threshold: (Number(dead.MessageRetentionPeriod) - Number(retry.MessageRetentionPeriod)) / 2,
      });
    });
  });

  describe('redeliverer concurrency', () => {
    it('reserves no concurrency for any function by default: a new account (quota 10) can deploy it', () => {
      for (const template of [defaults, named]) {
        const functions = template.findResources('AWS::Lambda::Function');
        expect(Object.keys(functions).length).toBeGreaterThan(0);
        for (const fn of Object.values(functions)) {
          expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
        }
      }
      // The event source still caps the redeliverer's invocations at MAX_CONCURRENCY.
      for (const [template, concurrency] of [
        [defaults, 5],
        [named, 20],
      ] as const) {
        const mapping = resource(template, 'AWS::Lambda::EventSourceMapping', 'Redeliverer');
        expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: concurrency });
      }
    });

    it('reserves MAX_CONCURRENCY (redeliverer) and 1 (poller) when opted in, each by its own switch', () => {
      const { template } = synthStack({ reserveRedelivererConcurrency: 'true', MAX_CONCURRENCY: '7' });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'genesys-webhook-redeliverer' } },
        ReservedConcurrentExecutions: 7,
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'genesys-webhook-poller' } },
        ReservedConcurrentExecutions: Match.absent(),
      });
      const poller = synthStack({ reservePollerConcurrency: 'true' }).template;
      poller.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'genesys-webhook-poller' } },
        ReservedConcurrentExecutions: 1,
      });
    });
  });

  describe('console links', () => {
    const link = (region: string) => {
      const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region } });
      return JSON.stringify(stack.resolve(consoleUrl(stack, 'sqs/v3/home', '#/queues')));
    };

    it.each([
      ['eu-west-1', CONSOLE_DOMAINS.aws],
      ['cn-north-1', 'console.amazonaws.cn'],
      ['cn-northwest-1', 'console.amazonaws.cn'],
      ['us-gov-west-1', 'console.amazonaws-us-gov.com'],
      ['us-gov-east-1', 'console.amazonaws-us-gov.com'],
    ])('uses the console of the partition of %s', (region, domain) => {
      expect(link(region)).toBe(JSON.stringify(`https://${domain}/sqs/v3/home?region=${region}#/queues`));
    });

    it('decides the domain at deploy time from AWS::Partition when the stack has no region', () => {
      const outputs = defaults.findOutputs('*');
      const conditions = defaults.toJSON().Conditions as Record<string, unknown>;
      expect(conditions).toMatchObject({
        ConsoleInChina: { 'Fn::Equals': [{ Ref: 'AWS::Partition' }, 'aws-cn'] },
        ConsoleInGovCloud: { 'Fn::Equals': [{ Ref: 'AWS::Partition' }, 'aws-us-gov'] },
      });
      for (const name of ['DeadLetterQueueConsoleUrl', 'DashboardUrl']) {
        const value = JSON.stringify(outputs[name]?.Value);
        expect(value).toContain(
          JSON.stringify({
            'Fn::If': [
              'ConsoleInChina',
              'console.amazonaws.cn',
              { 'Fn::If': ['ConsoleInGovCloud', 'console.amazonaws-us-gov.com', 'console.aws.amazon.com'] },
            ],
          }),
        );
        expect(value).not.toMatch(/\.console\.aws\.amazon\.com/);
      }
    });

    it('builds both stack outputs from the China console in a China region', () => {
      const { template } = synthStack({}, { env: { account: '123456789012', region: 'cn-north-1' } });
      const outputs = template.findOutputs('*');
      for (const name of ['DeadLetterQueueConsoleUrl', 'DashboardUrl']) {
        const value = JSON.stringify(outputs[name]?.Value);
        expect(value).toContain('https://console.amazonaws.cn/');
        expect(value).not.toContain('amazon.com');
      }
      // The queue URL inside the SQS link keeps the partition's service domain suffix (amazonaws.com.cn).
      expect(JSON.stringify(outputs.DeadLetterQueueConsoleUrl?.Value)).toContain(
        '%2F%2Fsqs.cn-north-1.",{"Ref":"AWS::URLSuffix"}',
      );
    });
  });
});

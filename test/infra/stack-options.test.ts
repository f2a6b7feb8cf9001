import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthStack } from './synth-stack';
import { byType, statementsOf } from './template-queries';

/** The Genesys credentials secrets the stack creates (the signing secret is another one). */
const genesysSecrets = (template: Template) =>
  byType(template, 'AWS::SecretsManager::Secret').filter(([id]) => id.startsWith('GenesysCredentials'));

describe('WebhookRecoveryStack (options)', () => {
  it('creates the dashboard and its output by default, and neither with dashboard=false', () => {
    const on = synthStack({}).template;
    expect(byType(on, 'AWS::CloudWatch::Dashboard')).toHaveLength(1);
    expect(Object.keys(on.findOutputs('DashboardUrl'))).toEqual(['DashboardUrl']);
    const off = synthStack({ dashboard: 'false' }).template;
    expect(byType(off, 'AWS::CloudWatch::Dashboard')).toEqual([]);
    expect(off.findOutputs('DashboardUrl')).toEqual({});
    // The alarms do not depend on it.
    expect(byType(off, 'AWS::CloudWatch::Alarm').length).toBe(byType(on, 'AWS::CloudWatch::Alarm').length);
    expect(() => synthStack({ dashboard: 'no' })).toThrow(/dashboard must be true or false \(got "no"\)/);
  });

  it('subscribes the alarm e-mail', () => {
    const { template } = synthStack({ alarmEmail: 'ops@example.com' });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('uses an existing secret by name, granting the name with its random suffix only', () => {
    const { template } = synthStack({ secretName: 'genesys/prod' });
    expect(genesysSecrets(template)).toEqual([]);
    const statements = statementsOf(template, 'PollerRole').filter((s) =>
      [s.Action].flat().includes('secretsmanager:GetSecretValue'),
    );
    expect(JSON.stringify(statements[0]?.Resource)).toMatch(/:secret:genesys\/prod-\?\?\?\?\?\?"/);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { GENESYS_CREDENTIALS_SECRET_ID: 'genesys/prod' } },
    });
  });

  it('uses an existing secret by complete ARN, granting exactly that ARN', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:genesys-AbC123';
    const { template } = synthStack({ secretArn: arn });
    expect(genesysSecrets(template)).toEqual([]);
    const statements = statementsOf(template, 'PollerRole').filter((s) =>
      [s.Action].flat().includes('secretsmanager:GetSecretValue'),
    );
    expect(statements[0]?.Resource).toBe(arn);
  });

  it('takes the schedule, retry budget, batching and concurrency from the settings', () => {
    const { template } = synthStack({
      POLL_INTERVAL_SECONDS: '300',
      MAX_RETRIES: '8',
      BATCH_SIZE: '25',
      MAX_CONCURRENCY: '3',
      reservePollerConcurrency: 'false',
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(5 minutes)' });
    template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: { maxReceiveCount: 8 + 5 } });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 25,
      ScalingConfig: { MaximumConcurrency: 3 },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Invocations', Period: 900 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'genesys-webhook-poller' } },
      ReservedConcurrentExecutions: Match.absent(),
    });
  });

  it('names the queues after the stack', () => {
    const { template } = synthStack({ stackName: 'WebhookRecoveryTest' });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'WebhookRecoveryTest-retry' });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'WebhookRecoveryTest-retry-dlq' });
  });
});

import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthStack } from './synth-stack';
import { arnOf, byType, logicalId } from './template-queries';

describe('WebhookRecoveryStack (defaults)', () => {
  let template: Template;
  let retryQueue: string;
  let dlq: string;
  let table: string;
  beforeAll(() => {
    template = synthStack({ MAX_RETRIES: '5', DELIVERY_TIMEOUT_SECONDS: '20' }).template;
    retryQueue = logicalId(template, 'AWS::SQS::Queue', 'QueuesRetryQueue');
    dlq = logicalId(template, 'AWS::SQS::Queue', 'QueuesDeadLetterQueue');
    table = logicalId(template, 'AWS::DynamoDB::Table', 'Ledger');
  });

  it('runs both functions on Node.js 24, arm64, with explicit memory, timeout and log group', () => {
    const functions = byType(template, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(2);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: expect.any(Number),
        Timeout: expect.any(Number),
        LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/LogGroup/) } },
      });
    }
    template.resourceCountIs('AWS::Logs::LogGroup', 2);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('passes every pipeline setting and the resource wiring to the functions', () => {
    const common = {
      WEBHOOK_ID: 'example-webhook',
      GENESYS_CLOUD_REGION: 'us-east-1',
      MAX_RETRIES: '5',
      DELIVERY_TIMEOUT_SECONDS: '20',
      POLL_INTERVAL_SECONDS: '60',
      BATCH_SIZE: '10',
      MAX_CONCURRENCY: '5',
      RETRY_QUEUE_URL: { Ref: retryQueue },
      LEDGER_TABLE_NAME: { Ref: table },
      POWERTOOLS_METRICS_NAMESPACE: 'GenesysWebhookRecovery/GenesysWebhookRecovery',
      NODE_OPTIONS: '--enable-source-maps',
    };
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          ...common,
          POWERTOOLS_SERVICE_NAME: 'genesys-webhook-poller',
          GENESYS_CREDENTIALS_SECRET_ID: { Ref: Match.stringLikeRegexp('GenesysCredentials') },
        },
      },
    });
    // The redeliverer is not told where the credentials are.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          ...common,
          POWERTOOLS_SERVICE_NAME: 'genesys-webhook-redeliverer',
          GENESYS_CREDENTIALS_SECRET_ID: Match.absent(),
        },
      },
    });
  });

  it('has a retry queue that redrives to the DLQ after MAX_RETRIES + 5 receives (headroom for undecided receives), with a visibility ≥ 6 × timeout', () => {
    const redeliverer = logicalId(template, 'AWS::Lambda::Function', 'RedelivererFunction');
    const timeout = template.toJSON().Resources[redeliverer].Properties.Timeout as number;
    expect(timeout).toBe(20 + 15);
    const queue = template.toJSON().Resources[retryQueue].Properties;
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: arnOf(dlq), maxReceiveCount: 5 + 5 });
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    expect(queue).toMatchObject({ SqsManagedSseEnabled: true, MaximumMessageSize: 1_048_576 });
    expect(queue.FifoQueue).toBeUndefined();
  });

  it('has a DLQ kept 14 days, longer than the retry queue, that only the retry queue may redrive into', () => {
    const resources = template.toJSON().Resources;
    const dead = resources[dlq].Properties;
    expect(dead).toMatchObject({
      SqsManagedSseEnabled: true,
      MaximumMessageSize: 1_048_576,
      MessageRetentionPeriod: 14 * 86_400,
      RedriveAllowPolicy: { redrivePermission: 'byQueue' },
    });
    expect(dead.MessageRetentionPeriod).toBeGreaterThan(
      resources[retryQueue].Properties.MessageRetentionPeriod,
    );
    const sources = dead.RedriveAllowPolicy.sourceQueueArns as unknown[];
    expect(sources).toHaveLength(1);
    expect(JSON.stringify(sources[0])).toContain(':GenesysWebhookRecovery-retry"');
    expect(resources[retryQueue].Properties.QueueName).toBe('GenesysWebhookRecovery-retry');
  });

  it('denies non-TLS access on every queue and encrypts every queue', () => {
    const queues = byType(template, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(3);
    for (const [id, queue] of queues) {
      expect(queue.Properties.SqsManagedSseEnabled, id).toBe(true);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('consumes the retry queue with partial batch responses, settings-driven batching and capped concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(retryQueue),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('polls on an EventBridge Scheduler rate, one poll at a time, retrying and capturing failures', () => {
    const poller = logicalId(template, 'AWS::Lambda::Function', 'PollerFunction');
    const failed = logicalId(template, 'AWS::SQS::Queue', 'PollerFailedPollsQueue');
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: arnOf(poller),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: { Arn: arnOf(failed) },
      },
    });
    const props = template.toJSON().Resources[poller].Properties;
    // No reservation by default (a new account's quota of 10 has none to give); the poll lease serialises polls.
    expect(props.ReservedConcurrentExecutions).toBeUndefined();
    expect(props.Timeout).toBeLessThan(60);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: poller },
      MaximumRetryAttempts: 1,
      DestinationConfig: { OnFailure: { Destination: arnOf(failed) } },
    });
  });

  it('creates the ledger table on demand, with TTL, point-in-time recovery and encryption', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('creates the credentials secret with the documented JSON shape and keeps it on removal', () => {
    template.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Name: 'GenesysWebhookRecovery/genesys-credentials',
        SecretString: Match.serializedJson({ clientId: Match.anyValue(), clientSecret: Match.anyValue() }),
      },
    });
  });

  it('alarms on the DLQ, queue ages, poller errors, missed polls, failed polls, watermark lag, invalid log entries and redeliverer errors', () => {
    const alarms = byType(template, 'AWS::CloudWatch::Alarm');
    const topic = logicalId(template, 'AWS::SNS::Topic', 'AlarmsTopic');
    expect(alarms.map(([id]) => id.replace(/^Alarms|[0-9A-F]{8}$/g, '')).sort()).toEqual([
      'DeadLetterQueueMessageAging',
      'DeadLetterQueueNotEmpty',
      'InvalidDeliveryLogEntries',
      'PollerErrors',
      'PollerInvocationsFailed',
      'PollerMissedPolls',
      'PollerWatermarkLag',
      'RedelivererErrors',
      'RetryQueueMessageAging',
      'TargetHeldBack',
    ]);
    for (const [, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topic }]);
    }
    // Visible + in flight (see aws-behaviour.test.ts).
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'GenesysWebhookRecovery-DeadLetterQueueNotEmpty',
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: {
              MetricName: 'ApproximateNumberOfMessagesNotVisible',
              Namespace: 'AWS/SQS',
              Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
            },
          }),
        }),
      ]),
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
    });
    // A target held back longer than 3 poll intervals (at least 15 minutes) is named on the dashboard.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'LongestHoldSeconds',
      Statistic: 'Maximum',
      Threshold: 900,
      Dimensions: [{ Name: 'service', Value: 'genesys-webhook-redeliverer' }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [retryQueue, 'QueueName'] } }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'InvalidEntries',
      Namespace: 'GenesysWebhookRecovery/GenesysWebhookRecovery',
      Dimensions: [{ Name: 'service', Value: 'genesys-webhook-poller' }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocations',
      Namespace: 'AWS/Lambda',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      Period: 300,
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'PollErrors' }) }),
        }),
      ]),
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('the redeliverer-errors alarm also counts redeliveries not sent (the signing secret could not be read)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'GenesysWebhookRecovery-RedelivererErrors',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(errors, 0) + FILL(notSent, 0)' }),
        Match.objectLike({
          Id: 'notSent',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: 'RedeliveriesNotSent' }),
            Stat: 'Sum',
          }),
        }),
      ]),
    });
  });

  it('alarms when a watermark stays more than 3 poll intervals behind, under an explicit name', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: Match.stringLikeRegexp('-PollerWatermarkLag$'),
      MetricName: 'WatermarkLagSeconds',
      Namespace: 'GenesysWebhookRecovery/GenesysWebhookRecovery',
      Dimensions: [{ Name: 'service', Value: 'genesys-webhook-poller' }],
      Statistic: 'Minimum',
      Threshold: 180,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      TreatMissingData: 'notBreaching',
    });
    const [[, dashboard] = ['', { Properties: {} }]] = byType(template, 'AWS::CloudWatch::Dashboard');
    expect(JSON.stringify(dashboard.Properties.DashboardBody)).toContain('WatermarkLagSeconds');
  });

  it('shows found, enqueued, delivered, retried and dead-lettered on the dashboard', () => {
    const [[, dashboard] = ['', { Properties: {} }]] = byType(template, 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of [
      'FailedDeliveriesFound',
      'Enqueued',
      'Delivered',
      'Retried',
      'PermanentFailures',
      'RetriesExhausted',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(metric);
    }
    expect(body).toContain('GenesysWebhookRecovery/GenesysWebhookRecovery');
    expect(body).toContain('genesys-webhook-redeliverer');
  });

  it('outputs the queues, a DLQ console link, the table, the secret and the dashboard link', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'RetryQueueUrl',
        'RetryQueueArn',
        'DeadLetterQueueUrl',
        'DeadLetterQueueArn',
        'DeadLetterQueueConsoleUrl',
        'LedgerTableName',
        'GenesysSecretArn',
        'DashboardUrl',
      ]),
    );
    expect(JSON.stringify(template.findOutputs('DeadLetterQueueConsoleUrl'))).toContain(
      '/sqs/v3/home?region=',
    );
  });
});

describe('ExtraCredentialHeaders output', () => {
  it('names EXTRA_CREDENTIAL_HEADERS for the CLI, and says (none) when there are none', () => {
    const named = synthStack({ EXTRA_CREDENTIAL_HEADERS: 'X-Tenant-Ref, X-Customer-Pin' }).template;
    named.hasOutput('ExtraCredentialHeaders', { Value: 'X-Tenant-Ref,X-Customer-Pin' });
    synthStack().template.hasOutput('ExtraCredentialHeaders', { Value: '(none)' });
  });
});

import { CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { GenesysSecret } from './constructs/genesys-secret';
import { LedgerTable } from './constructs/ledger-table';
import { PollerFunction } from './constructs/poller-function';
import { RecoveryAlarms } from './constructs/recovery-alarms';
import { RecoveryDashboard } from './constructs/recovery-dashboard';
import { RedelivererFunction } from './constructs/redeliverer-function';
import { RetryQueues } from './constructs/retry-queues';
import type { StackConfig } from './stack-config';

/** Properties of {@link WebhookRecoveryStack}. */
export interface WebhookRecoveryStackProps extends StackProps {
  /** The validated configuration (see stackConfigFromContext). */
  readonly config: StackConfig;
}

/**
 * Recovers failed Genesys Cloud webhook deliveries: a scheduled poller reads the delivery log and fills the
 * retry queue, the redeliverer re-POSTs with backoff, and SQS moves what still fails to the DLQ. This class only
 * composes the constructs; their details live in lib/constructs.
 */
export class WebhookRecoveryStack extends Stack {
  public readonly queues: RetryQueues;
  public readonly ledger: LedgerTable;
  public readonly genesysSecret: GenesysSecret;
  public readonly poller: PollerFunction;
  public readonly redeliverer: RedelivererFunction;
  public readonly alarms: RecoveryAlarms;
  public readonly dashboard: RecoveryDashboard;

  constructor(scope: Construct, id: string, props: WebhookRecoveryStackProps) {
    super(scope, id, props);
    const { settings, timing, pipelineEnvironment, secret } = props.config;

    this.queues = new RetryQueues(this, 'Queues', {
      maxReceiveCount: settings.MAX_RETRIES,
      visibilityTimeout: timing.retryVisibilityTimeout,
      retentionPeriod: timing.retryRetention,
      dlqRetentionPeriod: timing.dlqRetention,
    });
    this.ledger = new LedgerTable(this, 'Ledger');
    this.genesysSecret = new GenesysSecret(this, 'GenesysCredentials', {
      ...(secret.kind === 'name' ? { secretName: secret.secretName } : {}),
      ...(secret.kind === 'arn' ? { secretArn: secret.secretArn } : {}),
    });

    this.poller = new PollerFunction(this, 'Poller', {
      pipelineEnvironment,
      pollInterval: timing.pollInterval,
      timeout: timing.pollerTimeout,
      retryQueue: this.queues.queue,
      ledger: this.ledger.table,
      secret: this.genesysSecret.secret,
      secretId: this.genesysSecret.secretId,
      reserveConcurrency: props.config.reservePollerConcurrency,
    });
    this.redeliverer = new RedelivererFunction(this, 'Redeliverer', {
      pipelineEnvironment,
      timeout: timing.redelivererTimeout,
      retryQueue: this.queues.queue,
      ledger: this.ledger.table,
      batchSize: settings.BATCH_SIZE,
      maxBatchingWindow: timing.maxBatchingWindow,
      maxConcurrency: settings.MAX_CONCURRENCY,
    });

    this.alarms = new RecoveryAlarms(this, 'Alarms', {
      retryQueue: this.queues.queue,
      deadLetterQueue: this.queues.deadLetterQueue,
      failedPollsQueue: this.poller.failedPollsQueue,
      poller: this.poller.function,
      redeliverer: this.redeliverer.function,
      missedPollPeriod: timing.missedPollPeriod,
      retryQueueAgeThreshold: timing.retryQueueAgeThreshold,
      dlqAgeThreshold: timing.dlqAgeThreshold,
      watermarkLagThreshold: timing.watermarkLagThreshold,
      ...(props.config.alarmEmail ? { alarmEmail: props.config.alarmEmail } : {}),
    });
    this.dashboard = new RecoveryDashboard(this, 'Dashboard', {
      retryQueue: this.queues.queue,
      deadLetterQueue: this.queues.deadLetterQueue,
      poller: this.poller.function,
      redeliverer: this.redeliverer.function,
      alarms: this.alarms.alarms,
    });

    this.addOutputs();
  }

  private addOutputs(): void {
    const region = this.region;
    const dlqUrl = this.queues.deadLetterQueue.queueUrl;
    // The SQS console addresses a queue by its URL, percent-encoded.
    const encodedDlqUrl = Fn.join('', [
      'https%3A%2F%2Fsqs.',
      region,
      '.',
      this.urlSuffix,
      '%2F',
      this.account,
      '%2F',
      this.queues.deadLetterQueue.queueName,
    ]);
    const outputs: Record<string, [string, string]> = {
      RetryQueueUrl: [this.queues.queue.queueUrl, 'URL of the SQS retry queue'],
      RetryQueueArn: [this.queues.queue.queueArn, 'ARN of the SQS retry queue'],
      DeadLetterQueueUrl: [dlqUrl, 'URL of the dead-letter queue'],
      DeadLetterQueueArn: [this.queues.deadLetterQueue.queueArn, 'ARN of the dead-letter queue'],
      DeadLetterQueueConsoleUrl: [
        Fn.join('', [
          `https://${region}.console.aws.amazon.com/sqs/v3/home?region=`,
          region,
          '#/queues/',
          encodedDlqUrl,
        ]),
        'The DLQ in the SQS console: inspect messages, then "Start DLQ redrive"',
      ],
      FailedPollsQueueUrl: [this.poller.failedPollsQueue.queueUrl, 'Failed poll invocations, for inspection'],
      LedgerTableName: [this.ledger.table.tableName, 'Name of the DynamoDB ledger table'],
      GenesysSecretArn: [this.genesysSecret.secret.secretArn, 'The Genesys Cloud credentials secret'],
      AlarmTopicArn: [this.alarms.topic.topicArn, 'SNS topic the alarms notify'],
      DashboardUrl: [
        Fn.join('', [
          `https://${region}.console.aws.amazon.com/cloudwatch/home?region=`,
          region,
          '#dashboards/dashboard/',
          this.dashboard.dashboard.dashboardName,
        ]),
        'The CloudWatch dashboard',
      ],
    };
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description });
    }
  }
}

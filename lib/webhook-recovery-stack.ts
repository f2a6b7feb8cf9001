import { CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { consoleUrl } from './console-links';
import { EventBridgeSource } from './constructs/eventbridge-source';
import { GenesysSecret } from './constructs/genesys-secret';
import { LedgerTable } from './constructs/ledger-table';
import { PollerFunction } from './constructs/poller-function';
import { RecoveryAlarms } from './constructs/recovery-alarms';
import { RecoveryDashboard } from './constructs/recovery-dashboard';
import { RedelivererFunction } from './constructs/redeliverer-function';
import { RetryQueues } from './constructs/retry-queues';
import { SigningSecret } from './constructs/signing-secret';
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
  /** The delivery-log source; absent when WEBHOOK_ID is empty (the EventBridge source alone). */
  public readonly genesysSecret?: GenesysSecret;
  /** The redeliverer's signing secret; undefined when signing is off. */
  public readonly signingSecret: SigningSecret | undefined;
  /** The delivery-log source; absent when WEBHOOK_ID is empty (the EventBridge source alone). */
  public readonly poller?: PollerFunction;
  /** The EventBridge source; present when the config names a bus and routes. */
  public readonly eventBridge?: EventBridgeSource;
  public readonly redeliverer: RedelivererFunction;
  public readonly alarms: RecoveryAlarms;
  public readonly dashboard: RecoveryDashboard;

  constructor(scope: Construct, id: string, props: WebhookRecoveryStackProps) {
    super(scope, id, props);
    const { settings, timing, pipelineEnvironment, secret, signing } = props.config;

    this.queues = new RetryQueues(this, 'Queues', {
      maxReceiveCount: settings.MAX_RETRIES,
      visibilityTimeout: timing.retryVisibilityTimeout,
      retentionPeriod: timing.retryRetention,
      dlqRetentionPeriod: timing.dlqRetention,
    });
    this.ledger = new LedgerTable(this, 'Ledger');
    this.signingSecret =
      signing.kind === 'off'
        ? undefined
        : new SigningSecret(this, 'SigningSecret', {
            ...(signing.kind === 'name' ? { secretName: signing.secretName } : {}),
            ...(signing.kind === 'arn' ? { secretArn: signing.secretArn } : {}),
          });

    if (settings.WEBHOOK_ID.length > 0) {
      const genesysSecret = new GenesysSecret(this, 'GenesysCredentials', {
        ...(secret.kind === 'name' ? { secretName: secret.secretName } : {}),
        ...(secret.kind === 'arn' ? { secretArn: secret.secretArn } : {}),
      });
      this.genesysSecret = genesysSecret;
      this.poller = new PollerFunction(this, 'Poller', {
        pipelineEnvironment,
        pollInterval: timing.pollInterval,
        timeout: timing.pollerTimeout,
        asyncEventAge: timing.pollerAsyncEventAge,
        scheduleEventAge: timing.pollerScheduleEventAge,
        retryQueue: this.queues.queue,
        ledger: this.ledger.table,
        secret: genesysSecret.secret,
        secretId: genesysSecret.secretId,
        reserveConcurrency: props.config.reservePollerConcurrency,
      });
    }
    this.redeliverer = new RedelivererFunction(this, 'Redeliverer', {
      pipelineEnvironment,
      timeout: timing.redelivererTimeout,
      retryQueue: this.queues.queue,
      ledger: this.ledger.table,
      batchSize: settings.BATCH_SIZE,
      maxBatchingWindow: timing.maxBatchingWindow,
      maxConcurrency: settings.MAX_CONCURRENCY,
      reserveConcurrency: props.config.reserveRedelivererConcurrency,
      ...(this.signingSecret ? { signingSecret: this.signingSecret } : {}),
    });

    this.alarms = new RecoveryAlarms(this, 'Alarms', {
      retryQueue: this.queues.queue,
      deadLetterQueue: this.queues.deadLetterQueue,
      ...(this.poller
        ? { failedPollsQueue: this.poller.failedPollsQueue, poller: this.poller.function }
        : {}),
      redeliverer: this.redeliverer.function,
      missedPollPeriod: timing.missedPollPeriod,
      retryQueueAgeThreshold: timing.retryQueueAgeThreshold,
      dlqAgeThreshold: timing.dlqAgeThreshold,
      targetHeldThreshold: timing.targetHeldThreshold,
      watermarkLagThreshold: timing.watermarkLagThreshold,
      ...(props.config.alarmEmail ? { alarmEmail: props.config.alarmEmail } : {}),
    });
    const eventBus = props.config.eventBus;
    if (eventBus) {
      this.eventBridge = new EventBridgeSource(this, 'EventBridgeSource', {
        bus: eventBus,
        routes: settings.ROUTES,
        pipelineEnvironment,
        retryQueue: this.queues.queue,
        ledger: this.ledger.table,
        alarmTopic: this.alarms.topic,
      });
    }
    this.dashboard = new RecoveryDashboard(this, 'Dashboard', {
      retryQueue: this.queues.queue,
      deadLetterQueue: this.queues.deadLetterQueue,
      ...(this.poller ? { poller: this.poller.function } : {}),
      redeliverer: this.redeliverer.function,
      alarms: [...this.alarms.alarms, ...(this.eventBridge?.alarms ?? [])],
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
        consoleUrl(this, 'sqs/v3/home', Fn.join('', ['#/queues/', encodedDlqUrl])),
        'The DLQ in the SQS console: inspect messages, then "Start DLQ redrive"',
      ],
      ...(this.poller
        ? {
            FailedPollsQueueUrl: [
              this.poller.failedPollsQueue.queueUrl,
              'Failed poll invocations, for inspection',
            ],
          }
        : {}),
      LedgerTableName: [this.ledger.table.tableName, 'Name of the DynamoDB ledger table'],
      ...(this.genesysSecret
        ? {
            GenesysSecretArn: [
              this.genesysSecret.secret.secretArn,
              'The Genesys Cloud credentials secret',
            ] as [string, string],
          }
        : {}),
      ...(this.signingSecret
        ? {
            SigningSecretArn: [
              this.signingSecret.secret.secretArn,
              'The key(s) redeliveries are signed with; targets verify with "whsec_" + the key (docs/signing.md)',
            ] as [string, string],
          }
        : {}),
      ...(this.eventBridge
        ? {
            EventBusName: [
              this.eventBridge.eventBus.eventBusName,
              'The event bus Genesys Cloud events arrive on',
            ] as [string, string],
            EventBridgeFailuresQueueUrl: [
              this.eventBridge.failuresQueue.queueUrl,
              'Genesys events that could not reach the retry queue, with the error',
            ] as [string, string],
          }
        : {}),
      AlarmTopicArn: [this.alarms.topic.topicArn, 'SNS topic the alarms notify'],
      DashboardUrl: [
        consoleUrl(
          this,
          'cloudwatch/home',
          Fn.join('', ['#dashboards/dashboard/', this.dashboard.dashboard.dashboardName]),
        ),
        'The CloudWatch dashboard',
      ],
    };
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description });
    }
  }
}

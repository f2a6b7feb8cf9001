import { CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { NO_EXTRA_CREDENTIAL_HEADERS } from '../lambdas/shared/domain/headers';
import { consoleUrl } from './console-links';
// The construct through the package's public entry point only, as any app uses it (the import cycle is safe:
// the construct is used when the stack is built, long after both modules have loaded).
import { GenesysWebhookRecovery, type StackConfig } from './index';

/** Properties of {@link WebhookRecoveryStack}. */
export interface WebhookRecoveryStackProps extends StackProps {
  /** The validated configuration (see stackConfigFromContext). */
  readonly config: StackConfig;
}

/**
 * The stack `cdk deploy` from this repository creates: the {@link GenesysWebhookRecovery} construct, built from
 * the configuration validated from CDK context, plus the stack outputs the CLI and the docs rely on.
 */
export class WebhookRecoveryStack extends Stack {
  /** The pipeline. */
  public readonly recovery: GenesysWebhookRecovery;

  constructor(scope: Construct, id: string, props: WebhookRecoveryStackProps) {
    super(scope, id, props);
    // The id "Default" is left out of logical ids, so the resources keep the ids they had when this stack built
    // them itself: an existing deployment updates in place instead of replacing its queues, table and secrets.
    this.recovery = GenesysWebhookRecovery.fromConfig(this, 'Default', props.config);
    this.addOutputs();
  }

  private addOutputs(): void {
    const region = this.region;
    const r = this.recovery;
    const dlqUrl = r.deadLetterQueue.queueUrl;
    // The SQS console addresses a queue by its URL, percent-encoded.
    const encodedDlqUrl = Fn.join('', [
      'https%3A%2F%2Fsqs.',
      region,
      '.',
      this.urlSuffix,
      '%2F',
      this.account,
      '%2F',
      r.deadLetterQueue.queueName,
    ]);
    const outputs: Record<string, [string, string]> = {
      RetryQueueUrl: [r.retryQueue.queueUrl, 'URL of the SQS retry queue'],
      RetryQueueArn: [r.retryQueue.queueArn, 'ARN of the SQS retry queue'],
      DeadLetterQueueUrl: [dlqUrl, 'URL of the dead-letter queue'],
      DeadLetterQueueArn: [r.deadLetterQueue.queueArn, 'ARN of the dead-letter queue'],
      DeadLetterQueueConsoleUrl: [
        consoleUrl(this, 'sqs/v3/home', Fn.join('', ['#/queues/', encodedDlqUrl])),
        'The DLQ in the SQS console: inspect messages, then "Start DLQ redrive"',
      ],
      ...(r.failedPollsQueue
        ? {
            FailedPollsQueueUrl: [r.failedPollsQueue.queueUrl, 'Failed poll invocations, for inspection'],
          }
        : {}),
      LedgerTableName: [r.ledgerTable.tableName, 'Name of the DynamoDB ledger table'],
      ...(r.genesysSecret
        ? {
            GenesysSecretArn: [r.genesysSecret.secretArn, 'The Genesys Cloud credentials secret'] as [
              string,
              string,
            ],
          }
        : {}),
      ...(r.signingSecret
        ? {
            SigningSecretArn: [
              r.signingSecret.secretArn,
              "The key(s) each target's own signing key is derived from; signing-key prints one (docs/signing.md)",
            ] as [string, string],
          }
        : {}),
      ...(r.eventBus && r.intakeFailuresQueue
        ? {
            EventBusName: [r.eventBus.eventBusName, 'The event bus Genesys Cloud events arrive on'] as [
              string,
              string,
            ],
            EventBridgeFailuresQueueUrl: [
              r.intakeFailuresQueue.queueUrl,
              'Genesys events that could not reach the retry queue, with the error',
            ] as [string, string],
          }
        : {}),
      // For the CLI, which masks these names too; "(none)" cannot be a header name, so an empty list is told apart.
      ExtraCredentialHeaders: [
        r.config.settings.EXTRA_CREDENTIAL_HEADERS.join(',') || NO_EXTRA_CREDENTIAL_HEADERS,
        'Header names counted as credentials on top of the built-in list (EXTRA_CREDENTIAL_HEADERS)',
      ],
      AlarmTopicArn: [r.alarmTopic.topicArn, 'SNS topic the alarms notify'],
      OperatorPolicyArn: [
        r.operatorPolicy.managedPolicyArn,
        'Managed policy with what the CLI needs on this stack: attach it to its operators (docs/operations.md)',
      ],
      ...(r.dashboard
        ? {
            DashboardUrl: [
              consoleUrl(
                this,
                'cloudwatch/home',
                Fn.join('', ['#dashboards/dashboard/', r.dashboard.dashboardName]),
              ),
              'The CloudWatch dashboard',
            ] as [string, string],
          }
        : {}),
    };
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description });
    }
  }
}

import { Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
// In your app: from 'genesys-webhook-recovery' (test/scale/package-install.test.ts runs this file that way).
import { GenesysWebhookRecovery } from '../../lib/index';

/**
 * An application stack that existed before: its own EventBridge bus, on which the Genesys Cloud integration
 * publishes, and its own SQS queue for operational notices. It adds the recovery pipeline next to them: the
 * delivery-log poller for two webhooks, EventBridge routes on the bus it already has, and the pipeline's alarms
 * into the queue it already reads.
 */
export class OrdersStack extends Stack {
  public readonly bus: events.EventBus;
  public readonly notices: sqs.Queue;
  public readonly recovery: GenesysWebhookRecovery;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.bus = new events.EventBus(this, 'GenesysBus', { eventBusName: 'orders-genesys-events' });

    const noticesDlq = new sqs.Queue(this, 'NoticesDlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(noticesDlq).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This queue is itself the dead-letter queue of the notices queue and of its SNS subscription.',
    });
    this.notices = new sqs.Queue(this, 'Notices', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: noticesDlq, maxReceiveCount: 5 },
    });

    this.recovery = new GenesysWebhookRecovery(this, 'Recovery', {
      webhookIds: ['orders-webhook-1', 'orders-webhook-2'],
      genesysRegion: 'eu-west-1',
      maxRetries: 5,
      eventBus: this.bus,
      // The Genesys partner source whose events reach this bus: its rules take that source only, from this account.
      eventSource: 'aws.partner/genesys.com/cloud/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/orders',
      routes: [
        {
          name: 'conversation-end',
          topics: ['v2.detail.events.conversation.{id}.customer.end'],
          url: 'https://orders.example.com/genesys/conversation-end',
        },
        // Ordered per agent, only the latest presence counts: this route's rule invokes the intake function,
        // the other's puts its events on the retry queue directly.
        {
          name: 'agent-presence',
          topics: ['v2.users.{id}.presence'],
          url: 'https://orders.example.com/genesys/presence',
          order: 'per-entity',
          latestOnly: true,
        },
      ],
    });
    this.recovery.alarmTopic.addSubscription(
      new subscriptions.SqsSubscription(this.notices, { deadLetterQueue: noticesDlq }),
    );
  }
}

import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { queueNames } from '../physical-names';

/** Properties of {@link RetryQueues}. */
export interface RetryQueuesProps {
  /**
   * Receives per message before SQS moves it to the DLQ: MAX_RETRIES plus headroom for receives that end without
   * a decision (the ledger's verdict bounds the calls; see lambdas/shared/derived-settings.ts).
   */
  readonly maxReceiveCount: number;
  /** Visibility timeout of the retry queue; at least 6 × the consumer's timeout. */
  readonly visibilityTimeout: Duration;
  /**
   * How long the retry queue keeps a message; must be shorter than the DLQ's, because a standard queue keeps a
   * message's original enqueue time when it is dead-lettered.
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;
  /**
   * How long the DLQ keeps a message.
   * @default Duration.days(14) - the SQS maximum
   */
  readonly dlqRetentionPeriod?: Duration;
  /**
   * Prefix of the physical names (queue, alarm and secret names); unique per account and region.
   * @default - the stack name
   */
  readonly namePrefix?: string;
}

/** 1 MiB, the SQS maximum: Genesys payloads are forwarded whole, headers included. */
const MAX_MESSAGE_SIZE_BYTES = 1_048_576;

/**
 * The SQS retry queue and its dead-letter queue. Both are standard queues with SQS-managed encryption and an
 * HTTPS-only policy. Messages reach the DLQ only through the redrive policy (never a direct send), so SQS records
 * their source and the console's "Start DLQ redrive" can move them back.
 */
export class RetryQueues extends Construct {
  /** The queue the poller fills and the redeliverer consumes. */
  public readonly queue: sqs.Queue;
  /** Where SQS moves a message after `maxReceiveCount` receives. */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: RetryQueuesProps) {
    super(scope, id);
    const retention = props.retentionPeriod ?? Duration.days(4);
    const dlqRetention = props.dlqRetentionPeriod ?? Duration.days(14);
    if (
      !Number.isInteger(props.maxReceiveCount) ||
      props.maxReceiveCount < 1 ||
      props.maxReceiveCount > 1000
    ) {
      throw new Error(`maxReceiveCount must be a whole number from 1 to 1000 (got ${props.maxReceiveCount})`);
    }
    if (dlqRetention.toSeconds() <= retention.toSeconds()) {
      throw new Error(
        `The DLQ retention (${dlqRetention.toSeconds()} s) must be longer than the retry queue's (${retention.toSeconds()} s), or dead-lettered messages expire at once`,
      );
    }

    // The DLQ's redrive-allow policy names the retry queue, and the retry queue's redrive policy names the DLQ.
    // Referencing the queue resource would be a circular dependency, so the retry queue gets a name derived from
    // the name prefix and the DLQ refers to that ARN.
    const stack = Stack.of(this);
    const prefix = props.namePrefix ?? stack.stackName;
    const queueName = queueNames.retry(prefix);
    const queueArn = stack.formatArn({ service: 'sqs', resource: queueName });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: queueNames.deadLetter(prefix),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
      retentionPeriod: dlqRetention,
      redriveAllowPolicy: {
        redrivePermission: sqs.RedrivePermission.BY_QUEUE,
        sourceQueues: [sqs.Queue.fromQueueArn(this, 'RetryQueueByName', queueArn)],
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This queue is the dead-letter queue of the retry queue; a DLQ of a DLQ would hide failures.',
    });

    this.queue = new sqs.Queue(this, 'RetryQueue', {
      queueName,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
      retentionPeriod: retention,
      visibilityTimeout: props.visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}

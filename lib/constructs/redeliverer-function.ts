import { type Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as eventsources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SIGNING_SECRET_ENV } from '../../lambdas/shared/settings';
import { RecoveryFunction } from './recovery-function';
import { secretDecryptStatement } from './secret-decrypt';
import type { SigningSecret } from './signing-secret';

/** Properties of {@link RedelivererFunction}. */
export interface RedelivererFunctionProps {
  /** The pipeline settings as environment variables. */
  readonly pipelineEnvironment: Readonly<Record<string, string>>;
  /** The namespace of the redeliverer's custom metrics (metricsNamespace of the name prefix). */
  readonly metricsNamespace: string;
  /** DELIVERY_TIMEOUT_SECONDS + overhead; the retry queue's visibility timeout must be at least 6 times this. */
  readonly timeout: Duration;
  readonly retryQueue: sqs.IQueue;
  readonly ledger: dynamodb.ITable;
  /** Messages per invocation (BATCH_SIZE). */
  readonly batchSize: number;
  /** How long the event source may wait to fill a batch. */
  readonly maxBatchingWindow: Duration;
  /** Concurrent invocations at most (MAX_CONCURRENCY): protects the webhook targets from a burst of retries. */
  readonly maxConcurrency: number;
  /**
   * Reserve `maxConcurrency` for the function. Without a reservation, other functions can use up the account's
   * concurrency; Lambda then throttles the redeliverer, and each throttled batch goes back to the queue with its
   * receive count raised, spending retry budget without calling any target. Reserving needs an account
   * concurrency quota of at least 100 + this reservation + the poller's: a new account's quota of 10 has none,
   * so it is an opt-in.
   * @default false
   */
  readonly reserveConcurrency?: boolean;
  /**
   * The secret whose key(s) sign every redelivery (Standard Webhooks); the function alone may read it.
   * @default - redeliveries are not signed (SIGN_REDELIVERIES=false)
   */
  readonly signingSecret?: SigningSecret;
  /**
   * The Genesys partner event source whose events the EventBridge rules put on the retry queue: the redeliverer
   * takes in only those, and only of this account (GENESYS_EVENT_SOURCE).
   * @default - no EventBridge source
   */
  readonly eventSource?: string;
}

/** Powertools service name of the redeliverer; the `service` dimension of its metrics. */
export const REDELIVERER_SERVICE_NAME = 'genesys-webhook-redeliverer';

/**
 * The redeliverer: consumes the retry queue through an SQS event source with partial batch responses and
 * re-POSTs each message to its original URL, signed with the signing secret. It needs no Genesys credentials and is
 * given none.
 */
export class RedelivererFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly eventSource: eventsources.SqsEventSource;

  constructor(scope: Construct, id: string, props: RedelivererFunctionProps) {
    super(scope, id);
    const recovery = new RecoveryFunction(this, 'Redeliverer', {
      handler: 'redeliverer',
      serviceName: REDELIVERER_SERVICE_NAME,
      description: 'Redelivers failed Genesys Cloud webhook deliveries from the retry queue to their targets',
      timeout: props.timeout,
      memorySize: 256,
      metricsNamespace: props.metricsNamespace,
      // Equal to the event source's maximum concurrency: the mapping never runs more, and AWS advises against a
      // maximum concurrency above the reserved one, which would throttle.
      ...(props.reserveConcurrency === true ? { reservedConcurrentExecutions: props.maxConcurrency } : {}),
      environment: {
        ...props.pipelineEnvironment,
        RETRY_QUEUE_URL: props.retryQueue.queueUrl,
        LEDGER_TABLE_NAME: props.ledger.tableName,
        // The secret's id, never its value: the key is read at run time, so it is in no template or console.
        SIGN_REDELIVERIES: String(props.signingSecret !== undefined),
        ...(props.signingSecret ? { [SIGNING_SECRET_ENV]: props.signingSecret.secretId } : {}),
        ...(props.eventSource ? { GENESYS_EVENT_SOURCE: props.eventSource } : {}),
      },
    });
    this.function = recovery.function;

    // The event source grants sqs:ReceiveMessage, DeleteMessage, GetQueueAttributes, GetQueueUrl and
    // ChangeMessageVisibility on the retry queue only: the last one is what the handler uses to set the backoff.
    this.eventSource = new eventsources.SqsEventSource(props.retryQueue, {
      batchSize: props.batchSize,
      maxBatchingWindow: props.maxBatchingWindow,
      maxConcurrency: props.maxConcurrency,
      reportBatchItemFailures: true,
    });
    this.function.addEventSource(this.eventSource);
    // A held event (429, stall, outage) goes back as a fresh delayed copy with SendMessage; without this grant
    // AWS refuses it, the copy is hidden instead, and the receive count walks it into the DLQ untried.
    recovery.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.retryQueue.queueArn] }),
    );
    // Events' attempts and the target gate's shared holds (one item per held host or path, GetItem and a
    // conditional PutItem): the same table, the same three calls.
    recovery.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [props.ledger.tableArn],
      }),
    );
    if (props.signingSecret) {
      recovery.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [props.signingSecret.grantableArn],
        }),
      );
      const keyArn = props.signingSecret.encryptionKeyArn;
      if (keyArn) recovery.role.addToPrincipalPolicy(secretDecryptStatement(this, keyArn));
    }

    Validations.of(this.function).acknowledge(
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          "Invoked synchronously by its SQS event source only; failed messages go to the retry queue's own DLQ through its redrive policy.",
      },
      {
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          "On-failure destinations do not apply to SQS event sources; the retry queue's redrive policy moves a message to the DLQ after MAX_RETRIES + 5 receives, keeping its source so the console can redrive it.",
      },
    );
  }
}

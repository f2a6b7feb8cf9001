import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { GENESYS_SECRET_ENV } from '../../lambdas/shared/settings';
import { LAMBDA_ASYNC_RETRY_DELAY_SECONDS } from '../pipeline-timing';
import { RecoveryFunction } from './recovery-function';
import { secretDecryptStatement } from './secret-decrypt';

/** Properties of {@link PollerFunction}. */
export interface PollerFunctionProps {
  /** The pipeline settings as environment variables. */
  readonly pipelineEnvironment: Readonly<Record<string, string>>;
  /** The namespace of the poller's custom metrics (metricsNamespace of the name prefix). */
  readonly metricsNamespace: string;
  /** How often to poll; whole minutes, at least one. */
  readonly pollInterval: Duration;
  /** Must end before the next poll is due. */
  readonly timeout: Duration;
  /**
   * How long Lambda keeps a poll in its asynchronous queue, its retry included (MaximumEventAgeInSeconds, at most
   * 6 hours). Must exceed the timeout plus Lambda's one-minute retry delay, or the retry never runs.
   */
  readonly asyncEventAge: Duration;
  /** How long EventBridge Scheduler keeps trying to start a poll (at most 24 hours). */
  readonly scheduleEventAge: Duration;
  readonly retryQueue: sqs.IQueue;
  readonly ledger: dynamodb.ITable;
  readonly secret: secretsmanager.ISecret;
  /**
   * The customer-managed KMS key the secret is encrypted with: the poller gets kms:Decrypt on it.
   * @default - aws/secretsmanager, which needs no grant
   */
  readonly secretKeyArn?: string;
  /** The value of GENESYS_CREDENTIALS_SECRET_ID: the secret's ARN (or name). */
  readonly secretId: string;
  /**
   * Reserve a concurrency of 1. Without it, polls still run one at a time: each takes the poll lease in the ledger
   * first, and one that finds it taken skips (PollsSkipped). Accounts whose concurrency quota is still 10 cannot
   * reserve any, and a reservation would fail the deploy there.
   * @default false
   */
  readonly reserveConcurrency?: boolean;
}

/** Powertools service name of the poller; the `service` dimension of its metrics. */
export const POLLER_SERVICE_NAME = 'genesys-webhook-poller';

/**
 * The poller: a function run by an EventBridge Scheduler schedule at a fixed rate, one poll at a time. A poll
 * that Scheduler cannot deliver, or that fails after Lambda's retry, lands in the failed-polls queue for
 * inspection; the watermark does not move past a failed poll, so the next poll covers its window again.
 */
export class PollerFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly schedule: scheduler.Schedule;
  /** Captures failed poll invocations (Scheduler DLQ and Lambda on-failure destination). */
  public readonly failedPollsQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: PollerFunctionProps) {
    super(scope, id);
    const recovery = new RecoveryFunction(this, 'Poller', {
      handler: 'poller',
      serviceName: POLLER_SERVICE_NAME,
      description:
        'Reads failed deliveries from the Genesys Cloud webhook delivery log and enqueues them for retry',
      timeout: props.timeout,
      // The Genesys SDK alone takes ~40 MB; more memory also means more CPU for its ~95 ms initialisation.
      memorySize: 512,
      metricsNamespace: props.metricsNamespace,
      environment: {
        ...props.pipelineEnvironment,
        RETRY_QUEUE_URL: props.retryQueue.queueUrl,
        LEDGER_TABLE_NAME: props.ledger.tableName,
        [GENESYS_SECRET_ENV]: props.secretId,
      },
      ...(props.reserveConcurrency === true ? { reservedConcurrentExecutions: 1 } : {}),
    });
    this.function = recovery.function;

    // Least privilege, statement by statement: SendMessageBatch is authorised by sqs:SendMessage.
    recovery.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.retryQueue.queueArn] }),
    );
    recovery.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [props.ledger.tableArn],
      }),
    );
    recovery.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretArnPattern(props)],
      }),
    );
    if (props.secretKeyArn)
      recovery.role.addToPrincipalPolicy(secretDecryptStatement(this, props.secretKeyArn));

    this.failedPollsQueue = new sqs.Queue(this, 'FailedPollsQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.failedPollsQueue).acknowledge(
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself a dead-letter queue: of the poller schedule and of its async invocations.',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason:
          'This queue is itself a dead-letter queue: of the poller schedule and of its async invocations.',
      },
    );

    // Scheduler invokes asynchronously: a failed poll is retried once by Lambda, then captured. Lambda waits about
    // a minute before that retry and drops an event older than maxEventAge, so the age must cover the first run,
    // the wait and a margin; a shorter one would send every failed poll straight to the failed-polls queue.
    const retryAttempts = 1;
    const minimumAge = props.timeout.toSeconds() + LAMBDA_ASYNC_RETRY_DELAY_SECONDS;
    if (retryAttempts > 0 && props.asyncEventAge.toSeconds() <= minimumAge) {
      throw new Error(
        `The poller's asyncEventAge (${props.asyncEventAge.toSeconds()} s) must exceed its timeout + ${LAMBDA_ASYNC_RETRY_DELAY_SECONDS} s (${minimumAge} s), or Lambda never retries a failed poll`,
      );
    }
    this.function.configureAsyncInvoke({
      retryAttempts,
      maxEventAge: props.asyncEventAge,
      onFailure: new destinations.SqsDestination(this.failedPollsQueue),
    });

    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Lets EventBridge Scheduler invoke the poller and record failed invocations',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Polls the Genesys Cloud webhook delivery log for failed deliveries',
      schedule: scheduler.ScheduleExpression.rate(props.pollInterval),
      // Exact timing: the missed-polls alarm and the poll overlap assume one poll per interval.
      timeWindow: scheduler.TimeWindow.off(),
      target: new targets.LambdaInvoke(this.function, {
        role: schedulerRole,
        retryAttempts: 3,
        maxEventAge: props.scheduleEventAge,
        deadLetterQueue: this.failedPollsQueue,
      }),
    });
    const functionLogicalId = Stack.of(this).getLogicalId(
      this.function.node.defaultChild as lambda.CfnFunction,
    );
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionLogicalId}.Arn>:*]`,
      reason:
        'lambda:InvokeFunction on the poller and its qualified ARNs (versions, aliases): the grant the Scheduler Lambda target makes. It names this one function.',
    });
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Failed asynchronous invocations go to an on-failure destination (the failed-polls queue), which keeps the error and the request; a DeadLetterConfig would keep less.',
    });
  }
}

/** The poller may read only the one secret; for a name or partial ARN, IAM needs the random suffix wildcard. */
function secretArnPattern(props: PollerFunctionProps): string {
  return props.secret.secretFullArn ?? `${props.secret.secretArn}-??????`;
}

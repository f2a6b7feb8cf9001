import { Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { operatorPolicyName } from '../physical-names';
import { secretDecryptStatement } from './secret-decrypt';

/** Properties of {@link OperatorPolicy}. */
export interface OperatorPolicyProps {
  readonly retryQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly ledger: dynamodb.ITable;
  /**
   * The Genesys credentials secret `replay` reads, as the ARN to grant on (the random-suffix wildcard for a name).
   * @default - none: a stack with the EventBridge source alone has no such secret
   */
  readonly genesysSecretArn?: string;
  /** @default - the secret uses aws/secretsmanager */
  readonly genesysSecretKeyArn?: string;
  /** Prefix of the physical names; the policy is `<prefix>-operator-<region>`. */
  readonly namePrefix: string;
}

/**
 * What the CLI (cli/) calls, command by command, as IAM actions on this stack's resources. test/infra/
 * operator-policy.test.ts derives the calls from the CLI's code and fails when one is missing here, or granted
 * here without a call.
 *
 * - every command: CloudFormation DescribeStacks (the outputs), SQS GetQueueAttributes (the queue ARNs, the
 *   depths of `status`) and GetQueueUrl (`dlq redrive --to` a queue by name);
 * - `status`: the ledger's Scan;
 * - `dlq list/show/export`: ReceiveMessage and ChangeMessageVisibility on the DLQ (a read hides a message for a
 *   moment and gives it back), the ledger's BatchGetItem and Scan;
 * - `dlq redrive`: StartMessageMoveTask and ListMessageMoveTasks on the DLQ; the move task needs ReceiveMessage,
 *   DeleteMessage and GetQueueAttributes on the DLQ and SendMessage on the retry queue, as does the direct move
 *   the CLI falls back to where the task API is missing;
 * - `replay`: SendMessage on the retry queue, GetItem/PutItem/UpdateItem on the ledger (the claim), and
 *   GetSecretValue on the Genesys credentials secret (with kms:Decrypt on its customer-managed key, if any).
 *
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html
 */
export const OPERATOR_ACTIONS = {
  stack: ['cloudformation:DescribeStacks'],
  bothQueues: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
  deadLetterQueue: [
    'sqs:ChangeMessageVisibility',
    'sqs:DeleteMessage',
    'sqs:ListMessageMoveTasks',
    'sqs:ReceiveMessage',
    'sqs:StartMessageMoveTask',
  ],
  retryQueue: ['sqs:SendMessage'],
  ledger: [
    'dynamodb:BatchGetItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Scan',
    'dynamodb:UpdateItem',
  ],
  genesysSecret: ['secretsmanager:GetSecretValue'],
} as const;

/**
 * A customer-managed policy with exactly what the operator CLI needs on this pipeline (`status`,
 * `dlq list/show/export/redrive`, `replay`), and nothing on any other stack's resources. Attach it to the users,
 * groups or roles that operate the pipeline (docs/operations.md). Named `<prefix>-operator-<region>`, so an
 * IAM Identity Center permission set can reference it by name.
 */
export class OperatorPolicy extends Construct {
  public readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: OperatorPolicyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const statements = [
      new iam.PolicyStatement({ actions: [...OPERATOR_ACTIONS.stack], resources: [stack.stackId] }),
      new iam.PolicyStatement({
        actions: [...OPERATOR_ACTIONS.bothQueues],
        resources: [props.retryQueue.queueArn, props.deadLetterQueue.queueArn],
      }),
      new iam.PolicyStatement({
        actions: [...OPERATOR_ACTIONS.deadLetterQueue],
        resources: [props.deadLetterQueue.queueArn],
      }),
      new iam.PolicyStatement({
        actions: [...OPERATOR_ACTIONS.retryQueue],
        resources: [props.retryQueue.queueArn],
      }),
      new iam.PolicyStatement({ actions: [...OPERATOR_ACTIONS.ledger], resources: [props.ledger.tableArn] }),
      ...(props.genesysSecretArn
        ? [
            new iam.PolicyStatement({
              actions: [...OPERATOR_ACTIONS.genesysSecret],
              resources: [props.genesysSecretArn],
            }),
          ]
        : []),
      ...(props.genesysSecretKeyArn ? [secretDecryptStatement(this, props.genesysSecretKeyArn)] : []),
    ];
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      managedPolicyName: operatorPolicyName(props.namePrefix, stack.region),
      description: `Operate the Genesys webhook recovery pipeline ${props.namePrefix} with its CLI: status, dlq list/show/export/redrive, replay`,
      statements,
    });
  }
}

import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthStack } from './synth-stack';
import { actions, arnOf, byType, logicalId, type Statement, statementsOf } from './template-queries';

describe('IAM: least privilege', () => {
  let template: Template;
  let retryQueue: string;
  let dlq: string;
  let table: string;
  beforeAll(() => {
    template = synthStack().template;
    retryQueue = logicalId(template, 'AWS::SQS::Queue', 'QueuesRetryQueue');
    dlq = logicalId(template, 'AWS::SQS::Queue', 'QueuesDeadLetterQueue');
    table = logicalId(template, 'AWS::DynamoDB::Table', 'Ledger');
  });

  it('grants the poller only what it needs, on the resources it needs', () => {
    const statements = statementsOf(template, 'PollerRole');
    expect(actions(statements)).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
      'sqs:SendMessage',
    ]);
    const failed = logicalId(template, 'AWS::SQS::Queue', 'PollerFailedPollsQueue');
    for (const s of statements) {
      const action = [s.Action].flat();
      if (action.includes('sqs:GetQueueUrl')) expect(s.Resource).toEqual(arnOf(failed));
      else if (action.some((a) => a.startsWith('sqs:'))) expect(s.Resource).toEqual(arnOf(retryQueue));
      if (action.some((a) => a.startsWith('dynamodb:'))) expect(s.Resource).toEqual(arnOf(table));
      if (action.some((a) => a.startsWith('secretsmanager:'))) {
        expect(s.Resource).toEqual({
          Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'GenesysCredentials'),
        });
      }
      expect(JSON.stringify(s.Resource)).not.toBe('"*"');
    }
  });

  it("grants the redeliverer queue consumption, re-sending held events to the retry queue, ledger reads and writes (events and the target gate's shared holds) and the signing key, nothing on the Genesys secret or the DLQ", () => {
    const statements = statementsOf(template, 'RedelivererRole');
    expect(actions(statements)).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
    ]);
    for (const s of statements) {
      const action = [s.Action].flat();
      if (action.some((a) => a.startsWith('sqs:'))) expect(s.Resource).toEqual(arnOf(retryQueue));
      if (action.some((a) => a.startsWith('dynamodb:'))) expect(s.Resource).toEqual(arnOf(table));
      if (action.some((a) => a.startsWith('secretsmanager:'))) {
        expect(s.Resource).toEqual({
          Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'SigningSecret'),
        });
      }
    }
  });

  it('lets nobody send to the DLQ', () => {
    for (const [, policy] of byType(template, 'AWS::IAM::Policy')) {
      for (const s of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
        if ([s.Action].flat().includes('sqs:SendMessage')) expect(s.Resource).not.toEqual(arnOf(dlq));
      }
    }
  });

  it('lets Scheduler invoke only the poller and write only to the failed-polls queue', () => {
    const poller = logicalId(template, 'AWS::Lambda::Function', 'PollerFunction');
    const failed = logicalId(template, 'AWS::SQS::Queue', 'PollerFailedPollsQueue');
    const statements = statementsOf(template, 'PollerSchedulerRole');
    expect(statements).toEqual([
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Resource: [arnOf(poller), { 'Fn::Join': ['', [arnOf(poller), ':*']] }],
      }),
      expect.objectContaining({ Action: 'sqs:SendMessage', Resource: arnOf(failed) }),
    ]);
  });
});

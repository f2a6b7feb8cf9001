import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthStack } from './synth-stack';

/**
 * The operator policy (issue 19) holds exactly what the CLI calls: the calls are read from the CLI's code (every
 * `new …Command(` in the files cli/main.ts reaches through relative imports, the adapters it shares with the
 * handlers included), so a new call the policy lacks, or a grant no call needs, fails here.
 */
const ROOT = resolve(__dirname, '../..');

/** The SDK commands and the IAM action each needs; a command missing here fails the test until it is mapped. */
const ACTION_OF: Record<string, string> = {
  DescribeStacks: 'cloudformation:DescribeStacks',
  GetQueueUrl: 'sqs:GetQueueUrl',
  GetQueueAttributes: 'sqs:GetQueueAttributes',
  ReceiveMessage: 'sqs:ReceiveMessage',
  ChangeMessageVisibility: 'sqs:ChangeMessageVisibility',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  SendMessage: 'sqs:SendMessage',
  SendMessageBatch: 'sqs:SendMessage',
  StartMessageMoveTask: 'sqs:StartMessageMoveTask',
  ListMessageMoveTasks: 'sqs:ListMessageMoveTasks',
  BatchGet: 'dynamodb:BatchGetItem',
  Scan: 'dynamodb:Scan',
  Get: 'dynamodb:GetItem',
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  GetSecretValue: 'secretsmanager:GetSecretValue',
};
/** Calls the CLI makes only in local mode, against the emulators, never against AWS. */
const LOCAL_ONLY: Record<string, string> = {
  DescribeTable: 'resolve-resources.ts proves the emulated table exists before a local command starts',
};

/** Files reachable from `entry` through relative imports, with their text. */
function reachable(entry: string): Map<string, string> {
  const files = new Map<string, string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    const text = readFileSync(file, 'utf8');
    files.set(file, text);
    for (const [, spec] of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const base = join(dirname(file), spec as string);
      const candidates = [base, `${base}.ts`, join(base, 'index.ts')];
      const found = candidates.find((c) => {
        try {
          return readFileSync(c) && c.endsWith('.ts');
        } catch {
          return false;
        }
      });
      if (found) visit(found);
    }
  };
  visit(entry);
  return files;
}

function cliCommands(): Map<string, string[]> {
  const commands = new Map<string, string[]>();
  for (const [file, text] of reachable(join(ROOT, 'cli/main.ts'))) {
    for (const [, name] of text.matchAll(/new (\w+)Command\(/g)) {
      commands.set(name as string, [...(commands.get(name as string) ?? []), file.slice(ROOT.length + 1)]);
    }
  }
  return commands;
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

function operatorPolicy(context: Record<string, string> = {}) {
  const { template } = synthStack(context);
  const policies = template.findResources('AWS::IAM::ManagedPolicy');
  expect(Object.keys(policies)).toHaveLength(1);
  const [id = '', policy = { Properties: {} }] = (Object.entries(policies)[0] ?? []) as [
    string,
    { Properties: Record<string, unknown> },
  ];
  const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
  const actions = new Set(statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));
  return { template, id, policy, statements, actions };
}

describe('operator policy', () => {
  it('is created, attached to nobody, and output as OperatorPolicyArn', () => {
    const { template, id, policy } = operatorPolicy();
    expect(policy.Properties.Roles ?? policy.Properties.Users ?? policy.Properties.Groups).toBeUndefined();
    expect(template.findOutputs('OperatorPolicyArn').OperatorPolicyArn?.Value).toEqual({ Ref: id });
    expect(policy.Properties.ManagedPolicyName).toEqual({
      'Fn::Join': ['', ['GenesysWebhookRecovery-operator-', { Ref: 'AWS::Region' }]],
    });
  });

  it('grants exactly the actions of the calls in the CLI code', () => {
    const commands = cliCommands();
    // The derivation sees the CLI: every command it runs is there.
    expect([...commands.keys()]).toEqual(
      expect.arrayContaining([
        'DescribeStacks',
        'ReceiveMessage',
        'StartMessageMoveTask',
        'Scan',
        'GetSecretValue',
      ]),
    );
    const unmapped = [...commands.keys()].filter((c) => !(c in ACTION_OF) && !(c in LOCAL_ONLY));
    expect(unmapped, 'a new SDK call in the CLI: map it in ACTION_OF and grant it in OperatorPolicy').toEqual(
      [],
    );
    const needed = new Set([...commands.keys()].filter((c) => c in ACTION_OF).map((c) => ACTION_OF[c]));
    const { actions } = operatorPolicy();
    expect([...actions].sort()).toEqual([...needed].sort());
    // Local-only calls are really in the CLI (else the exception is stale).
    for (const c of Object.keys(LOCAL_ONLY)) expect(commands.has(c), c).toBe(true);
  });

  it("scopes every statement to this stack's own resources", () => {
    const { template, statements } = operatorPolicy();
    const resources = template.toJSON().Resources as Record<string, { Type: string }>;
    const refs = (value: unknown): string[] =>
      JSON.stringify(value).match(/"(?:Ref|Fn::GetAtt)":\s*(?:"|\[")([A-Za-z0-9]+)/g) ?? [];
    for (const s of statements) {
      expect(s.Effect).toBe('Allow');
      const list = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
      for (const r of list) {
        expect(JSON.stringify(r), 'no wildcard resource').not.toBe('"*"');
        const ids = refs(r).map((m) => /([A-Za-z0-9]+)$/.exec(m)?.[1] ?? '');
        const types = ids.map((i) => (i === 'AWS' ? 'pseudo' : (resources[i]?.Type ?? `pseudo:${i}`)));
        expect(types.length, JSON.stringify(r)).toBeGreaterThan(0);
        // Each resource is one of this template's queues, table or secret, or the stack itself (AWS::StackId).
        expect(
          types.every((t) =>
            ['AWS::SQS::Queue', 'AWS::DynamoDB::Table', 'AWS::SecretsManager::Secret', 'pseudo'].includes(t),
          ),
          `${JSON.stringify(r)}: ${types}`,
        ).toBe(true);
      }
    }
    const byAction = (action: string) =>
      statements.filter((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes(action));
    const dlq = Object.keys(resources).find(
      (k) => k.includes('DeadLetterQueue') && resources[k]?.Type === 'AWS::SQS::Queue',
    );
    const retry = Object.keys(resources).find(
      (k) => k.includes('RetryQueue') && resources[k]?.Type === 'AWS::SQS::Queue',
    );
    // Dead letters are read and moved from the DLQ only; messages are sent to the retry queue only.
    expect(byAction('sqs:ReceiveMessage').map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [dlq, 'Arn'] }]);
    expect(byAction('sqs:SendMessage').map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [retry, 'Arn'] }]);
    expect(byAction('cloudformation:DescribeStacks').map((s) => s.Resource)).toEqual([
      { Ref: 'AWS::StackId' },
    ]);
  });

  it('reads the Genesys secret and decrypts with its customer-managed key, only when there is one', () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const withKey = operatorPolicy({
      secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:genesys-AbC123',
      secretKmsKeyArn: key,
    });
    expect(withKey.statements).toContainEqual(
      expect.objectContaining({ Action: 'kms:Decrypt', Resource: key, Condition: expect.anything() }),
    );
    expect(operatorPolicy().actions.has('kms:Decrypt')).toBe(false);
    const routes = JSON.stringify([{ name: 'a', topics: ['v2.x.{id}'], url: 'https://hooks.example.com/a' }]);
    const eventBridgeOnly = operatorPolicy({
      WEBHOOK_ID: '',
      GENESYS_CLOUD_REGION: '',
      ROUTES: routes,
      eventSource: 'aws.partner/genesys.com/cloud/o/s',
    });
    expect(eventBridgeOnly.actions.has('secretsmanager:GetSecretValue')).toBe(false);
  });
});

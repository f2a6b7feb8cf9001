import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Caller, PolicyDocument } from './iam-proxy';
import type { PhysicalResource } from './intrinsics';
import type { SecretsStandIn } from './secrets-stand-in';
import { type CfnResource, type CfnTemplate, DEPLOYED_ACCOUNT } from './synth-deployed';

/** fauxqs's own account, in the ARNs it makes (and so in a RedrivePolicy it can follow). */
export const FAUXQS_ACCOUNT = '000000000000';

/** Every role of the template as a caller: its AWS::IAM::Policy documents and inline policies, resolved. */
export function rolesOf(
  template: CfnTemplate,
  resources: Readonly<Record<string, PhysicalResource>>,
  resolve: (v: unknown) => unknown,
): Caller[] {
  const roles = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
  return roles.map(([id, role], i) => {
    if (role.Properties?.ManagedPolicyArns !== undefined) {
      throw new Error(`${id} has managed policies, which the layer does not read`);
    }
    const inline = ((role.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []).map(
      (p) => p.PolicyDocument,
    );
    const attached = Object.values(template.Resources)
      .filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' &&
          ((r.Properties?.Roles as unknown[] | undefined) ?? []).some(
            (ref) => (ref as { Ref?: string }).Ref === id,
          ),
      )
      .map((r) => r.Properties?.PolicyDocument);
    return {
      name: id,
      accessKeyId: `ASIADEPLOYED${String(i).padStart(8, '0')}`,
      roleArn: resources[id]?.attributes.Arn ?? id,
      policies: [...inline, ...attached].map((d) => resolve(d) as PolicyDocument),
    };
  });
}

/** Each queue's AWS::SQS::QueuePolicy, by queue ARN. */
export function queuePolicies(
  template: CfnTemplate,
  resolve: (v: unknown) => unknown,
): Record<string, PolicyDocument> {
  const out: Record<string, PolicyDocument> = {};
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::SQS::QueuePolicy') continue;
    const document = resolve(r.Properties?.PolicyDocument) as PolicyDocument;
    for (const queue of (r.Properties?.Queues as unknown[]) ?? []) {
      const id = (queue as { Ref?: string }).Ref ?? '';
      const arn = resolve({ 'Fn::GetAtt': [id, 'Arn'] }) as string;
      out[arn] = document;
    }
  }
  return out;
}

/** Creates the queues (dead-letter queues first), tables and secrets with the template's properties. */
export async function createResources(
  template: CfnTemplate,
  resources: Readonly<Record<string, PhysicalResource>>,
  resolve: (v: unknown) => unknown,
  clients: { sqs: SQSClient; doc: DynamoDBDocumentClient; secrets: SecretsStandIn },
): Promise<void> {
  const all = Object.entries(template.Resources);
  const queues = all
    .filter(([, r]) => r.Type === 'AWS::SQS::Queue')
    .sort(
      ([, a], [, b]) =>
        Number(a.Properties?.RedrivePolicy !== undefined) - Number(b.Properties?.RedrivePolicy !== undefined),
    );
  for (const [id, queue] of queues) {
    const p = resolve(queue.Properties ?? {}) as Record<string, unknown>;
    const attributes: Record<string, string> = {};
    for (const key of [
      'VisibilityTimeout',
      'MessageRetentionPeriod',
      'MaximumMessageSize',
      'DelaySeconds',
      'ReceiveMessageWaitTimeSeconds',
    ]) {
      if (p[key] !== undefined) attributes[key] = String(p[key]);
    }
    if (p.RedrivePolicy !== undefined) {
      const redrive = p.RedrivePolicy as { deadLetterTargetArn: string; maxReceiveCount: number };
      attributes.RedrivePolicy = JSON.stringify({
        ...redrive,
        deadLetterTargetArn: redrive.deadLetterTargetArn.replace(
          `:${DEPLOYED_ACCOUNT}:`,
          `:${FAUXQS_ACCOUNT}:`,
        ),
      });
    }
    await clients.sqs.send(
      new CreateQueueCommand({ QueueName: resources[id]?.attributes.QueueName, Attributes: attributes }),
    );
  }
  for (const [id, table] of all.filter(([, r]) => r.Type === 'AWS::DynamoDB::Table')) {
    const p = table.Properties ?? {};
    await clients.doc.send(
      new CreateTableCommand({
        TableName: resources[id]?.ref,
        KeySchema: p.KeySchema as never,
        AttributeDefinitions: p.AttributeDefinitions as never,
        BillingMode: (p.BillingMode as 'PAY_PER_REQUEST' | undefined) ?? 'PROVISIONED',
        ...(p.BillingMode === 'PAY_PER_REQUEST'
          ? {}
          : { ProvisionedThroughput: p.ProvisionedThroughput as never }),
      }),
    );
  }
  for (const [id, secret] of all.filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret')) {
    const name = String(secret.Properties?.Name ?? id);
    clients.secrets.create(resources[id]?.ref ?? id, name, secret.Properties ?? {});
  }
}

export function logicalIdOf(template: CfnTemplate, type: string, prefix: string): string {
  const ids = Object.entries(template.Resources)
    .filter(([id, r]: [string, CfnResource]) => r.Type === type && id.startsWith(prefix))
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0] as string;
}

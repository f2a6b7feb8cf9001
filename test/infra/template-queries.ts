import type { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';

/** Small queries over a synthesised template, shared by the infra tests. */

export type Resource = { Properties: Record<string, unknown> };
export type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

export const byType = (template: Template, type: string) =>
  Object.entries(template.findResources(type) as Record<string, Resource>);

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = byType(template, type)
    .map(([id]) => id)
    .filter((id) => id.startsWith(prefix));
  expect(ids, `${type} ${prefix}`).toHaveLength(1);
  return ids[0] ?? '';
}

/** Every statement of the inline policies attached to the role whose logical id starts with `rolePrefix`. */
export function statementsOf(template: Template, rolePrefix: string): Statement[] {
  const role = logicalId(template, 'AWS::IAM::Role', rolePrefix);
  return byType(template, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(`"${role}"`))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

export const actions = (statements: Statement[]) => statements.flatMap((s) => [s.Action].flat()).sort();
export const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * kms:Decrypt on one customer-managed key, and only through Secrets Manager in the stack's region: what
 * GetSecretValue needs of a secret encrypted with that key, for the roles that read it. The key's own policy
 * must allow it too (for a key in another account, that account grants it).
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
 */
export function secretDecryptStatement(scope: IConstruct, keyArn: string): iam.PolicyStatement {
  const stack = Stack.of(scope);
  return new iam.PolicyStatement({
    actions: ['kms:Decrypt'],
    resources: [keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.${stack.urlSuffix}` } },
  });
}

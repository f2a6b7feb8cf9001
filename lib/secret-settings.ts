import type { STACK_KEYS, StackConfig } from './stack-config';

/**
 * The secrets' stack-only settings, checked as part of stackConfigFromContext (lib/stack-config.ts declares the
 * keys): the signing secret, the customer-managed KMS keys, and a secret in another account.
 */
type StackValues = Partial<Record<(typeof STACK_KEYS)[number], string>>;

export const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
export const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
/** A KMS key ARN: IAM grants kms:Decrypt on keys, never on aliases. */
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,128}$/;

/** The signing keys: signRedeliveries is a boolean; one secret at most, checked as the Genesys one is. */
export function signingProblems(stack: Partial<Record<(typeof STACK_KEYS)[number], string>>): string[] {
  const problems: string[] = [];
  const sign = (stack.signRedeliveries ?? 'true').toLowerCase();
  if (sign !== 'true' && sign !== 'false') {
    problems.push(
      `  - signRedeliveries must be true or false (got ${JSON.stringify(stack.signRedeliveries)})`,
    );
  }
  if (stack.signingSecretName && stack.signingSecretArn) {
    problems.push('  - signingSecretName and signingSecretArn: give one of them, not both');
  }
  if (sign === 'false' && (stack.signingSecretName || stack.signingSecretArn)) {
    problems.push(
      '  - signingSecretName/signingSecretArn name a signing secret, but signRedeliveries=false turns signing off: drop one',
    );
  }
  if (stack.signingSecretName && !SECRET_NAME.test(stack.signingSecretName)) {
    problems.push(
      `  - signingSecretName must be a Secrets Manager secret name (letters, digits, / _ + = . @ -) (got ${JSON.stringify(stack.signingSecretName)})`,
    );
  }
  if (stack.signingSecretArn && !SECRET_ARN.test(stack.signingSecretArn)) {
    problems.push(
      `  - signingSecretArn must be a Secrets Manager secret ARN, arn:aws:secretsmanager:<region>:<account>:secret:<name> (got ${JSON.stringify(stack.signingSecretArn)})`,
    );
  }
  return problems;
}

/** The customer-managed KMS keys: key ARNs (not aliases), and the signing key only while signing is on. */
export function kmsKeyProblems(stack: StackValues): string[] {
  const problems: string[] = [];
  for (const key of ['secretKmsKeyArn', 'signingSecretKmsKeyArn'] as const) {
    const value = stack[key];
    if (value && !KMS_KEY_ARN.test(value)) {
      problems.push(
        `  - ${key} must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (an alias cannot be granted kms:Decrypt) (got ${JSON.stringify(value)})`,
      );
    }
  }
  if (stack.signingSecretKmsKeyArn && (stack.signRedeliveries ?? 'true').toLowerCase() === 'false') {
    problems.push(
      "  - signingSecretKmsKeyArn names the signing secret's key, but signRedeliveries=false turns signing off: drop one",
    );
  }
  return problems;
}

/** The account of an ARN (its fifth field). */
export function arnAccount(arn: string): string | undefined {
  return arn.split(':')[4] || undefined;
}

/**
 * A secret shared from another account can be read only when it is encrypted with a customer-managed key that
 * account shares too (the AWS-managed aws/secretsmanager key cannot be used across accounts), so an ARN in
 * another account without its key is refused, one line each. `account` is the stack's account, when known.
 */
export function crossAccountProblems(config: StackConfig, account: string): string[] {
  const problems: string[] = [];
  const check = (key: string, arn: string, kmsKey: string | undefined, keyName: string) => {
    const owner = arnAccount(arn);
    if (owner !== undefined && owner !== account && kmsKey === undefined) {
      problems.push(
        `  - ${key} is in account ${owner}, not this stack's (${account}): a secret shared across accounts must be encrypted with a customer-managed KMS key; give that key's ARN as ${keyName} (docs/deploy.md, "Secrets in another account")`,
      );
    }
  };
  if (config.secret.kind === 'arn')
    check('secretArn', config.secret.secretArn, config.secretKmsKeyArn, 'secretKmsKeyArn');
  if (config.signing.kind === 'arn')
    check(
      'signingSecretArn',
      config.signing.secretArn,
      config.signingSecretKmsKeyArn,
      'signingSecretKmsKeyArn',
    );
  return problems;
}

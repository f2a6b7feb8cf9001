import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseSigningSecret, parseTargetVersions } from '../../lambdas/shared/domain/signing-secret';
import { deriveTargetKey } from '../../lambdas/shared/domain/target-signing-key';
import { OperatorError } from '../../lambdas/shared/errors';
import type { SigningSettings } from '../../lambdas/shared/settings';
import { DEFAULT_STACK_NAME, stackOutputs } from '../resolve-resources';

export interface SigningKeyOptions {
  /** `route:<name>` or `webhook:<id>`, already checked. */
  readonly target: string;
  /** The key version; @default - the newest the secret lists for the target, else 1 */
  readonly version?: number | undefined;
  readonly local: boolean;
  readonly stack?: string | undefined;
  readonly region?: string | undefined;
}

/** Where the signing secret's text comes from: the stack's secret, or SIGNING_SECRET in local mode. */
async function secretText(
  options: SigningKeyOptions,
  signing: SigningSettings,
): Promise<{ text: string; source: string }> {
  if (options.local) {
    if (signing.SIGNING_SECRET === undefined) {
      throw new OperatorError(
        'local mode signs with a key of its own making unless SIGNING_SECRET is set (environment or .env); without it, npm start prints each target’s key in its banner',
      );
    }
    return { text: signing.SIGNING_SECRET, source: 'SIGNING_SECRET' };
  }
  const stackName = options.stack ?? DEFAULT_STACK_NAME;
  const arn = (await stackOutputs(stackName, options.region)).SigningSecretArn;
  if (arn === undefined) {
    throw new OperatorError(
      `stack ${stackName} has no SigningSecretArn output: it was deployed with signRedeliveries=false, so it signs nothing`,
    );
  }
  const client = new SecretsManagerClient(options.region ? { region: options.region } : {});
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    return { text: out.SecretString ?? '', source: arn };
  } finally {
    client.destroy();
  }
}

/**
 * `signing-key`: prints the key one target (a route or a webhook) verifies redeliveries with, `whsec_…`, for
 * that target's owner to install. Derived from the signing secret's current key as the redeliverer derives it
 * (docs/signing.md); the secret itself is never printed. Reads the secret with the operator's own credentials.
 */
export async function signingKeyCommand(
  out: { write(text: string): unknown },
  err: { write(text: string): unknown },
  options: SigningKeyOptions,
  signing: SigningSettings,
): Promise<number> {
  const { text, source } = await secretText(options, signing);
  const [current] = parseSigningSecret(text, source);
  if (current === undefined) throw new OperatorError(`signing secret ${source} holds no key`);
  const listed = parseTargetVersions(text, source)[options.target] ?? [1];
  const version = options.version ?? listed[0] ?? 1;
  out.write(`${deriveTargetKey(current, options.target, version)}\n`);
  const signs = listed.includes(version)
    ? 'redeliveries to it are signed with it now'
    : `not yet signed with: list it in the secret's "targets" (${JSON.stringify({ [options.target]: [version, ...listed] })})`;
  err.write(`key of ${options.target}, version ${version}, from ${source}: ${signs}.\n`);
  return 0;
}

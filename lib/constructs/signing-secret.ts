import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { secretNames } from '../physical-names';

/** Properties of {@link SigningSecret}. Give at most one of `secretName` and `secretArn`. */
export interface SigningSecretProps {
  /**
   * Name of an existing secret to use instead of creating one.
   * @default - a new secret is created
   */
  readonly secretName?: string;
  /**
   * ARN of an existing secret (complete, with its 6-character suffix, or partial) to use instead of creating one.
   * @default - a new secret is created
   */
  readonly secretArn?: string;
  /**
   * Prefix of the physical names (queue, alarm and secret names); unique per account and region.
   * @default - the stack name
   */
  readonly namePrefix?: string;
  /**
   * ARN of the customer-managed KMS key the secret is encrypted with; a new secret is created under it.
   * @default - the AWS-managed key aws/secretsmanager
   */
  readonly encryptionKeyArn?: string;
}

/**
 * The Secrets Manager secret holding the key(s) the redeliverer signs with (Standard Webhooks). Its forms are
 * those of `parseSigningSecret` in lambdas/shared/domain/signing-secret.ts: a `whsec_<base64>` key, keys
 * separated by spaces, or JSON `{"current":…, "previous":…}` during a rotation.
 *
 * Either an existing secret, by name or ARN, or a new one named `<stack name>/webhook-signing-secret`. A new one
 * gets a random value from CloudFormation, which can generate strings of chosen characters but not the base64 of
 * random bytes: so it is 48 letters and digits, itself valid base64 for 36 bytes (about 285 bits of entropy), and
 * each target's own key is derived from it (`whsec_` + that value is the key HKDF starts from; see
 * lambdas/shared/domain/target-signing-key.ts). Only the redeliverer is granted to read it.
 */
export class SigningSecret extends Construct {
  /** The secret. */
  public readonly secret: secretsmanager.ISecret;
  /** The customer-managed key it is encrypted with; its readers need kms:Decrypt on it. */
  public readonly encryptionKeyArn?: string;
  /** What the redeliverer passes to GetSecretValue as SecretId: the ARN, or the name for a by-name reference. */
  public readonly secretId: string;
  /** The ARN to grant GetSecretValue on: for a name or partial ARN, with the wildcard of the random suffix. */
  public readonly grantableArn: string;

  constructor(scope: Construct, id: string, props: SigningSecretProps = {}) {
    super(scope, id);
    if (props.encryptionKeyArn) this.encryptionKeyArn = props.encryptionKeyArn;
    if (props.secretName && props.secretArn) {
      throw new Error('SigningSecret: give secretName or secretArn, not both');
    }
    if (props.secretArn) {
      // A complete ARN ends in "-" and 6 random characters; IAM then needs no wildcard.
      const complete = /-[A-Za-z0-9]{6}$/.test(props.secretArn);
      this.secret = complete
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', props.secretArn)
        : secretsmanager.Secret.fromSecretPartialArn(this, 'Secret', props.secretArn);
      this.secretId = props.secretArn;
    } else if (props.secretName) {
      this.secret = secretsmanager.Secret.fromSecretNameV2(this, 'Secret', props.secretName);
      this.secretId = props.secretName;
    } else {
      const secret = new secretsmanager.Secret(this, 'Secret', {
        ...(props.encryptionKeyArn
          ? { encryptionKey: kms.Key.fromKeyArn(this, 'EncryptionKey', props.encryptionKeyArn) }
          : {}),
        secretName: secretNames.signing(props.namePrefix ?? Stack.of(this).stackName),
        description:
          "Key(s) the webhook redeliverer derives each target's signing key from (Standard Webhooks); the CLI's signing-key prints one. See docs/signing.md.",
        generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
        // Targets hold a copy of the key: keep it when the stack is removed (redeploy with -c signingSecretName=…);
        // a failed first create deletes it on rollback, when no target can have it yet.
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      });
      this.secret = secret;
      this.secretId = secret.secretArn;
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Every webhook target holds a copy of this key, so a rotation must be coordinated with them: the secret takes the new and the old key together, the redeliverer signs with both, and the old one is dropped once every target has the new one (docs/signing.md). An automatic rotation would break the targets.',
      });
    }
    this.grantableArn = this.secret.secretFullArn ?? `${this.secret.secretArn}-??????`;
  }
}

import { RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { secretNames } from '../physical-names';

/** Properties of {@link GenesysSecret}. Give at most one of `secretName` and `secretArn`. */
export interface GenesysSecretProps {
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
 * The Secrets Manager secret holding the Genesys Cloud OAuth client credentials, as JSON:
 * `{"clientId":"…","clientSecret":"…"}` (see `genesysSecretSchema` in lambdas/shared/settings.ts).
 *
 * Either an existing secret, referenced by name or ARN, or a new one named `<stack name>/genesys-credentials`
 * holding placeholders that the operator replaces with `aws secretsmanager put-secret-value` after deploying.
 * Only the poller may read it.
 */
export class GenesysSecret extends Construct {
  /** The secret. */
  public readonly secret: secretsmanager.ISecret;
  /** The customer-managed key it is encrypted with; its readers need kms:Decrypt on it. */
  public readonly encryptionKeyArn?: string;
  /** What the poller passes to GetSecretValue as SecretId: the ARN, or the name for a by-name reference. */
  public readonly secretId: string;
  /** The ARN to grant GetSecretValue on: for a name or partial ARN, with the wildcard of the random suffix. */
  public readonly grantableArn: string;
  /** True when this stack created the secret. */
  public readonly created: boolean;

  constructor(scope: Construct, id: string, props: GenesysSecretProps = {}) {
    super(scope, id);
    if (props.encryptionKeyArn) this.encryptionKeyArn = props.encryptionKeyArn;
    if (props.secretName && props.secretArn) {
      throw new Error('GenesysSecret: give secretName or secretArn, not both');
    }
    this.created = !props.secretName && !props.secretArn;

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
        secretName: secretNames.genesys(props.namePrefix ?? Stack.of(this).stackName),
        description:
          'Genesys Cloud OAuth client credentials for the webhook recovery poller, as JSON {"clientId":"…","clientSecret":"…"}',
        // Placeholders with the right shape: the poller reports a clear login error until they are replaced.
        // No generated value, so the real secret never passes through CloudFormation.
        secretObjectValue: {
          clientId: SecretValue.unsafePlainText('REPLACE_WITH_CLIENT_ID'),
          clientSecret: SecretValue.unsafePlainText('REPLACE_WITH_CLIENT_SECRET'),
        },
        // Keep the credentials when the stack is removed (redeploy with -c secretName=… to reuse them), but not
        // after a failed first create: its rollback deletes the secret, so the retry does not find the name taken.
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      });
      this.secret = secret;
      this.secretId = secret.secretArn;
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The secret holds a Genesys Cloud OAuth client secret, which only Genesys Cloud admin can rotate; there is no API a rotation Lambda could call. Rotate it in Genesys Cloud and put the new value here (docs/deploy.md).',
      });
    }
    this.grantableArn = this.secret.secretFullArn ?? `${this.secret.secretArn}-??????`;
  }
}

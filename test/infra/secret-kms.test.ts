import { App, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../lambdas/shared/errors';
import { GenesysWebhookRecovery } from '../../lib/genesys-webhook-recovery';
import { stackConfigFromContext } from '../../lib/stack-config';
import { cdkJsonContext, synthStack } from './synth-stack';
import { logicalId } from './template-queries';

/**
 * Customer-managed KMS keys for the secrets (issue 19): kms:Decrypt on that key, through Secrets Manager only,
 * for exactly the roles that read the secret; a secret in another account without its key is refused.
 */
const KEY = 'arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SIGNING_KEY = 'arn:aws:kms:eu-west-1:222222222222:key/9999abcd-12ab-34cd-56ef-1234567890ab';
const FOREIGN = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:genesys-AbC123';
const FOREIGN_SIGNING = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:signing-XyZ789';

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
function roleStatements(template: Template, prefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const role = logicalId(template, 'AWS::IAM::Role', prefix);
  return Object.values(policies)
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const decrypts = (statements: Statement[]) => statements.filter((s) => s.Action === 'kms:Decrypt');
const VIA = {
  StringEquals: {
    'kms:ViaService': {
      'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
    },
  },
};

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('customer-managed keys of the secrets', () => {
  it('grant kms:Decrypt on the Genesys key to the poller alone, and on the signing key to the redeliverer alone', () => {
    const { template } = synthStack({
      secretArn: FOREIGN,
      secretKmsKeyArn: KEY,
      signingSecretArn: FOREIGN_SIGNING,
      signingSecretKmsKeyArn: SIGNING_KEY,
    });
    expect(decrypts(roleStatements(template, 'PollerRole'))).toEqual([
      { Action: 'kms:Decrypt', Effect: 'Allow', Resource: KEY, Condition: VIA },
    ]);
    expect(decrypts(roleStatements(template, 'RedelivererRole'))).toEqual([
      { Action: 'kms:Decrypt', Effect: 'Allow', Resource: SIGNING_KEY, Condition: VIA },
    ]);
    // No other role of the stack may decrypt with either key.
    const all = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(all.split('kms:Decrypt').length - 1).toBe(2);
  });

  it('grant nothing on KMS without a key (aws/secretsmanager needs no grant)', () => {
    const { template } = synthStack({ secretArn: FOREIGN.replace('222222222222', '123456789012') });
    expect(JSON.stringify(template.toJSON())).not.toContain('kms:');
  });

  it('encrypt a secret the stack creates with the key given', () => {
    const { template } = synthStack({ secretKmsKeyArn: KEY });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'GenesysWebhookRecovery/genesys-credentials',
      KmsKeyId: KEY,
    });
    expect(decrypts(roleStatements(template, 'PollerRole'))).toHaveLength(1);
  });

  it('refuse an alias, a signing key with signing off, and a Genesys key without the delivery log, one line each', () => {
    const problems = (context: Record<string, string>) => {
      try {
        stackConfigFromContext({ WEBHOOK_ID: 'w', GENESYS_CLOUD_REGION: 'us-east-1', ...context });
      } catch (error) {
        return (error as Error).message.split('\n').slice(1);
      }
      return [];
    };
    expect(problems({ secretKmsKeyArn: 'arn:aws:kms:eu-west-1:222222222222:alias/genesys' })).toEqual([
      '  - secretKmsKeyArn must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (an alias cannot be granted kms:Decrypt) (got "arn:aws:kms:eu-west-1:222222222222:alias/genesys")',
    ]);
    expect(problems({ signRedeliveries: 'false', signingSecretKmsKeyArn: SIGNING_KEY })).toEqual([
      "  - signingSecretKmsKeyArn names the signing secret's key, but signRedeliveries=false turns signing off: drop one",
    ]);
    const routes = JSON.stringify([{ name: 'a', topics: ['v2.x.{id}'], url: 'https://hooks.example.com/a' }]);
    expect(
      problems({
        WEBHOOK_ID: '',
        GENESYS_CLOUD_REGION: '',
        ROUTES: routes,
        eventSource: 'aws.partner/genesys.com/cloud/o/s',
        secretKmsKeyArn: KEY,
      }),
    ).toEqual([
      '  - secretKmsKeyArn is the key of the Genesys credentials secret, which only the delivery log (WEBHOOK_ID) uses: drop it',
    ]);
  });
});

describe('a secret ARN in another account', () => {
  const build = (account: string | undefined, props: Record<string, string> = {}) => {
    const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Host', account ? { env: { account, region: 'eu-west-1' } } : {});
    const recovery = new GenesysWebhookRecovery(stack, 'Recovery', {
      webhookIds: ['abc'],
      genesysRegion: 'eu-west-1',
      genesysSecretArn: FOREIGN,
      ...props,
    });
    return { stack, recovery };
  };
  const error = (fn: () => unknown) => {
    try {
      fn();
    } catch (caught) {
      return caught;
    }
    return undefined;
  };

  it("is refused in one line when the stack's account is another, unless its key is given", () => {
    const refused = error(() => build('111111111111'));
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message.split('\n')).toEqual([
      'Invalid GenesysWebhookRecovery settings at Host/Recovery:',
      `  - secretArn is in account 222222222222, not this stack's (111111111111): a secret shared across accounts must be encrypted with a customer-managed KMS key; give that key's ARN as secretKmsKeyArn (docs/deploy.md, "Secrets in another account")`,
    ]);
    expect(error(() => build('111111111111', { genesysSecretKmsKeyArn: KEY }))).toBeUndefined();
    expect(error(() => build('222222222222'))).toBeUndefined();
    // The signing secret by ARN, the same way.
    const signing = error(() =>
      build('111111111111', { genesysSecretKmsKeyArn: KEY, signingSecretArn: FOREIGN_SIGNING }),
    );
    expect(String((signing as Error).message)).toContain('signingSecretArn is in account 222222222222');
  });

  it('uses the account cdk runs with (CDK_DEFAULT_ACCOUNT) for an environment-agnostic stack', () => {
    vi.stubEnv('CDK_DEFAULT_ACCOUNT', '111111111111');
    expect(error(() => build(undefined))).toBeInstanceOf(ConfigError);
  });

  it('without any account known (synth without credentials) is not checked: cdk deploy always has one', () => {
    vi.stubEnv('CDK_DEFAULT_ACCOUNT', '');
    expect(error(() => build(undefined))).toBeUndefined();
  });
});

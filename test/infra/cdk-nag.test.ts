import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { nagFindings } from './nag-findings';
import { buildStack } from './synth-stack';

describe('cdk-nag (AwsSolutions and Serverless packs)', () => {
  it.each([
    ['defaults (secret created)', {}],
    ['alarm e-mail subscription', { alarmEmail: 'ops@example.com' }],
    ['existing secret by name', { secretName: 'genesys/prod' }],
    [
      'existing secret by ARN',
      { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:genesys-AbC123' },
    ],
    [
      'no reserved concurrency, a long interval',
      {
        reservePollerConcurrency: 'false',
        reserveRedelivererConcurrency: 'false',
        POLL_INTERVAL_SECONDS: '600',
      },
    ],
    ['signing off', { signRedeliveries: 'false' }],
    [
      'customer-managed keys for both secrets',
      {
        secretArn: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:genesys-AbC123',
        secretKmsKeyArn: 'arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        signingSecretName: 'webhooks/signing',
        signingSecretKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/9999abcd-12ab-34cd-56ef-1234567890ab',
      },
    ],
    [
      'concurrency reserved (opt-in)',
      { reservePollerConcurrency: 'true', reserveRedelivererConcurrency: 'true' },
    ],
    ['existing signing secret by name', { signingSecretName: 'webhooks/signing' }],
    [
      'existing signing secret by partial ARN',
      { signingSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhooks/signing' },
    ],
  ])('has no unacknowledged findings: %s', (_name, context) => {
    expect(nagFindings(buildStack(context).app)).toEqual([]);
  });

  it('fails synthesis on a finding nobody acknowledged (the gate is live)', () => {
    const { app, stack } = buildStack();
    new sqs.Queue(stack, 'Unguarded');
    expect(nagFindings(app)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^AwsSolutions-SQS4 at .*\/Unguarded\//)]),
    );
  });
});

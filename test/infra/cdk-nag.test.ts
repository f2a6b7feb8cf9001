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
      'no reserved concurrency',
      {
        reservePollerConcurrency: 'false',
        reserveRedelivererConcurrency: 'false',
        POLL_INTERVAL_SECONDS: '600',
      },
    ],
    ['signing off', { signRedeliveries: 'false' }],
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

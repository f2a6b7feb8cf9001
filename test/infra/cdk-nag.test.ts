import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildStack } from './synth-stack';

interface Report {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; violatingConstructs: { constructPath?: string }[] }[];
  }[];
}

/**
 * Synthesises with both packs registered as bin/app.ts registers them (CDK policy validation, which honours
 * `Validations.of(...).acknowledge`), and returns each unacknowledged finding as "rule at construct path".
 */
function nagFindings(app: App): string[] {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  let failed = false;
  try {
    app.synth();
  } catch (error) {
    expect(String(error)).toContain('ValidationFailed');
    failed = true;
  }
  const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as Report;
  const findings = report.pluginReports.flatMap((p) =>
    p.violations.flatMap((v) => v.violatingConstructs.map((r) => `${v.ruleName} at ${r.constructPath}`)),
  );
  expect(failed).toBe(findings.length > 0);
  return findings;
}

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

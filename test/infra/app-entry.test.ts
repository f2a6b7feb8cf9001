import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { processEnvironment } from '../../lambdas/shared/settings';

const run = promisify(execFile);
const projectRoot = new URL('../../', import.meta.url).pathname;
const cdkJson = JSON.parse(await readFile(join(projectRoot, 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};

const outdirs: string[] = [];
afterAll(async () => {
  await Promise.all(outdirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/**
 * Runs bin/app.ts as `cdk synth` runs it (context in CDK_CONTEXT_JSON, output to CDK_OUTDIR), with bundling
 * skipped and no AWS credentials, and returns its exit code, output and template.
 */
async function synthApp(context: Record<string, string>, extraEnv: Record<string, string> = {}) {
  const outdir = await mkdtemp(join(tmpdir(), 'app-entry-'));
  outdirs.push(outdir);
  const env = Object.fromEntries(
    Object.entries(processEnvironment()).filter(
      ([key]) => !key.startsWith('AWS_') && !key.startsWith('CDK_'),
    ),
  );
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: projectRoot,
      env: {
        ...env,
        ...extraEnv,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({
          ...cdkJson.context,
          WEBHOOK_ID: 'example-webhook',
          GENESYS_CLOUD_REGION: 'us-east-1',
          ...context,
          'aws:cdk:bundling-stacks': [],
        }),
      },
      maxBuffer: 1 << 24,
    });
    const template = JSON.parse(await readFile(join(outdir, 'GenesysWebhookRecovery.template.json'), 'utf8'));
    return { code: 0, output: `${stdout}${stderr}`, template };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}`, template: undefined };
  }
}

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

describe('bin/app.ts with a long poll interval', () => {
  // Lambda's MaximumEventAgeInSeconds stops at 21,600 while the schema allows intervals up to 86,400; an age
  // derived from the interval alone once crashed the synth with a stack trace. (aws-behaviour.test.ts checks
  // the formula for every interval.)
  it('synthesises POLL_INTERVAL_SECONDS=43200, cdk-nag included, with event ages Lambda and Scheduler accept', async () => {
    const interval = '43200';
    const result = await synthApp({ POLL_INTERVAL_SECONDS: interval });
    expect(result.output).not.toMatch(/\n\s+at .*\.(ts|js):\d+/);
    expect(result.code, result.output).toBe(0);
    const resources = Object.values((result.template as { Resources: Resources }).Resources);
    const invokeConfig = resources.find((r) => r.Type === 'AWS::Lambda::EventInvokeConfig')?.Properties;
    const poller = resources.find(
      (r) =>
        r.Type === 'AWS::Lambda::Function' &&
        JSON.stringify(r.Properties.Environment).includes('genesys-webhook-poller'),
    )?.Properties;
    const schedule = resources.find((r) => r.Type === 'AWS::Scheduler::Schedule')?.Properties as {
      Target: { RetryPolicy: { MaximumEventAgeInSeconds: number } };
      ScheduleExpression: string;
    };
    expect(invokeConfig?.MaximumRetryAttempts).toBe(1);
    expect(invokeConfig?.MaximumEventAgeInSeconds).toBe(21_600);
    expect(invokeConfig?.MaximumEventAgeInSeconds).toBeGreaterThan(Number(poller?.Timeout) + 60);
    expect(schedule.Target.RetryPolicy.MaximumEventAgeInSeconds).toBe(Number(interval));
    expect(schedule.ScheduleExpression).toBe('rate(12 hours)');
  }, 120_000);
});

describe('bin/app.ts with a bad setting (issue 23)', () => {
  it('-c TARGET_ALLOW_LOOPBACK=true is refused, and the error points to a page that exists', async () => {
    const result = await synthApp({ TARGET_ALLOW_LOOPBACK: 'true' });
    expect(result.code).toBe(1);
    expect(result.output).toContain(
      "TARGET_ALLOW_LOOPBACK must not be true in the stack: it is for local mode and tests only (in Lambda, 127.0.0.1:9001 is the function's own Runtime API)",
    );
    const pointer = result.output.trim().split('\n').at(-1) ?? '';
    expect(pointer).toBe(
      'Every setting, its default and its range: docs/configuration.md; how to pass them: docs/deploy.md ("Settings").',
    );
    const deploy = await readFile(join(projectRoot, 'docs/deploy.md'), 'utf8');
    expect(deploy).toMatch(/^#+ Settings$/m);
    await readFile(join(projectRoot, 'docs/configuration.md'), 'utf8');
  }, 60_000);

  it('a misspelt setting gets a "did you mean"', async () => {
    const result = await synthApp({ MAX_RETRY: '5' });
    expect(result.code).toBe(1);
    expect(result.output).toContain('MAX_RETRY is not a known setting (did you mean MAX_RETRIES?)');
  }, 60_000);
});

describe('bin/app.ts with a secret in another account (issue 19)', () => {
  const foreign = 'arn:aws:secretsmanager:us-east-1:222222222222:secret:genesys-AbC123';
  it("is refused in one line under cdk deploy's account (CDK_DEFAULT_ACCOUNT) unless its KMS key is given", async () => {
    const refused = await synthApp({ secretArn: foreign }, { CDK_DEFAULT_ACCOUNT: '111111111111' });
    expect(refused.code).toBe(1);
    expect(refused.output).not.toMatch(/\n\s+at .*\.(ts|js):\d+/);
    const lines = refused.output.trim().split('\n');
    expect(lines).toEqual([
      'Invalid GenesysWebhookRecovery settings at GenesysWebhookRecovery/Default:',
      '  - secretArn is in account 222222222222, not this stack\'s (111111111111): a secret shared across accounts must be encrypted with a customer-managed KMS key; give that key\'s ARN as secretKmsKeyArn (docs/deploy.md, "Secrets in another account")',
      'Every setting, its default and its range: docs/configuration.md; how to pass them: docs/deploy.md ("Settings").',
    ]);
    const key = 'arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const accepted = await synthApp(
      { secretArn: foreign, secretKmsKeyArn: key },
      { CDK_DEFAULT_ACCOUNT: '111111111111' },
    );
    expect(accepted.code, accepted.output).toBe(0);
  }, 120_000);
});

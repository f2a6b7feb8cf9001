import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processEnvironment } from '../../lambdas/shared/settings';

const run = promisify(execFile);
const projectRoot = new URL('../../', import.meta.url).pathname;

/** The environment minus anything that could reach AWS: synth must work offline with no credentials. */
function offlineEnv(): Record<string, string | undefined> {
  const env = Object.fromEntries(
    Object.entries(processEnvironment()).filter(
      ([key]) => !key.startsWith('AWS_') && !key.startsWith('CDK_'),
    ),
  );
  return {
    ...env,
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** Runs the real CLI, as a user would (`npx cdk synth`), through cdk.json's app command. */
async function cdkSynth(outdir: string, context: Record<string, string>) {
  const args = ['cdk', 'synth', '--quiet', '--no-notices', '-o', outdir];
  for (const [key, value] of Object.entries(context)) args.push('-c', `${key}=${value}`);
  try {
    const { stdout, stderr } = await run('npx', args, {
      cwd: projectRoot,
      env: offlineEnv(),
      maxBuffer: 1 << 24,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

type Template = {
  Resources: Record<
    string,
    { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
};

describe('npx cdk synth (real CLI, real bundling, no credentials)', () => {
  let outdir: string;
  let result: Awaited<ReturnType<typeof cdkSynth>>;
  let template: Template;

  beforeAll(async () => {
    outdir = await mkdtemp(join(tmpdir(), 'cdk-synth-'));
    // Both sources and an ordered route, so every function (poller, redeliverer, the ordered route's intake) is
    // really bundled.
    result = await cdkSynth(outdir, {
      WEBHOOK_ID: 'example-webhook',
      GENESYS_CLOUD_REGION: 'us-east-1',
      ROUTES: JSON.stringify([
        {
          name: 'ends',
          topics: ['v2.detail.events.conversation.{id}.customer.end'],
          url: 'https://h.example.com/e',
        },
        {
          name: 'presence',
          topics: ['v2.users.{id}.presence'],
          url: 'https://h.example.com/p',
          order: 'per-entity',
        },
      ]),
      eventSource: 'aws.partner/genesys.com/cloud/00000000-0000-4000-8000-000000000000/example',
    });
    if (result.code === 0) {
      template = JSON.parse(await readFile(join(outdir, 'GenesysWebhookRecovery.template.json'), 'utf8'));
    }
  }, 180_000);
  afterAll(async () => {
    await rm(outdir, { recursive: true, force: true });
  });

  it('synthesises the stack with the cdk-nag packs passing', () => {
    expect(result.stderr).not.toMatch(/ValidationFailed|AwsSolutions-|Serverless-/);
    expect(result.code).toBe(0);
    expect(Object.keys(template.Resources).length).toBeGreaterThan(20);
  });

  /** The bundle directory of the function whose Powertools service name is `service`. */
  async function bundleOf(service: string): Promise<{ code: string; size: number; sources: string[] }> {
    const fn = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Lambda::Function' &&
        JSON.stringify(r.Properties.Environment).includes(`"POWERTOOLS_SERVICE_NAME":"${service}"`),
    );
    const assetPath = fn?.Metadata?.['aws:asset:path'];
    expect(typeof assetPath).toBe('string');
    const dir = join(outdir, String(assetPath));
    const code = await readFile(join(dir, 'index.mjs'), 'utf8');
    const map = JSON.parse(await readFile(join(dir, 'index.mjs.map'), 'utf8')) as { sources: string[] };
    return { code, size: (await stat(join(dir, 'index.mjs'))).size, sources: map.sources };
  }

  it('bundles the poller as minified ESM with a source map, the Genesys SDK included', async () => {
    const poller = await bundleOf('genesys-webhook-poller');
    expect(poller.code.startsWith("import { createRequire } from 'module';")).toBe(true);
    expect(poller.sources.some((s) => s.includes('node_modules/purecloud-platform-client-v2/'))).toBe(true);
    expect(poller.code).toContain('PureCloudRegionHosts');
    // Minified: a few MB at most (the SDK alone is ~1.9 MB).
    expect(poller.size).toBeGreaterThan(500_000);
    expect(poller.size).toBeLessThan(6_000_000);
  });

  it('bundles the EventBridge intake without the Genesys SDK', async () => {
    const intake = await bundleOf('genesys-eventbridge-intake');
    expect(intake.sources.some((s) => s.includes('purecloud-platform-client-v2'))).toBe(false);
    expect(intake.sources.some((s) => s.includes('lambdas/intake/handler.ts'))).toBe(true);
    expect(intake.size).toBeLessThan(4_000_000);
  });

  it('bundles the redeliverer without the Genesys SDK', async () => {
    const redeliverer = await bundleOf('genesys-webhook-redeliverer');
    expect(redeliverer.sources.some((s) => s.includes('purecloud-platform-client-v2'))).toBe(false);
    expect(redeliverer.code).not.toContain('PureCloudRegionHosts');
    expect(redeliverer.code).not.toContain('purecloud-platform-client');
    expect(redeliverer.sources.some((s) => s.includes('lambdas/redeliverer/handler.ts'))).toBe(true);
    expect(redeliverer.size).toBeLessThan(4_000_000);
  });

  it('fails with one clear line per bad value', async () => {
    const bad = await cdkSynth(outdir, {
      GENESYS_CLOUD_REGION: 'us-east-1',
      POLL_INTERVAL_SECONDS: '90',
      MAX_RETRIES: '0',
    });
    expect(bad.code).not.toBe(0);
    const output = `${bad.stdout}\n${bad.stderr}`;
    expect(output).toContain('Invalid stack configuration:');
    expect(output).toMatch(/^ {2}- WEBHOOK_ID is required/m);
    expect(output).toMatch(
      /^ {2}- MAX_RETRIES must be a whole number of attempts from 1 to 995 \(got "0"\)$/m,
    );
    expect(output).toMatch(/^ {2}- POLL_INTERVAL_SECONDS must be a multiple of 60/m);
    // The operator's input, not a bug: no stack trace.
    expect(output).not.toMatch(/\n\s+at .*\.ts:\d+/);
  }, 120_000);
});

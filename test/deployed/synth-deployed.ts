import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackConfigFromContext } from '../../lib/stack-config';
import { BASE_CONTEXT, cdkJsonContext } from '../infra/synth-stack';

/** The account the layer deploys into: a fake one, distinct from the emulators' own 000000000000. */
export const DEPLOYED_ACCOUNT = '111111111111';
export const DEPLOYED_REGION = 'us-east-1';

/** A CloudFormation resource as the template holds it. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/** A function of the template with the file CloudFormation would deploy for it. */
export interface DeployedFunction {
  readonly logicalId: string;
  /** The directory of its asset in cdk.out (Lambda's /var/task). */
  readonly assetDir: string;
  /** Handler as the template names it, e.g. `index.handler`. */
  readonly handler: string;
  /** The file the handler's module names, e.g. `index.mjs`. */
  readonly entryFile: string;
}

export interface DeployedSynth {
  readonly outdir: string;
  readonly stackName: string;
  readonly template: CfnTemplate;
  readonly functions: readonly DeployedFunction[];
}

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The project's Node 24 (tools/node-runtime's binary package), as npm links it for scripts.
const NODE_24 = join(PROJECT_ROOT, 'node_modules/.bin/node');

/**
 * Synthesises the stack as `cdk synth` does: the app's own entry (bin/app.ts, cdk.json's "app") in a child process,
 * given its context and output directory the way the CDK CLI gives them (CDK_CONTEXT_JSON, CDK_OUTDIR), with the
 * app's own bundling (esbuild), into a temporary cdk.out. The template is the environment-agnostic one `cdk deploy`
 * deploys: its ARNs are built from AWS::AccountId and AWS::Region, resolved by the layer. The child's output (the
 * bundler's lines) is shown only when the synth fails.
 */
export function synthDeployed(context: Readonly<Record<string, unknown>>): DeployedSynth {
  // One synth per context in a test file: the assets are the same, and each caller gets its own template copy.
  const key = JSON.stringify(context);
  const done = synthesised.get(key) ?? synthOnce(context);
  synthesised.set(key, done);
  return { ...done, template: structuredClone(done.template) };
}

const synthesised = new Map<string, DeployedSynth>();
/** Removes the temporary cdk.out directories (a test file's last afterAll; a test worker is killed, not exited). */
export function removeSyntheses(): void {
  for (const { outdir } of synthesised.values()) rmSync(outdir, { recursive: true, force: true });
  synthesised.clear();
}

function synthOnce(context: Readonly<Record<string, unknown>>): DeployedSynth {
  const outdir = mkdtempSync(join(tmpdir(), 'deployed-cdk-out-'));
  const fullContext = { ...cdkJsonContext, ...BASE_CONTEXT, ...context };
  const run = spawnSync(NODE_24, ['--import', 'tsx', 'bin/app.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(fullContext) },
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    throw new Error(
      `bin/app.ts failed to synthesise (${run.status ?? run.signal}):\n${run.stderr}${run.stdout}`,
    );
  }
  const stackName = stackConfigFromContext(fullContext).stackName;
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const templateFile = manifest.artifacts[stackName]?.properties?.templateFile;
  if (!templateFile) throw new Error(`no stack ${stackName} in ${outdir}/manifest.json`);
  const template = JSON.parse(readFileSync(join(outdir, templateFile), 'utf8')) as CfnTemplate;
  const functions: DeployedFunction[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    // The asset CDK staged for the function: cdk.out/asset.<hash>, uploaded as <hash>.zip (the Code's S3Key).
    const code = resource.Properties?.Code as { S3Key?: unknown } | undefined;
    const handler = resource.Properties?.Handler;
    const hash = typeof code?.S3Key === 'string' ? code.S3Key.replace(/\.zip$/, '') : undefined;
    if (hash === undefined || typeof handler !== 'string') {
      throw new Error(`function ${logicalId} has no asset (Code.S3Key) or handler in the template`);
    }
    const assetDir = join(outdir, `asset.${hash}`);
    const moduleName = handler.slice(0, handler.lastIndexOf('.'));
    const entryFile = ['.mjs', '.js', '.cjs']
      .map((ext) => `${moduleName}${ext}`)
      .find((f) => existsSync(join(assetDir, f)));
    if (!entryFile) {
      throw new Error(
        `function ${logicalId}: no ${moduleName}.mjs/.js in ${assetDir} (${readdirSync(assetDir).join(', ')})`,
      );
    }
    functions.push({ logicalId, assetDir, handler, entryFile });
  }
  return { outdir, stackName, template, functions };
}

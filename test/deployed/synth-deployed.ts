import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { stackConfigFromContext } from '../../lib/stack-config';
import { WebhookRecoveryStack } from '../../lib/webhook-recovery-stack';
import { BASE_CONTEXT, cdkJsonContext } from '../infra/synth-stack';

/** The account the layer's ARNs name: a fake one, distinct from the emulators' own 000000000000. */
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

/**
 * Synthesises the stack as `cdk synth` does, with the app's own bundling (esbuild, as `cdk deploy` would upload),
 * into a temporary cdk.out, and reads the template and each function's asset. An account and region are set so
 * that the template's ARNs are the deployed ones; the pseudo parameters still appear as Refs where CDK uses them.
 */
export function synthDeployed(context: Readonly<Record<string, unknown>>): DeployedSynth {
  const outdir = mkdtempSync(join(tmpdir(), 'deployed-cdk-out-'));
  const app = new App({ outdir, context: { ...cdkJsonContext, ...BASE_CONTEXT, ...context } });
  const config = stackConfigFromContext(app.node.getAllContext());
  const stack = new WebhookRecoveryStack(app, config.stackName, {
    config,
    env: { account: DEPLOYED_ACCOUNT, region: DEPLOYED_REGION },
  });
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const template = JSON.parse(readFileSync(join(outdir, artifact.templateFile), 'utf8')) as CfnTemplate;
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
  return { outdir, stackName: stack.stackName, template, functions };
}

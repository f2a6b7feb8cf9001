import { readFileSync } from 'node:fs';
import { App, type Environment } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { stackConfigFromContext } from '../../lib/stack-config';
import { WebhookRecoveryStack } from '../../lib/webhook-recovery-stack';

/** The feature flags and other context of cdk.json, so tests synthesise what `cdk synth` does. */
export const cdkJsonContext: Readonly<Record<string, unknown>> = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/** Minimal valid settings for a deployable stack. */
export const BASE_CONTEXT: Readonly<Record<string, string>> = {
  WEBHOOK_ID: 'example-webhook',
  GENESYS_CLOUD_REGION: 'us-east-1',
};

/**
 * Builds the app and stack the way bin/app.ts does, from context, without synthesising, with bundling skipped
 * (the `aws:cdk:bundling-stacks` context the CLI sets) unless `bundle` is true. Environment-agnostic unless `env`
 * names an account and region.
 */
export function buildStack(
  context: Readonly<Record<string, unknown>> = {},
  options: { bundle?: boolean; env?: Environment } = {},
): { app: App; stack: WebhookRecoveryStack } {
  const app = new App({
    context: {
      ...cdkJsonContext,
      ...BASE_CONTEXT,
      ...context,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const config = stackConfigFromContext(app.node.getAllContext());
  const stack = new WebhookRecoveryStack(app, config.stackName, {
    config,
    ...(options.env ? { env: options.env } : {}),
  });
  return { app, stack };
}

/** Builds the stack (see buildStack) and synthesises its template. */
export function synthStack(
  context: Readonly<Record<string, unknown>> = {},
  options: { bundle?: boolean; env?: Environment } = {},
): { app: App; stack: WebhookRecoveryStack; template: Template } {
  const { app, stack } = buildStack(context, options);
  return { app, stack, template: Template.fromStack(stack) };
}

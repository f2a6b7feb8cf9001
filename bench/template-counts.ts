import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { stackConfigFromContext } from '../lib/stack-config';
import { WebhookRecoveryStack } from '../lib/webhook-recovery-stack';

/** What the idle cost is counted from: the resources of the stack as `cdk synth` writes it. */
export interface TemplateCounts {
  readonly alarms: number;
  readonly secrets: number;
  readonly dashboards: number;
}

/**
 * Synthesises the delivery-log stack (cdk.json's context, one webhook; bundling skipped, which changes no resource
 * count) and counts its alarms, secrets and dashboards, so the cost model follows the template, not a copy of it.
 */
export function templateCounts(context: Readonly<Record<string, string>> = {}): TemplateCounts {
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const app = new App({
    context: {
      ...cdkJson.context,
      WEBHOOK_ID: 'example-webhook',
      GENESYS_CLOUD_REGION: 'us-east-1',
      ...context,
      'aws:cdk:bundling-stacks': [],
    },
  });
  const config = stackConfigFromContext(app.node.getAllContext());
  const template = Template.fromStack(new WebhookRecoveryStack(app, config.stackName, { config }));
  const count = (type: string) => Object.keys(template.findResources(type)).length;
  return {
    alarms: count('AWS::CloudWatch::Alarm'),
    secrets: count('AWS::SecretsManager::Secret'),
    dashboards: count('AWS::CloudWatch::Dashboard'),
  };
}

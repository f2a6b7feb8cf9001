/**
 * The package's entry point (`import … from 'genesys-webhook-recovery'`): the pipeline as a construct for CDK apps
 * of your own, and the stack this repository deploys. bin/app.ts and examples/existing-stack import from here
 * alone, as an app that installed the package does; scripts/build.ts compiles this file into dist/.
 */

export { ConfigError } from '../lambdas/shared/errors';
export { ALARM_NAMES, type AlarmName } from './constructs/recovery-alarms';
export {
  type GenesysRoute,
  GenesysWebhookRecovery,
  type GenesysWebhookRecoveryProps,
} from './genesys-webhook-recovery';
export { type StackConfig, stackConfigFromContext } from './stack-config';
export { WebhookRecoveryStack, type WebhookRecoveryStackProps } from './webhook-recovery-stack';

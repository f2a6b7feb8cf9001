/**
 * The library entry point: the pipeline as a construct for CDK apps of your own, and the stack this repository
 * deploys (bin/app.ts).
 */

export { ALARM_NAMES, type AlarmName } from './constructs/recovery-alarms';
export {
  type GenesysRoute,
  GenesysWebhookRecovery,
  type GenesysWebhookRecoveryProps,
} from './genesys-webhook-recovery';
export { type StackConfig, stackConfigFromContext } from './stack-config';
export { WebhookRecoveryStack, type WebhookRecoveryStackProps } from './webhook-recovery-stack';

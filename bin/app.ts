import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
// The package's public entry point, as in an app that installed it (`from 'genesys-webhook-recovery'`).
import { ConfigError, stackConfigFromContext, WebhookRecoveryStack } from '../lib/index';

/**
 * The CDK app. Settings come from context (`-c WEBHOOK_ID=… -c GENESYS_CLOUD_REGION=…`, or cdk.json) and are
 * validated before any construct is built. The stack is environment-agnostic, so `cdk synth` needs no AWS
 * credentials. cdk-nag's AwsSolutions and Serverless packs check every resource; acknowledgements sit next to
 * the constructs they concern.
 */
const app = new App();

try {
  const config = stackConfigFromContext(app.node.getAllContext());
  new WebhookRecoveryStack(app, config.stackName, {
    config,
    description:
      'Recovers failed Genesys Cloud webhook deliveries: poller, SQS retry queue with backoff, redeliverer, DLQ',
  });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // One clear message, no stack trace: these are the operator's inputs, not a bug (some, like a secret in
  // another account, are known only once the stack's account is).
  process.stderr.write(
    `${error.message}\nEvery setting, its default and its range: docs/configuration.md; how to pass them: docs/deploy.md ("Settings").\n`,
  );
  process.exit(1);
}

Validations.of(app).addPlugins(
  new AwsSolutionsChecks(app, { verbose: true }),
  new ServerlessChecks(app, { verbose: true }),
);

import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { OrdersStack } from './orders-stack';

/**
 * An app of your own that uses the construct: `npx cdk synth --app 'npx tsx examples/existing-stack/app.ts'`
 * from the repository root (its cdk.json supplies the feature flags). The same cdk-nag packs as bin/app.ts check
 * every resource, the application's own included.
 */
const app = new App();
new OrdersStack(app, 'Orders');
Validations.of(app).addPlugins(
  new AwsSolutionsChecks(app, { verbose: true }),
  new ServerlessChecks(app, { verbose: true }),
);

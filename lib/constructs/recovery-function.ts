import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Properties of {@link RecoveryFunction}. */
export interface RecoveryFunctionProps {
  /** Entry file, relative to the project root, exporting `handler`. */
  readonly entry: string;
  /** Powertools service name; also the `service` dimension of the function's custom metrics. */
  readonly serviceName: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** The CloudWatch namespace of the function's custom metrics (see {@link metricsNamespace}). */
  readonly metricsNamespace: string;
  /** Environment variables besides the Powertools and Node ones this construct sets. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Log retention.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Concurrency reserved for (and limiting) the function.
   * @default - none: the function uses the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
}

/** Modules the SDK's default credential chain imports only when the environment holds no credentials. */
export const LAZY_CREDENTIAL_PROVIDERS = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/nested-clients',
  '@aws-sdk/token-providers',
];

/** The first part of every custom metric namespace; the name prefix follows it. */
export const METRICS_NAMESPACE_ROOT = 'GenesysWebhookRecovery';

/**
 * The CloudWatch namespace of one pipeline's custom metrics (Powertools Metrics, EMF):
 * `GenesysWebhookRecovery/<name prefix>`, so two stacks (or two constructs) in one account and region never add
 * into each other's metrics, alarms or dashboards.
 */
export function metricsNamespace(namePrefix: string): string {
  return `${METRICS_NAMESPACE_ROOT}/${namePrefix}`;
}

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A Lambda function as this project deploys them: Node.js 24 on arm64, bundled locally by esbuild to minified
 * ESM with source maps, an explicit log group with retention, Powertools environment, and a role that may only
 * write to its own log group. Callers grant everything else, one statement at a time.
 */
export class RecoveryFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: RecoveryFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role instead of AWSLambdaBasicExecutionRole, whose log permissions cover every log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.serviceName}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: `${PROJECT_ROOT}${props.entry}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // ESM output: CommonJS dependencies (the Genesys SDK among them) still call require().
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        // Bundle @aws-sdk/* rather than use the runtime's copy: the deployed code then runs the SDK versions it
        // was tested with, and tree-shaken minified clients load faster than the runtime's full packages. The
        // exception: the credential providers the default chain imports lazily after the environment's. In Lambda
        // the role's credentials are always in the environment, so they are never loaded (and the runtime's own
        // SDK v3 would serve them if they were); leaving them out keeps ~115 KB out of every bundle.
        externalModules: LAZY_CREDENTIAL_PROVIDERS,
        forceDockerBundling: false,
      },
    });

    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaTracing',
      reason:
        'The handlers do not use an X-Ray tracer; structured logs (Powertools Logger) and EMF metrics, including DeliveryDurationMs, give the operational view without the extra cost.',
    });
  }
}

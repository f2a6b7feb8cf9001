import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type LambdaHandlerName, lambdaCode } from './lambda-code';

/** Properties of {@link RecoveryFunction}. */
export interface RecoveryFunctionProps {
  /** Which handler runs (lambda-code.ts: prebuilt in the package, bundled from the sources in a checkout). */
  readonly handler: LambdaHandlerName;
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

/**
 * A Lambda function as this project deploys them: Node.js 24 on arm64, its handler's minified ESM bundle with
 * source maps (lambda-code.ts: prebuilt in the package, bundled at synth in a checkout), an explicit log group with retention, Powertools environment, and a role that may only
 * write to its own log group. Callers grant everything else, one statement at a time.
 */
export class RecoveryFunction extends Construct {
  public readonly function: lambda.Function;
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

    this.function = new lambda.Function(this, 'Function', {
      code: lambdaCode(props.handler),
      handler: 'index.handler',
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
    });

    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaTracing',
      reason:
        'The handlers do not use an X-Ray tracer; structured logs (Powertools Logger) and EMF metrics, including DeliveryDurationMs, give the operational view without the extra cost.',
    });
  }
}

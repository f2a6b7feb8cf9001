import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { deriveSettings } from '../lambdas/shared/derived-settings';
import { extraCredentialHeadersFromOutput } from '../lambdas/shared/domain/headers';
import { OperatorError } from '../lambdas/shared/errors';
import { type CliEnvironment, type LocalSettings, pipelineSettingsSchema } from '../lambdas/shared/settings';

/** The default CloudFormation stack name of `cdk deploy`. */
export const DEFAULT_STACK_NAME = 'GenesysWebhookRecovery';

/** A queue by both of its names: the URL (data calls) and the ARN (move tasks, redrive policies). */
export interface QueueRef {
  readonly url: string;
  readonly arn: string;
}

/** Everything a command works on, with clients already configured for AWS or for local mode. */
export interface CliResources {
  readonly sqs: SQSClient;
  readonly doc: DynamoDBDocumentClient;
  readonly retryQueue: QueueRef;
  readonly dlq: QueueRef;
  readonly tableName: string;
  /**
   * EXTRA_CREDENTIAL_HEADERS: the names masked beside the built-in ones. The stack's (its ExtraCredentialHeaders
   * output) plus the environment's; in local mode, the environment's or `.env`'s, as `npm start` reads them.
   */
  readonly extraCredentialHeaders: readonly string[];
  /** The Genesys credentials secret of a deployed stack; undefined in local mode. */
  readonly genesysSecretArn?: string;
  readonly local: boolean;
  /** Region the AWS clients use (resolved by the SDK when not given). */
  readonly region?: string;
  /** One line saying where the CLI is pointed, e.g. `stack GenesysWebhookRecovery` or `local mode (…)`. */
  readonly where: string;
  destroy(): void;
}

/** How the operator pointed the CLI; flags win over the environment. */
export interface ResourceOptions {
  readonly stack?: string | undefined;
  readonly local?: boolean | undefined;
  readonly region?: string | undefined;
  readonly retryQueueUrl?: string | undefined;
  readonly dlqUrl?: string | undefined;
  readonly table?: string | undefined;
}

/** Emulators check no signatures; the SDK still wants credentials and a region. */
const LOCAL_CLIENT = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

/** True when the CLI is pointed at local mode: `--local`, or an AWS_ENDPOINT_URL* variable without `--stack`. */
export function pointsAtLocal(
  options: Pick<ResourceOptions, 'local' | 'stack'>,
  env: CliEnvironment,
): boolean {
  return (
    options.local === true ||
    (options.stack === undefined &&
      (env.AWS_ENDPOINT_URL ?? env.AWS_ENDPOINT_URL_SQS ?? env.AWS_ENDPOINT_URL_DYNAMODB) !== undefined)
  );
}

/**
 * Finds the queues and the ledger table. Local mode (`--local`, or an AWS_ENDPOINT_URL* variable) uses the names
 * local mode creates on the emulators' endpoints; otherwise the stack's CloudFormation outputs are read with the
 * operator's normal AWS credentials and region. Explicit URLs and table name skip both lookups.
 */
export async function resolveResources(
  options: ResourceOptions,
  env: CliEnvironment,
  localSettings: LocalSettings,
): Promise<CliResources> {
  const local = pointsAtLocal(options, env);
  const sqsConfig: SQSClientConfig = local
    ? {
        ...LOCAL_CLIENT,
        endpoint:
          env.AWS_ENDPOINT_URL_SQS ??
          env.AWS_ENDPOINT_URL ??
          `http://127.0.0.1:${localSettings.LOCAL_SQS_PORT}`,
      }
    : options.region
      ? { region: options.region }
      : {};
  const dynamoConfig: DynamoDBClientConfig = local
    ? {
        ...LOCAL_CLIENT,
        endpoint:
          env.AWS_ENDPOINT_URL_DYNAMODB ??
          env.AWS_ENDPOINT_URL ??
          `http://127.0.0.1:${localSettings.LOCAL_DYNAMODB_PORT}`,
      }
    : options.region
      ? { region: options.region }
      : {};
  const sqs = new SQSClient(sqsConfig);
  const dynamo = new DynamoDBClient(dynamoConfig);
  tagErrors(sqs, 'SQS', local ? String(sqsConfig.endpoint) : undefined, local);
  tagErrors(dynamo, 'DynamoDB', local ? String(dynamoConfig.endpoint) : undefined, local);
  const doc = DynamoDBDocumentClient.from(dynamo, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const destroy = () => {
    sqs.destroy();
    doc.destroy();
  };
  try {
    let retryUrl = options.retryQueueUrl ?? (local ? env.RETRY_QUEUE_URL : undefined);
    let dlqUrl = options.dlqUrl ?? (local ? env.DLQ_URL : undefined);
    let tableName = options.table ?? (local ? env.LEDGER_TABLE_NAME : undefined);
    let retryArn: string | undefined;
    let dlqArn: string | undefined;
    let genesysSecretArn: string | undefined = env.GENESYS_SECRET_ARN;
    const extra = new Set(env.EXTRA_CREDENTIAL_HEADERS);
    let where: string;
    const complete = retryUrl !== undefined && dlqUrl !== undefined && tableName !== undefined;
    if (local) {
      const names = deriveSettings(pipelineSettingsSchema.parse({})).names;
      const hint = ': is local mode running (npm start)?';
      retryUrl ??= await queueUrlByName(sqs, names.retryQueue, hint);
      dlqUrl ??= await queueUrlByName(sqs, names.dlq, hint);
      tableName ??= names.ledgerTable;
      // Prove the DynamoDB endpoint too before any work starts, so a wrong one is named up front.
      await dynamo.send(new DescribeTableCommand({ TableName: tableName })).catch((error: unknown) => {
        if (error instanceof Error && error.name === 'ResourceNotFoundException') {
          throw new OperatorError(
            `table ${tableName} not found on the DynamoDB endpoint ${String(dynamoConfig.endpoint)}${hint}`,
          );
        }
        throw error;
      });
      where = `local mode (SQS ${String(sqsConfig.endpoint)}, DynamoDB ${String(dynamoConfig.endpoint)})`;
    } else if (!complete) {
      const stackName = options.stack ?? DEFAULT_STACK_NAME;
      const outputs = await stackOutputs(stackName, options.region);
      retryUrl ??= required(outputs, 'RetryQueueUrl', stackName);
      dlqUrl ??= required(outputs, 'DeadLetterQueueUrl', stackName);
      tableName ??= required(outputs, 'LedgerTableName', stackName);
      retryArn = options.retryQueueUrl ? undefined : outputs.RetryQueueArn;
      dlqArn = options.dlqUrl ? undefined : outputs.DeadLetterQueueArn;
      genesysSecretArn ??= outputs.GenesysSecretArn;
      for (const name of extraCredentialHeadersFromOutput(outputs.ExtraCredentialHeaders)) extra.add(name);
      where = `stack ${stackName}`;
    } else {
      where = 'the queues and table given';
    }
    if (retryUrl === undefined || dlqUrl === undefined || tableName === undefined) {
      throw new OperatorError('could not work out the queue URLs and the ledger table name');
    }
    const resolvedRegion = local ? LOCAL_CLIENT.region : await sqs.config.region();
    return {
      sqs,
      doc,
      retryQueue: { url: retryUrl, arn: retryArn ?? (await queueArn(sqs, retryUrl)) },
      dlq: { url: dlqUrl, arn: dlqArn ?? (await queueArn(sqs, dlqUrl)) },
      tableName,
      extraCredentialHeaders: [...extra],
      ...(genesysSecretArn !== undefined && !local ? { genesysSecretArn } : {}),
      local,
      region: resolvedRegion,
      where: local ? where : `${where} in ${resolvedRegion}`,
      destroy,
    };
  } catch (error) {
    destroy();
    throw error;
  }
}

/** Where an AWS call went, attached to its error so that the CLI can name the endpoint at fault. */
export interface EndpointTag {
  readonly cliService: string;
  readonly cliEndpoint?: string;
  readonly cliLocal: boolean;
}

/** Tags every error of a client's calls with its service and endpoint (see describeError). */
function tagErrors(
  client: SQSClient | DynamoDBClient,
  service: string,
  endpoint: string | undefined,
  local: boolean,
): void {
  const tag: EndpointTag = {
    cliService: service,
    cliLocal: local,
    ...(endpoint ? { cliEndpoint: endpoint } : {}),
  };
  (client as SQSClient).middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (error instanceof Error) Object.assign(error, tag);
        throw error;
      }
    },
    { step: 'initialize', name: 'cliEndpointTag' },
  );
}

/** A stack's CloudFormation outputs by key; a missing stack is an OperatorError naming the region. */
export async function stackOutputs(
  stackName: string,
  region: string | undefined,
): Promise<Record<string, string>> {
  const cfn = new CloudFormationClient(region ? { region } : {});
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack) throw new OperatorError(`stack ${stackName} not found`);
    const outputs: Record<string, string> = {};
    for (const o of stack.Outputs ?? [])
      if (o.OutputKey && o.OutputValue) outputs[o.OutputKey] = o.OutputValue;
    return outputs;
  } catch (error) {
    if (error instanceof Error && /does not exist/i.test(error.message)) {
      const where = await cfn.config.region().catch(() => 'the current region');
      throw new OperatorError(
        `stack ${stackName} not found in ${where} (pass --stack NAME or --region, or --local for local mode)`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    cfn.destroy();
  }
}

function required(outputs: Record<string, string>, key: string, stackName: string): string {
  const value = outputs[key];
  if (value === undefined) {
    throw new OperatorError(
      `stack ${stackName} has no ${key} output: is it a genesys-webhook-recovery stack?`,
    );
  }
  return value;
}

async function queueUrlByName(sqs: SQSClient, name: string, hint = ''): Promise<string> {
  try {
    const out = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (out.QueueUrl) return out.QueueUrl;
  } catch (error) {
    if (!isQueueMissing(error)) throw error;
  }
  throw new OperatorError(`queue ${name} not found${hint}`);
}

/** The queue's ARN; also proves the queue exists before a command starts work on it. */
export async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  try {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    const arn = out.Attributes?.QueueArn;
    if (arn) return arn;
  } catch (error) {
    if (!isQueueMissing(error)) throw error;
  }
  throw new OperatorError(`queue ${url} does not exist`);
}

/** True for SQS's "no such queue" error, in either of its protocol spellings. */
export function isQueueMissing(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'QueueDoesNotExist' ||
      error.name === 'AWS.SimpleQueueService.NonExistentQueue' ||
      /NonExistentQueue|QueueDoesNotExist/.test(error.name))
  );
}

/** Resolves `--to`: a queue URL, ARN or name in the same account and region. */
export async function resolveQueueRef(sqs: SQSClient, ref: string): Promise<QueueRef> {
  if (ref.startsWith('arn:')) {
    const [, , , , account, name] = ref.split(':');
    if (!name) throw new OperatorError(`${ref} is not a queue ARN`);
    const out = await sqs
      .send(
        new GetQueueUrlCommand({ QueueName: name, ...(account ? { QueueOwnerAWSAccountId: account } : {}) }),
      )
      .catch((error: unknown) => {
        if (isQueueMissing(error)) throw new OperatorError(`queue ${ref} does not exist`, { cause: error });
        throw error;
      });
    return { url: out.QueueUrl ?? '', arn: ref };
  }
  const url = /^https?:\/\//.test(ref) ? ref : await queueUrlByName(sqs, ref);
  return { url, arn: await queueArn(sqs, url) };
}

import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { buildApp } from 'fauxqs';
import { SqsEventSource } from '../../local/sqs-event-source';
import { FunctionPool, FunctionProcess, type InvocationResult } from './function-process';
import { type Caller, type IamProxy, type PolicyDocument, startIamProxy } from './iam-proxy';
import { type PhysicalResource, type Pseudo, physicalResources, resolveIntrinsics } from './intrinsics';
import { type RuleDelivery, ruleDelivery } from './rule-delivery';
import { type SecretsStandIn, startSecretsStandIn } from './secrets-stand-in';
import {
  type CfnResource,
  type CfnTemplate,
  DEPLOYED_ACCOUNT,
  DEPLOYED_REGION,
  type DeployedSynth,
  synthDeployed,
} from './synth-deployed';

/** fauxqs's own account, in the ARNs it makes (and so in a RedrivePolicy it can follow). */
const FAUXQS_ACCOUNT = '000000000000';
const ADMIN = { region: DEPLOYED_REGION, credentials: { accessKeyId: 'admin', secretAccessKey: 'admin' } };

export interface DeployedStackOptions {
  /** CDK context for the synth (settings, sources). */
  readonly context: Readonly<Record<string, unknown>>;
  /**
   * Execution environments per function, by the start of its logical id; Lambda runs one per concurrent
   * invocation. @default 1
   */
  readonly instances?: Readonly<Record<string, number>>;
  /**
   * Variables that differ from the template's because the outside world is local: where Genesys Cloud is, and
   * that targets may be on loopback. Nothing else about a function's environment is changed.
   */
  readonly outsideWorld: Readonly<Record<string, string>>;
  /** Origins in the template (route URLs) and the local servers that stand for them, as DNS would. */
  readonly hostMap?: Readonly<Record<string, string>>;
  /** Changes the template before the layer reads it (to show what a missing grant does). */
  readonly editTemplate?: (template: CfnTemplate) => void;
}

/** The stack as deployed, on this machine. */
export interface DeployedStack {
  readonly synth: DeployedSynth;
  readonly resources: Readonly<Record<string, PhysicalResource>>;
  readonly proxy: IamProxy;
  readonly secrets: SecretsStandIn;
  /** Clients straight to the emulators, for the test's own look (no IAM: the test is the operator). */
  readonly sqs: SQSClient;
  readonly doc: DynamoDBDocumentClient;
  readonly rules: RuleDelivery;
  /** The logical id of the one resource of `type` whose id starts with `prefix`. */
  logicalId(type: string, prefix: string): string;
  /** The URL of the queue whose logical id starts with `prefix`, for the test's own client. */
  queueUrl(prefix: string): string;
  /** Invokes the function whose logical id starts with `prefix` asynchronously, as Lambda's Invoke API does. */
  invokeAsync(prefix: string, event: unknown): Promise<InvocationResult>;
  /** Runs every schedule's target once, as EventBridge Scheduler does at each tick. */
  tick(): Promise<InvocationResult[]>;
  /** Every function's output, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Synthesises the stack and runs it the way AWS would: each function's deployed file in its own processes with
 * the template's environment, every AWS call through the IAM proxy under the function's role, the retry queue's
 * event source mapping receiving and deleting with that role, the schedule and the rules invoking as their
 * templates say (asynchronously, with the function's EventInvokeConfig retries and on-failure destination).
 */
export async function startDeployedStack(options: DeployedStackOptions): Promise<DeployedStack> {
  const t0 = Date.now();
  const timing = (what: string) => {
    if (process.env.DEPLOYED_TIMING) process.stderr.write(`deployed: ${what} at ${Date.now() - t0} ms\n`);
  };
  const synth = synthDeployed(options.context);
  timing('synth');
  options.editTemplate?.(synth.template);
  const { template } = synth;
  const pseudo: Pseudo = { account: DEPLOYED_ACCOUNT, region: DEPLOYED_REGION, stackName: synth.stackName };
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stoppers.reverse()) await s().catch(() => undefined);
  };
  try {
    const fauxqs = buildApp({ logger: false, host: '127.0.0.1' });
    const fauxqsUrl = await fauxqs.listen({ port: 0, host: '127.0.0.1' });
    stoppers.push(() => fauxqs.close());
    const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
    stoppers.push(
      () =>
        new Promise<void>((resolve) => {
          dynamo.close(() => resolve());
          dynamo.closeAllConnections();
        }),
    );
    const dynamoUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
    const secrets = await startSecretsStandIn();
    stoppers.push(() => secrets.stop());

    // ARNs do not depend on where the endpoint is; queue URLs do, so they are computed again once it listens.
    const arns = physicalResources(template, pseudo, 'http://pending');
    const resolveWith = (r: Record<string, PhysicalResource>) => (v: unknown) =>
      resolveIntrinsics(v, r, pseudo);
    const callers = rolesOf(template, arns, resolveWith(arns));
    const proxy = await startIamProxy({
      account: pseudo.account,
      region: pseudo.region,
      upstreams: { sqs: fauxqsUrl, dynamodb: dynamoUrl, secretsmanager: secrets.url },
      callers,
      resourcePolicies: queuePolicies(template, resolveWith(arns)),
      secretArn: (id) => secrets.arnOf(id),
      emulatorAccount: FAUXQS_ACCOUNT,
    });
    stoppers.push(() => proxy.stop());
    const resources = physicalResources(template, pseudo, proxy.url);
    const resolve = resolveWith(resources);

    const sqs = new SQSClient({ ...ADMIN, endpoint: fauxqsUrl });
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ ...ADMIN, endpoint: dynamoUrl }));
    stoppers.push(async () => {
      sqs.destroy();
      doc.destroy();
    });
    await createResources(template, resources, resolve, { sqs, doc, secrets });
    timing('resources');

    const callerOfRole = new Map(callers.map((c) => [c.roleArn, c]));
    const pools = new Map<string, FunctionPool>();
    for (const fn of synth.functions) {
      const p = template.Resources[fn.logicalId]?.Properties ?? {};
      const roleArn = String(resolve(p.Role));
      const caller = callerOfRole.get(roleArn);
      if (!caller) throw new Error(`${fn.logicalId}: its role ${roleArn} is not in the template`);
      const variables = resolve(
        (p.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
      ) as Record<string, string>;
      const name = resources[fn.logicalId]?.ref ?? fn.logicalId;
      const logGroup = String(
        resolve((p.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup ?? name),
      );
      const count =
        Object.entries(options.instances ?? {}).find(([prefix]) => fn.logicalId.startsWith(prefix))?.[1] ?? 1;
      const processes = Array.from(
        { length: count },
        (_, i) =>
          new FunctionProcess({
            name: `${fn.logicalId}#${i}`,
            assetDir: fn.assetDir,
            entryFile: fn.entryFile,
            handler: fn.handler,
            timeoutSeconds: Number(p.Timeout ?? 3),
            environment: {
              // What the Lambda runtime sets (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
              AWS_REGION: pseudo.region,
              AWS_DEFAULT_REGION: pseudo.region,
              AWS_LAMBDA_FUNCTION_NAME: name,
              AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
              AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(p.MemorySize ?? 128),
              AWS_LAMBDA_LOG_GROUP_NAME: logGroup,
              AWS_LAMBDA_LOG_STREAM_NAME: `instance-${i}`,
              AWS_LAMBDA_LOG_FORMAT: String(
                (p.LoggingConfig as { LogFormat?: string } | undefined)?.LogFormat ?? 'Text',
              ),
              AWS_EXECUTION_ENV: `AWS_Lambda_${String(p.Runtime)}`,
              LAMBDA_LAYER_FUNCTION_ARN: resources[fn.logicalId]?.attributes.Arn ?? '',
              TZ: ':UTC',
              // The role's credentials, as Lambda puts them in the environment; the key id names the caller.
              AWS_ACCESS_KEY_ID: caller.accessKeyId,
              AWS_SECRET_ACCESS_KEY: 'deployed-layer-secret',
              AWS_SESSION_TOKEN: `session-of-${caller.name}`,
              // Every AWS call goes through the proxy.
              AWS_ENDPOINT_URL_SQS: proxy.url,
              AWS_ENDPOINT_URL_DYNAMODB: proxy.url,
              AWS_ENDPOINT_URL_SECRETS_MANAGER: proxy.url,
              AWS_ENDPOINT_URL: proxy.url,
              ...variables,
              ...options.outsideWorld,
            },
          }),
      );
      await Promise.all(processes.map((proc) => proc.start()));
      timing(`${fn.logicalId} ready`);
      const pool = new FunctionPool(processes);
      pools.set(fn.logicalId, pool);
      stoppers.push(() => pool.stop());
    }
    const poolOf = (functionRef: unknown): [string, FunctionPool] => {
      const value = String(resolve(functionRef));
      const id = synth.functions.find(
        (f) => resources[f.logicalId]?.ref === value || resources[f.logicalId]?.attributes.Arn === value,
      )?.logicalId;
      const pool = id ? pools.get(id) : undefined;
      if (!id || !pool) throw new Error(`no function ${value} in the template`);
      return [id, pool];
    };
    const callerOf = (functionId: string): Caller => {
      const roleArn = String(resolve(template.Resources[functionId]?.Properties?.Role));
      const caller = callerOfRole.get(roleArn);
      if (!caller) throw new Error(`no role for ${functionId}`);
      return caller;
    };
    const clientAs = (caller: Caller) =>
      new SQSClient({
        region: pseudo.region,
        endpoint: proxy.url,
        credentials: { accessKeyId: caller.accessKeyId, secretAccessKey: 'deployed-layer-secret' },
      });

    // Lambda's asynchronous invocation: retried MaximumRetryAttempts times (after a minute, then two; at once
    // here), then the record goes to the on-failure destination, sent with the function's execution role.
    const invokeAsync = async (functionRef: unknown, event: unknown): Promise<InvocationResult> => {
      const [id, pool] = poolOf(functionRef);
      const config = Object.values(template.Resources).find(
        (r) => r.Type === 'AWS::Lambda::EventInvokeConfig' && poolOf(r.Properties?.FunctionName)[0] === id,
      )?.Properties;
      const retries = Number(config?.MaximumRetryAttempts ?? 2);
      let result: InvocationResult = await pool.invoke(event);
      for (let i = 0; i < retries && !result.ok; i += 1) result = await pool.invoke(event);
      const destination = (config?.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)
        ?.OnFailure?.Destination;
      if (!result.ok && destination !== undefined) {
        const arn = String(resolve(destination));
        const queue = Object.entries(resources).find(([, r]) => r.attributes.Arn === arn)?.[1];
        const client = clientAs(callerOf(id));
        try {
          await client.send(
            new SendMessageCommand({
              QueueUrl: queue?.ref ?? arn,
              MessageBody: JSON.stringify({ requestPayload: event, responsePayload: result.error }),
            }),
          );
        } finally {
          client.destroy();
        }
      }
      return result;
    };

    for (const [id, mapping] of Object.entries(template.Resources)) {
      if (mapping.Type !== 'AWS::Lambda::EventSourceMapping') continue;
      const p = mapping.Properties ?? {};
      const [functionId, pool] = poolOf(p.FunctionName);
      const queueArn = String(resolve(p.EventSourceArn));
      const queue = Object.values(resources).find((r) => r.attributes.Arn === queueArn);
      if (!queue) throw new Error(`${id}: no queue ${queueArn}`);
      const reportsFailures = ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes(
        'ReportBatchItemFailures',
      );
      const client = clientAs(callerOf(functionId));
      const maximum = Number(
        (p.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency ?? 1000,
      );
      const source = new SqsEventSource({
        sqs: client,
        queueUrl: queue.ref,
        queueArn,
        batchSize: Number(p.BatchSize ?? 10),
        // One poller per execution environment, never more than the mapping's MaximumConcurrency.
        concurrency: Math.min(maximum, pool.processes.length),
        functionTimeoutSeconds: Number(template.Resources[functionId]?.Properties?.Timeout ?? 3),
        waitTimeSeconds: 1,
        handler: async (event) => {
          const result = await pool.invoke(event);
          if (!result.ok) throw new Error(`${result.error.errorType}: ${result.error.errorMessage}`);
          // Without ReportBatchItemFailures, Lambda ignores the response: the whole batch succeeded.
          return reportsFailures
            ? (result.result as { batchItemFailures: { itemIdentifier: string }[] })
            : undefined;
        },
      });
      // Lambda reads the queue's attributes with the function's role when the mapping is created and as it
      // polls: the role needs sqs:GetQueueAttributes besides ReceiveMessage and DeleteMessage.
      // https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
      await client.send(new GetQueueAttributesCommand({ QueueUrl: queue.ref, AttributeNames: ['All'] }));
      source.start();
      stoppers.push(async () => {
        await source.stop();
        client.destroy();
      });
    }

    const rules = ruleDelivery({
      template,
      resources,
      resolve,
      hostMap: options.hostMap ?? {},
      proxy,
      invokeAsync,
    });

    const schedules = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::Scheduler::Schedule',
    );
    const roleName = (arn: string) => callerOfRole.get(arn)?.name ?? arn;
    return {
      synth,
      resources,
      proxy,
      secrets,
      sqs,
      doc,
      rules,
      logicalId: (type, prefix) => logicalIdOf(template, type, prefix),
      invokeAsync: (prefix, event) =>
        invokeAsync({ Ref: logicalIdOf(template, 'AWS::Lambda::Function', prefix) }, event),
      queueUrl: (prefix) => resources[logicalIdOf(template, 'AWS::SQS::Queue', prefix)]?.ref ?? '',
      async tick() {
        const results: InvocationResult[] = [];
        for (const [, schedule] of schedules) {
          const target = schedule.Properties?.Target as { Arn: unknown; RoleArn: unknown; Input?: string };
          const functionArn = String(resolve(target.Arn));
          // Scheduler assumes the target's role and calls lambda:InvokeFunction with it.
          const allowed = await proxy.authorize(
            roleName(String(resolve(target.RoleArn))),
            'lambda:InvokeFunction',
            functionArn,
            {},
            'Invoke',
          );
          if (!allowed) {
            results.push({
              ok: false,
              error: { errorType: 'AccessDenied', errorMessage: `Scheduler may not invoke ${functionArn}` },
            });
            continue;
          }
          // Without an Input, Scheduler sends an empty JSON object to a templated target.
          results.push(await invokeAsync(target.Arn, JSON.parse(target.Input ?? '{}')));
        }
        return results;
      },
      output: () =>
        [...pools.entries()].map(([id, pool]) => `--- ${id}\n${pool.output().join('\n')}`).join('\n'),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Every role of the template as a caller: its AWS::IAM::Policy documents and inline policies, resolved. */
function rolesOf(
  template: CfnTemplate,
  resources: Readonly<Record<string, PhysicalResource>>,
  resolve: (v: unknown) => unknown,
): Caller[] {
  const roles = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
  return roles.map(([id, role], i) => {
    if (role.Properties?.ManagedPolicyArns !== undefined) {
      throw new Error(`${id} has managed policies, which the layer does not read`);
    }
    const inline = ((role.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []).map(
      (p) => p.PolicyDocument,
    );
    const attached = Object.values(template.Resources)
      .filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' &&
          ((r.Properties?.Roles as unknown[] | undefined) ?? []).some(
            (ref) => (ref as { Ref?: string }).Ref === id,
          ),
      )
      .map((r) => r.Properties?.PolicyDocument);
    return {
      name: id,
      accessKeyId: `ASIADEPLOYED${String(i).padStart(8, '0')}`,
      roleArn: resources[id]?.attributes.Arn ?? id,
      policies: [...inline, ...attached].map((d) => resolve(d) as PolicyDocument),
    };
  });
}

/** Each queue's AWS::SQS::QueuePolicy, by queue ARN. */
function queuePolicies(
  template: CfnTemplate,
  resolve: (v: unknown) => unknown,
): Record<string, PolicyDocument> {
  const out: Record<string, PolicyDocument> = {};
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::SQS::QueuePolicy') continue;
    const document = resolve(r.Properties?.PolicyDocument) as PolicyDocument;
    for (const queue of (r.Properties?.Queues as unknown[]) ?? []) {
      const id = (queue as { Ref?: string }).Ref ?? '';
      const arn = resolve({ 'Fn::GetAtt': [id, 'Arn'] }) as string;
      out[arn] = document;
    }
  }
  return out;
}

/** Creates the queues (dead-letter queues first), tables and secrets with the template's properties. */
async function createResources(
  template: CfnTemplate,
  resources: Readonly<Record<string, PhysicalResource>>,
  resolve: (v: unknown) => unknown,
  clients: { sqs: SQSClient; doc: DynamoDBDocumentClient; secrets: SecretsStandIn },
): Promise<void> {
  const all = Object.entries(template.Resources);
  const queues = all
    .filter(([, r]) => r.Type === 'AWS::SQS::Queue')
    .sort(
      ([, a], [, b]) =>
        Number(a.Properties?.RedrivePolicy !== undefined) - Number(b.Properties?.RedrivePolicy !== undefined),
    );
  for (const [id, queue] of queues) {
    const p = resolve(queue.Properties ?? {}) as Record<string, unknown>;
    const attributes: Record<string, string> = {};
    for (const key of [
      'VisibilityTimeout',
      'MessageRetentionPeriod',
      'MaximumMessageSize',
      'DelaySeconds',
      'ReceiveMessageWaitTimeSeconds',
    ]) {
      if (p[key] !== undefined) attributes[key] = String(p[key]);
    }
    if (p.RedrivePolicy !== undefined) {
      const redrive = p.RedrivePolicy as { deadLetterTargetArn: string; maxReceiveCount: number };
      attributes.RedrivePolicy = JSON.stringify({
        ...redrive,
        deadLetterTargetArn: redrive.deadLetterTargetArn.replace(
          `:${DEPLOYED_ACCOUNT}:`,
          `:${FAUXQS_ACCOUNT}:`,
        ),
      });
    }
    await clients.sqs.send(
      new CreateQueueCommand({ QueueName: resources[id]?.attributes.QueueName, Attributes: attributes }),
    );
  }
  for (const [id, table] of all.filter(([, r]) => r.Type === 'AWS::DynamoDB::Table')) {
    const p = table.Properties ?? {};
    await clients.doc.send(
      new CreateTableCommand({
        TableName: resources[id]?.ref,
        KeySchema: p.KeySchema as never,
        AttributeDefinitions: p.AttributeDefinitions as never,
        BillingMode: (p.BillingMode as 'PAY_PER_REQUEST' | undefined) ?? 'PROVISIONED',
        ...(p.BillingMode === 'PAY_PER_REQUEST'
          ? {}
          : { ProvisionedThroughput: p.ProvisionedThroughput as never }),
      }),
    );
  }
  for (const [id, secret] of all.filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret')) {
    const name = String(secret.Properties?.Name ?? id);
    clients.secrets.create(resources[id]?.ref ?? id, name, secret.Properties ?? {});
  }
}

function logicalIdOf(template: CfnTemplate, type: string, prefix: string): string {
  const ids = Object.entries(template.Resources)
    .filter(([id, r]: [string, CfnResource]) => r.Type === type && id.startsWith(prefix))
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0] as string;
}

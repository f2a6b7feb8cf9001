import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { buildApp } from 'fauxqs';
import { FunctionPool, FunctionProcess, type InvocationResult } from './function-process';
import { type IamProxy, startIamProxy } from './iam-proxy';
import { type PhysicalResource, type Pseudo, physicalResources, resolveIntrinsics } from './intrinsics';
import { LambdaService } from './lambda-service';
import { type RuleDelivery, ruleDelivery } from './rule-delivery';
import { type SecretsStandIn, startSecretsStandIn } from './secrets-stand-in';
import {
  type CfnTemplate,
  DEPLOYED_ACCOUNT,
  DEPLOYED_REGION,
  type DeployedSynth,
  synthDeployed,
} from './synth-deployed';
import { createResources, FAUXQS_ACCOUNT, logicalIdOf, queuePolicies, rolesOf } from './template-resources';

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
    const lambda = new LambdaService({
      template,
      resources,
      resolve,
      pools,
      callerOfRole,
      endpoint: proxy.url,
      region: pseudo.region,
    });
    stoppers.push(await lambda.startEventSourceMappings());
    const invokeAsync = (functionRef: unknown, event: unknown) => lambda.invokeAsync(functionRef, event);

    const rules = ruleDelivery({
      template,
      resources,
      resolve,
      hostMap: options.hostMap ?? {},
      proxy,
      sqs,
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

import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SqsEventSource } from '../../local/sqs-event-source';
import type { FunctionPool, InvocationResult } from './function-process';
import type { Caller } from './iam-proxy';
import type { PhysicalResource } from './intrinsics';
import type { CfnTemplate } from './synth-deployed';

export interface LambdaServiceOptions {
  readonly template: CfnTemplate;
  readonly resources: Readonly<Record<string, PhysicalResource>>;
  readonly resolve: (value: unknown) => unknown;
  /** Each function's execution environments, by logical id. */
  readonly pools: ReadonlyMap<string, FunctionPool>;
  readonly callerOfRole: ReadonlyMap<string, Caller>;
  /** The IAM proxy, where the service's own calls with a function's role go. */
  readonly endpoint: string;
  readonly region: string;
}

/**
 * What the Lambda service does around the functions, with each function's execution role: asynchronous
 * invocations with their EventInvokeConfig (retries, on-failure destination), and the SQS event source mappings
 * (receive, invoke with a batch, delete what did not fail).
 */
export class LambdaService {
  constructor(private readonly options: LambdaServiceOptions) {}

  /** The logical id and pool of the function a Ref, a name or an ARN names. */
  poolOf(functionRef: unknown): [string, FunctionPool] {
    const { resolve, resources, pools } = this.options;
    const value = String(resolve(functionRef));
    const id = [...pools.keys()].find(
      (f) => resources[f]?.ref === value || resources[f]?.attributes.Arn === value,
    );
    const pool = id ? pools.get(id) : undefined;
    if (!id || !pool) throw new Error(`no function ${value} in the template`);
    return [id, pool];
  }

  private callerOf(functionId: string): Caller {
    const roleArn = String(
      this.options.resolve(this.options.template.Resources[functionId]?.Properties?.Role),
    );
    const caller = this.options.callerOfRole.get(roleArn);
    if (!caller) throw new Error(`no role for ${functionId}`);
    return caller;
  }

  private clientAs(caller: Caller): SQSClient {
    return new SQSClient({
      region: this.options.region,
      endpoint: this.options.endpoint,
      credentials: { accessKeyId: caller.accessKeyId, secretAccessKey: 'deployed-layer-secret' },
    });
  }

  // Lambda's asynchronous invocation: retried MaximumRetryAttempts times (after a minute, then two; at once
  // here), then the record goes to the on-failure destination, sent with the function's execution role.
  async invokeAsync(functionRef: unknown, event: unknown): Promise<InvocationResult> {
    const { template, resources, resolve } = this.options;
    const [id, pool] = this.poolOf(functionRef);
    const config = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::Lambda::EventInvokeConfig' && this.poolOf(r.Properties?.FunctionName)[0] === id,
    )?.Properties;
    const retries = Number(config?.MaximumRetryAttempts ?? 2);
    let result: InvocationResult = await pool.invoke(event);
    for (let i = 0; i < retries && !result.ok; i += 1) result = await pool.invoke(event);
    const destination = (config?.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)
      ?.OnFailure?.Destination;
    if (!result.ok && destination !== undefined) {
      const arn = String(resolve(destination));
      const queue = Object.entries(resources).find(([, r]) => r.attributes.Arn === arn)?.[1];
      const client = this.clientAs(this.callerOf(id));
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
  }

  /** Starts every AWS::Lambda::EventSourceMapping of the template; resolves to what stops them. */
  async startEventSourceMappings(): Promise<() => Promise<void>> {
    const { template, resources, resolve } = this.options;
    const stops: (() => Promise<void>)[] = [];
    for (const [id, mapping] of Object.entries(template.Resources)) {
      if (mapping.Type !== 'AWS::Lambda::EventSourceMapping') continue;
      const p = mapping.Properties ?? {};
      const [functionId, pool] = this.poolOf(p.FunctionName);
      const queueArn = String(resolve(p.EventSourceArn));
      const queue = Object.values(resources).find((r) => r.attributes.Arn === queueArn);
      if (!queue) throw new Error(`${id}: no queue ${queueArn}`);
      const reportsFailures = ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes(
        'ReportBatchItemFailures',
      );
      const client = this.clientAs(this.callerOf(functionId));
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
      stops.push(async () => {
        await source.stop();
        client.destroy();
      });
    }
    return async () => {
      await Promise.all(stops.map((stop) => stop()));
    };
  }
}

import { Logger } from '@aws-lambda-powertools/logger';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { createTargetGate, createWebhookSender } from '../../lambdas/redeliverer/create-webhook-sender';
import type { RedeliveryOutcome } from '../../lambdas/redeliverer/redeliver';
import { redelivererHandler } from '../../lambdas/redeliverer/redeliverer-handler';
import { DynamoDbLedger } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { DynamoDbTargetStateStore } from '../../lambdas/shared/adapters/dynamodb-target-state';
import { SqsRetryQueue } from '../../lambdas/shared/adapters/sqs-retry-queue';
import { type RetryMessage, toQueueBody } from '../../lambdas/shared/domain/retry-message';
import type { PipelineSettings } from '../../lambdas/shared/settings';
import { lambdaContext } from '../../local/lambda-context';
import type { LocalAws } from '../../local/local-aws';
import { toRecord } from '../../local/sqs-event-source';

/**
 * One warm Lambda instance of the redeliverer, as the stack builds it: its own ledger and queue clients, its own
 * target gate and sender, nothing shared with another instance but fauxqs and dynalite.
 */
export interface RedelivererInstance {
  readonly name: string;
  readonly outcomes: RedeliveryOutcome[];
  /** Runs one invocation on these messages; deletes those it did not report failed, as the event source does. */
  invoke(messages: readonly Message[]): Promise<void>;
}

export function redelivererInstance(
  aws: LocalAws,
  settings: PipelineSettings,
  name: string,
  options: { doc?: DynamoDBDocumentClient; outcomes?: RedeliveryOutcome[] } = {},
): RedelivererInstance {
  const outcomes = options.outcomes ?? [];
  const handler = redelivererHandler({
    sender: createWebhookSender(settings),
    // Its own gate, as a Lambda instance has; the holds it learns are shared through the table. The gate's calls go
    // past `options.doc`, which tests wrap to count or throttle the event lifecycle's own calls.
    gate: createTargetGate(
      settings,
      new DynamoDbTargetStateStore({ tableName: aws.tableName, client: aws.doc }),
    ),
    queue: new SqsRetryQueue({ queueUrl: aws.retryQueueUrl, client: aws.sqs }),
    ledger: new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 1, client: options.doc ?? aws.doc }),
    settings,
    random: Math.random,
    now: () => new Date(),
    logger: new Logger({ serviceName: name, logLevel: 'SILENT' }),
    onOutcome: (o) => outcomes.push(o),
  });
  return {
    name,
    outcomes,
    async invoke(messages) {
      if (messages.length === 0) return;
      const event: SQSEvent = { Records: messages.map((m) => toRecord(m, aws.retryQueueArn)) };
      const answer = await handler(event, lambdaContext(name, 60));
      const failed = new Set((answer?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      for (const m of messages) {
        if (failed.has(m.MessageId ?? '')) continue;
        await aws.sqs.send(
          new DeleteMessageCommand({ QueueUrl: aws.retryQueueUrl, ReceiptHandle: m.ReceiptHandle ?? '' }),
        );
      }
    },
  };
}

/** Receives up to `max` messages of the retry queue with the attributes Lambda's event source gives. */
export async function receive(aws: LocalAws, max = 10, waitSeconds = 1): Promise<Message[]> {
  const out = await aws.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: aws.retryQueueUrl,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: waitSeconds,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

/** Sends a copy of `message` to the retry queue, as the poller (or an SDK retry of its send) does. */
export async function sendCopy(aws: LocalAws, message: RetryMessage, delaySeconds = 0): Promise<void> {
  await aws.sqs.send(
    new SendMessageCommand({
      QueueUrl: aws.retryQueueUrl,
      MessageBody: toQueueBody(message),
      DelaySeconds: delaySeconds,
    }),
  );
}

/**
 * Runs instances in turn, one invocation each per round, like Lambda spreading batches over instances, until
 * `done` holds or `timeoutMs` passes.
 */
export async function runUntil(
  aws: LocalAws,
  instances: readonly RedelivererInstance[],
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  batchSize = 10,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let turn = 0;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`not settled after ${timeoutMs} ms`);
    const instance = instances[turn++ % instances.length];
    await instance?.invoke(await receive(aws, batchSize, 1));
  }
}

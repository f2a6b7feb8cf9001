import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { MAX_DELAY_SECONDS } from '../domain/backoff';
import { type RetryMessage, toQueueBody } from '../domain/retry-message';
import type { EnqueueFailure, RetryQueue } from '../ports';

/** The SQS client is injected or configured, never both. */
type ClientOption =
  | { client: SQSClient; clientConfig?: never }
  | { clientConfig?: SQSClientConfig; client?: never };

export type SqsRetryQueueOptions = { readonly queueUrl: string } & ClientOption;

/** SendMessageBatch takes at most 10 entries and 1 MiB in all. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 1_048_576;

/** Error codes meaning the message itself is unacceptable, so sending it again cannot help. */
const PERMANENT_CODES = new Set(['InvalidMessageContents', 'MessageTooLong', 'InvalidParameterValue']);

/**
 * The retry queue on SQS: batches of 10 (fewer when the bytes would pass the batch limit), and visibility
 * changes for backoff. Delivery ids are never message attributes: the body carries everything.
 */
export class SqsRetryQueue implements RetryQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(options: SqsRetryQueueOptions) {
    this.#client = options.client ?? new SQSClient(options.clientConfig ?? {});
    this.#queueUrl = options.queueUrl;
  }

  async enqueue(messages: readonly RetryMessage[]): Promise<readonly EnqueueFailure[]> {
    const failures: EnqueueFailure[] = [];
    const sends: Promise<void>[] = [];
    for (const batch of batches(messages)) sends.push(this.#sendBatch(batch, failures));
    await Promise.all(sends);
    return failures;
  }

  async #sendBatch(batch: readonly RetryMessage[], failures: EnqueueFailure[]): Promise<void> {
    const entries: SendMessageBatchRequestEntry[] = batch.map((m, i) => ({
      Id: String(i),
      MessageBody: toQueueBody(m),
    }));
    try {
      const out = await this.#client.send(
        new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: entries }),
      );
      for (const f of out.Failed ?? []) {
        const message = batch[Number(f.Id)];
        if (!message) continue;
        failures.push({
          eventKey: message.eventKey,
          reason: `SQS refused the message: ${f.Code ?? 'unknown'}${f.Message ? ` (${f.Message})` : ''}`,
          permanent: f.SenderFault === true && PERMANENT_CODES.has(f.Code ?? ''),
        });
      }
    } catch (error) {
      const reason = `SendMessageBatch failed: ${error instanceof Error ? error.message : String(error)}`;
      for (const m of batch) failures.push({ eventKey: m.eventKey, reason, permanent: false });
    }
  }

  async setVisibility(receiptHandle: string, seconds: number): Promise<void> {
    await this.#client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.#queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))),
      }),
    );
  }

  async requeue(body: string, delaySeconds: number): Promise<void> {
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: body,
        DelaySeconds: Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.round(delaySeconds))),
      }),
    );
  }
}

/** Splits messages into SendMessageBatch calls that respect both the entry and the byte limits. */
export function* batches(messages: readonly RetryMessage[]): Generator<RetryMessage[]> {
  let current: RetryMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = Buffer.byteLength(toQueueBody(m), 'utf8');
    if (current.length > 0 && (current.length === MAX_ENTRIES || bytes + size > MAX_BATCH_BYTES)) {
      yield current;
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) yield current;
}

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

export type SqsRetryQueueOptions = {
  readonly queueUrl: string;
  /**
   * The longest time that can pass between the receive of a message and a `setVisibility` call for it: SQS
   * refuses a visibility ending more than 12 hours after the receive, so a backoff is capped at 12 h minus this.
   * @default MAX_SECONDS_SINCE_RECEIVE - Lambda's longest timeout + longest batching window + a minute
   */
  readonly maxSecondsSinceReceive?: number;
} & ClientOption;

/** SQS keeps a received message invisible at most 12 hours from the receive; ChangeMessageVisibility past that fails. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * An upper bound on the time from the event source's receive to a visibility change by the redeliverer: the
 * event source may hold a message for its batching window (at most 300 s) and the function runs at most 900 s,
 * plus a minute of margin for clock and network.
 */
export const MAX_SECONDS_SINCE_RECEIVE = 300 + 900 + 60;

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
  readonly #maxVisibility: number;

  constructor(options: SqsRetryQueueOptions) {
    this.#client = options.client ?? new SQSClient(options.clientConfig ?? {});
    this.#queueUrl = options.queueUrl;
    const sinceReceive = options.maxSecondsSinceReceive ?? MAX_SECONDS_SINCE_RECEIVE;
    if (!Number.isFinite(sinceReceive) || sinceReceive < 0 || sinceReceive >= MAX_VISIBILITY_SECONDS) {
      throw new RangeError(
        `maxSecondsSinceReceive must be from 0 to under ${MAX_VISIBILITY_SECONDS} seconds (got ${sinceReceive})`,
      );
    }
    this.#maxVisibility = Math.floor(MAX_VISIBILITY_SECONDS - sinceReceive);
  }

  /** The longest visibility `setVisibility` asks SQS for; longer requests are shortened to it. */
  get maxVisibilitySeconds(): number {
    return this.#maxVisibility;
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

  /**
   * Makes a received message visible again after `seconds`. SQS counts its 12-hour limit from the receive, not
   * from this call: a backoff near 12 h would be refused and the message would come back after the queue's
   * default visibility instead. So the delay is capped at 12 h minus the time that can have passed since the
   * receive; the message then returns at most that margin (21 minutes by default) earlier than asked.
   */
  async setVisibility(receiptHandle: string, seconds: number): Promise<void> {
    await this.#client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.#queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(this.#maxVisibility, Math.round(seconds))),
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

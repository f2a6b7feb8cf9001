import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context';

export interface SqsEventSourceOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  /** Records per invocation, like the event source mapping's BatchSize. */
  readonly batchSize: number;
  /** Invocations at once, like the mapping's MaximumConcurrency. */
  readonly concurrency: number;
  readonly functionTimeoutSeconds: number;
  /**
   * Invoked with each batch. `instance` says which of the `concurrency` pollers took it, from 0: local mode runs one
   * handler (its own memory, its own target gate) per poller, as Lambda runs one instance per concurrent batch.
   */
  readonly handler: (
    event: SQSEvent,
    context: Context,
    instance: number,
  ) => Promise<SQSBatchResponse | undefined>;
  /** Long-poll wait; Lambda uses 20 s, shorter makes stopping quicker. */
  readonly waitTimeSeconds?: number;
  readonly onError?: (error: unknown) => void;
}

export interface EventSourceStats {
  invocations: number;
  records: number;
  deleted: number;
  failedRecords: number;
  handlerErrors: number;
}

/**
 * A local stand-in for Lambda's SQS event source mapping with ReportBatchItemFailures: long-polls the queue,
 * invokes the handler with a batch, deletes the records it did not report failed and leaves the rest to their
 * visibility timeout. A handler that throws leaves the whole batch, as Lambda does.
 */
export class SqsEventSource {
  readonly stats: EventSourceStats = {
    invocations: 0,
    records: 0,
    deleted: 0,
    failedRecords: 0,
    handlerErrors: 0,
  };
  readonly #options: SqsEventSourceOptions;
  readonly #abort = new AbortController();
  #workers: Promise<void>[] = [];

  constructor(options: SqsEventSourceOptions) {
    this.#options = options;
  }

  start(): void {
    for (let i = 0; i < this.#options.concurrency; i += 1) this.#workers.push(this.#work(i));
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#workers);
    this.#workers = [];
  }

  async #work(instance: number): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        const messages = await this.#receive(signal);
        if (messages.length > 0) await this.#invoke(messages, instance);
      } catch (error) {
        if (signal.aborted) return;
        this.#options.onError?.(error);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async #receive(signal: AbortSignal): Promise<Message[]> {
    const { sqs, queueUrl, batchSize } = this.#options;
    const messages: Message[] = [];
    // Lambda fills a batch from several receives; the first waits, the rest take what is already there.
    while (messages.length < batchSize && !signal.aborted) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, batchSize - messages.length),
          WaitTimeSeconds: messages.length === 0 ? (this.#options.waitTimeSeconds ?? 2) : 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: signal },
      );
      const got = out.Messages ?? [];
      messages.push(...got);
      if (got.length === 0) break;
    }
    return messages;
  }

  async #invoke(messages: Message[], instance: number): Promise<void> {
    const { sqs, queueUrl, queueArn, handler, functionTimeoutSeconds } = this.#options;
    const event: SQSEvent = { Records: messages.map((m) => toRecord(m, queueArn)) };
    this.stats.invocations += 1;
    this.stats.records += messages.length;
    let failed: Set<string>;
    try {
      const response = await handler(event, lambdaContext('redeliverer', functionTimeoutSeconds), instance);
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      this.stats.handlerErrors += 1;
      this.#options.onError?.(error);
      return;
    }
    this.stats.failedRecords += failed.size;
    const done = messages.filter((m) => m.MessageId && !failed.has(m.MessageId));
    for (let i = 0; i < done.length; i += 10) {
      const chunk = done.slice(i, i + 10);
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
      this.stats.deleted += chunk.length;
    }
  }
}

/** An SQS message as the event source mapping hands it to the handler. */
export function toRecord(m: Message, queueArn: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? '0',
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? '0',
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

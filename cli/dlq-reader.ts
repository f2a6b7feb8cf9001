import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { OperatorError } from '../lambdas/shared/errors';

/** One message as it sits on the DLQ. */
export interface RawDeadLetter {
  readonly messageId: string;
  readonly body: string;
  /** When it was first sent to the retry queue (SQS keeps that time when it dead-letters a message). */
  readonly sentAt?: string;
  /**
   * How many times it was received before this read: SQS's ApproximateReceiveCount less the one receive of
   * the read itself (earlier reads by this CLI count, as SQS cannot tell them apart).
   */
  readonly receiveCount?: number;
  /** The queue SQS moved it from (set by SQS's redrive policy only). */
  readonly sourceArn?: string;
}

export interface DlqReaderOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /**
   * How long each message stays hidden while the scan runs. Long enough to read the whole queue; if it is
   * nearly spent, the scan stops rather than see messages twice. @default 900
   */
  readonly visibilityTimeoutSeconds?: number;
  /** Long-poll wait of each receive; the scan ends on the first empty one. @default 1 */
  readonly waitTimeSeconds?: number;
  /** Messages per yielded chunk (one ledger BatchGetItem each). @default 100 */
  readonly chunkSize?: number;
  /** Ends the scan early (Ctrl-C): what was read is released, and the result says the scan was interrupted. */
  readonly signal?: AbortSignal;
  /** Told, in one line, about messages the scan could not make visible again and until when they stay hidden. */
  readonly warn?: (line: string) => void;
  /** The clock. @default () => new Date() */
  readonly now?: () => Date;
}

/** How a scan ended. */
export interface DlqScanResult {
  read: number;
  released: number;
  /** Why the scan stopped before the queue was empty of visible messages, if it did. */
  stoppedEarly?: string;
  /** Messages already hidden (in flight) when the scan began: the scan cannot see them. */
  hiddenAtStart: number;
}

/** The shortest and longest --visibility-timeout: a read must outlast itself, and SQS allows at most 12 h. */
export const VISIBILITY_LIMITS = { min: 60, max: 43_200 } as const;

/** DLQ reads running in this process: Ctrl-C waits for them to release what they hold. */
let activeReads = 0;

/** True while a DLQ read holds messages hidden. */
export function dlqReadInProgress(): boolean {
  return activeReads > 0;
}

/** SQS's limit of in-flight messages on a standard queue. */
export const SQS_INFLIGHT_LIMIT = 120_000;

/**
 * Reads every message of a DLQ without consuming it. Each receive hides what it returns (for the visibility
 * timeout), so the next receive returns new messages and the scan ends when nothing visible is left; at the end
 * every message is made visible again (visibility 0), in the order received, so nothing is consumed or reordered.
 *
 * Why hold every message until the end rather than release each chunk: a released message is visible again
 * and the scan would meet it again, with no way to tell when it has seen everything short of remembering every
 * message id. Holding costs one receipt handle per message, which is spooled to a temporary file, so memory
 * stays bounded however large the queue is; the price is that the messages are hidden from the console and
 * from a redrive while the scan runs, and that SQS allows at most 120,000 in-flight messages on a standard
 * queue, so a larger DLQ is read up to that limit and the result says so.
 */
export class DlqReader {
  readonly result: DlqScanResult = { read: 0, released: 0, hiddenAtStart: 0 };
  private readonly visibility: number;
  /** The visibility timeout each read message gets. */
  get visibilityTimeoutSeconds(): number {
    return this.visibility;
  }
  private readonly wait: number;
  private readonly chunkSize: number;

  constructor(private readonly options: DlqReaderOptions) {
    this.visibility = options.visibilityTimeoutSeconds ?? 900;
    // A visibility shorter than the read makes messages reappear during it, and the scan would meet the same
    // ones again and again (a 0 s timeout once listed 2 messages 2,120 times).
    if (
      !Number.isInteger(this.visibility) ||
      this.visibility < VISIBILITY_LIMITS.min ||
      this.visibility > VISIBILITY_LIMITS.max
    ) {
      throw new OperatorError(visibilityError(this.visibility));
    }
    this.wait = options.waitTimeSeconds ?? 1;
    this.chunkSize = options.chunkSize ?? 100;
  }

  /** Yields the messages in chunks; releases them all when the loop ends, however it ends. */
  async *chunks(): AsyncGenerator<RawDeadLetter[]> {
    const now = this.options.now ?? (() => new Date());
    this.result.hiddenAtStart = await this.hiddenNow();
    const dir = await mkdtemp(join(tmpdir(), 'gwr-dlq-'));
    const spoolPath = join(dir, 'receipt-handles');
    const spool = createWriteStream(spoolPath, { mode: 0o600 });
    activeReads += 1;
    const started = Date.now();
    let lastReceiveAt = now();
    // Stop while there is still time to release everything before SQS would make it visible by itself.
    const budgetMs = Math.max(1, this.visibility - Math.max(30, this.visibility * 0.1)) * 1000;
    try {
      let chunk: RawDeadLetter[] = [];
      for (;;) {
        if (this.options.signal?.aborted) {
          this.result.stoppedEarly = `interrupted after ${this.result.read} messages`;
          break;
        }
        if (Date.now() - started > budgetMs) {
          this.result.stoppedEarly = `the visibility timeout of ${this.visibility} s was nearly spent after ${this.result.read} messages; pass a larger --visibility-timeout`;
          break;
        }
        let messages: Message[];
        try {
          const out = await this.options.sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: this.options.queueUrl,
              MaxNumberOfMessages: 10,
              VisibilityTimeout: this.visibility,
              WaitTimeSeconds: this.wait,
              MessageSystemAttributeNames: ['All'],
            }),
          );
          messages = out.Messages ?? [];
          if (messages.length > 0) lastReceiveAt = now();
        } catch (error) {
          if (error instanceof Error && /OverLimit/.test(error.name)) {
            this.result.stoppedEarly = `SQS's limit of ${SQS_INFLIGHT_LIMIT.toLocaleString('en-US')} in-flight messages was reached after ${this.result.read} messages`;
            break;
          }
          throw error;
        }
        if (messages.length === 0) break;
        for (const m of messages) {
          if (!spool.write(`${m.ReceiptHandle ?? ''}\n`)) await once(spool, 'drain');
          this.result.read += 1;
          chunk.push(toRaw(m));
        }
        if (chunk.length >= this.chunkSize) {
          yield chunk;
          chunk = [];
        }
      }
      if (chunk.length > 0) yield chunk;
    } finally {
      spool.end();
      await once(spool, 'close');
      try {
        await this.releaseAll(spoolPath);
      } catch (error) {
        this.options.warn?.(
          `could not make the messages read visible again (${error instanceof Error ? error.message : String(error)})`,
        );
      }
      await rm(dir, { recursive: true, force: true });
      activeReads -= 1;
      const hidden = this.result.read - this.result.released;
      if (hidden > 0) {
        const until = new Date(lastReceiveAt.getTime() + this.visibility * 1000).toISOString();
        this.options.warn?.(
          `${hidden} of ${this.result.read} DLQ message(s) stay hidden until ${until} at the latest (the read's visibility timeout); they reappear by themselves then`,
        );
      }
    }
  }

  /** Messages of the queue in flight right now: hidden from this scan by another reader, or an earlier one. */
  private async hiddenNow(): Promise<number> {
    const out = await this.options.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.options.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  /** Makes every spooled message visible again, ten per call, in the order they were received. */
  private async releaseAll(spoolPath: string): Promise<void> {
    const lines = createInterface({
      input: createReadStream(spoolPath),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const entries = batch.map((handle, i) => ({
        Id: String(i),
        ReceiptHandle: handle,
        VisibilityTimeout: 0,
      }));
      batch = [];
      const out = await this.options.sqs.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries }),
      );
      this.result.released += out.Successful?.length ?? 0;
    };
    for await (const line of lines) {
      if (line.length === 0) continue;
      batch.push(line);
      if (batch.length === 10) await flush();
    }
    await flush();
  }
}

/** The message for a --visibility-timeout out of range. */
export function visibilityError(value: number): string {
  return `--visibility-timeout must be a whole number of seconds from ${VISIBILITY_LIMITS.min} to ${VISIBILITY_LIMITS.max} (got ${value}): each message must stay hidden for the whole read, or the read meets it again`;
}

function toRaw(m: Message): RawDeadLetter {
  const attrs = m.Attributes ?? {};
  const sent = Number(attrs.SentTimestamp);
  const count = Number(attrs.ApproximateReceiveCount);
  return {
    messageId: m.MessageId ?? '',
    body: m.Body ?? '',
    ...(Number.isFinite(sent) && sent > 0 ? { sentAt: new Date(sent).toISOString() } : {}),
    // This read's own receive is counted in ApproximateReceiveCount: leave it out.
    ...(Number.isInteger(count) && count > 0 ? { receiveCount: count - 1 } : {}),
    ...(attrs.DeadLetterQueueSourceArn ? { sourceArn: attrs.DeadLetterQueueSourceArn } : {}),
  };
}

import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export interface MoveOptions {
  readonly sqs: SQSClient;
  readonly fromUrl: string;
  readonly toUrl: string;
  /** Stop after this many: what was there when the move began, so a message dead-lettered again is not re-moved. */
  readonly limit: number;
  /** Messages per second at most. @default unlimited */
  readonly rate?: number | undefined;
  /** Long-poll wait of each receive; the move ends on the first empty one. @default 1 */
  readonly waitTimeSeconds?: number;
  readonly onProgress?: (moved: number) => void;
  /** Aborted on Ctrl-C: the move stops after the batch in hand (sent and deleted, or made visible again). */
  readonly signal?: AbortSignal;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface MoveResult {
  moved: number;
  failed: number;
  /** True when the signal stopped the move before `limit`. */
  interrupted?: boolean;
  /** Why some messages were not moved (the first error SQS gave), if any were not. */
  firstFailure?: string;
}

/**
 * Moves messages from one queue to another as StartMessageMoveTask does, for where that API is missing (the
 * local emulator): receive, send the same body and attributes to the destination, and delete from the source
 * only what the destination accepted; anything refused is made visible again at once, never lost.
 */
export async function moveMessages(options: MoveOptions): Promise<MoveResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const result: MoveResult = { moved: 0, failed: 0 };
  const started = Date.now();
  while (result.moved + result.failed < options.limit) {
    if (options.signal?.aborted) {
      result.interrupted = true;
      break;
    }
    const want = Math.min(
      10,
      options.limit - result.moved - result.failed,
      Math.max(1, Math.floor(options.rate ?? 10)),
    );
    const out = await options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.fromUrl,
        MaxNumberOfMessages: want,
        VisibilityTimeout: 60,
        WaitTimeSeconds: options.waitTimeSeconds ?? 1,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    const sent = await options.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: options.toUrl,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          MessageBody: m.Body ?? '',
          ...(m.MessageAttributes ? { MessageAttributes: m.MessageAttributes } : {}),
        })),
      }),
    );
    const ok = new Set((sent.Successful ?? []).map((s) => Number(s.Id)));
    const accepted = messages.filter((_, i) => ok.has(i));
    const refused = messages.filter((_, i) => !ok.has(i));
    if (accepted.length > 0) {
      await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.fromUrl,
          Entries: accepted.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
    }
    if (refused.length > 0) {
      const f = sent.Failed?.[0];
      result.firstFailure ??= `${f?.Code ?? 'refused'}${f?.Message ? `: ${f.Message}` : ''}`;
      await options.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: options.fromUrl,
          Entries: refused.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle ?? '',
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
    result.moved += accepted.length;
    result.failed += refused.length;
    options.onProgress?.(result.moved);
    if (options.rate !== undefined) {
      // Never ahead of the rate: wait until the time the moved count is due.
      const dueAt = started + ((result.moved + result.failed) / options.rate) * 1000;
      const wait = dueAt - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }
  return result;
}

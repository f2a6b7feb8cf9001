import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type RetryMessage, retryMessageSchema } from '../../lambdas/shared/domain/retry-message';

/** Receives and deletes every message on a queue (tests only), parsing each as a retry message. */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<RetryMessage[]> {
  return (await drainBodies(sqs, queueUrl)).map((body) => retryMessageSchema.parse(body));
}

/** Receives and deletes every message on a queue (tests only): each body as JSON, whatever its shape. */
export async function drainBodies(sqs: SQSClient, queueUrl: string): Promise<unknown[]> {
  const all: unknown[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 60,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return all;
    for (const m of messages) {
      all.push(JSON.parse(m.Body ?? ''));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle ?? '' }));
    }
  }
}

/** Waits until `check` returns true, polling every 100 ms; fails with `what` after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

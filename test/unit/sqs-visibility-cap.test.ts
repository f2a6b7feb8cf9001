import { type ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it, vi } from 'vitest';
import {
  MAX_SECONDS_SINCE_RECEIVE,
  MAX_VISIBILITY_SECONDS,
  SqsRetryQueue,
} from '../../lambdas/shared/adapters/sqs-retry-queue';

/** A queue whose client records the VisibilityTimeout of each ChangeMessageVisibility instead of sending it. */
function recordingQueue(maxSecondsSinceReceive?: number) {
  const client = new SQSClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const sent: number[] = [];
  vi.spyOn(client, 'send').mockImplementation(async (command) => {
    sent.push((command as ChangeMessageVisibilityCommand).input.VisibilityTimeout ?? Number.NaN);
    return {};
  });
  const queue = new SqsRetryQueue({
    queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/retry',
    client,
    ...(maxSecondsSinceReceive === undefined ? {} : { maxSecondsSinceReceive }),
  });
  return { queue, sent };
}

describe('SqsRetryQueue.setVisibility near the 12-hour limit', () => {
  it('caps a backoff at 12 h minus the longest time since the receive, by default 21 minutes', async () => {
    const { queue, sent } = recordingQueue();
    const cap = MAX_VISIBILITY_SECONDS - MAX_SECONDS_SINCE_RECEIVE;
    expect(cap).toBe(41_940);
    expect(queue.maxVisibilitySeconds).toBe(cap);
    for (const asked of [43_200, 43_199, 42_000, cap + 1, 86_400]) await queue.setVisibility('r', asked);
    expect(sent).toEqual([cap, cap, cap, cap, cap]);
  });

  it('passes shorter delays through, rounded, and never asks for less than 0', async () => {
    const { queue, sent } = recordingQueue();
    for (const asked of [41_940, 41_939.6, 3_600, 1.4, 0, -5]) await queue.setVisibility('r', asked);
    expect(sent).toEqual([41_940, 41_940, 3_600, 1, 0, 0]);
  });

  it('uses a tighter bound when told the real one (redeliverer timeout + batching window)', async () => {
    const { queue, sent } = recordingQueue(25 + 1 + 60);
    await queue.setVisibility('r', 43_200);
    await queue.setVisibility('r', 43_114);
    expect(sent).toEqual([43_114, 43_114]);
  });

  it('refuses a bound that leaves no visibility at all', () => {
    expect(() => recordingQueue(43_200)).toThrow(/maxSecondsSinceReceive .* \(got 43200\)/);
    expect(() => recordingQueue(-1)).toThrow(/maxSecondsSinceReceive/);
  });
});

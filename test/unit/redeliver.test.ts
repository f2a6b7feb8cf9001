import { describe, expect, it } from 'vitest';
import { redeliver } from '../../lambdas/redeliverer/redeliver';
import { PermanentDeliveryError, RetryableDeliveryError } from '../../lambdas/shared/errors';
import { FakeSender, fakeDeps, NOW, retryMessage, sqsInput } from './redeliver-fakes';

describe('redeliver: what the target answered', () => {
  it.each([
    { status: 200, result: 'delivered', ledgerStatus: 'delivered', visibility: [] },
    { status: 204, result: 'delivered', ledgerStatus: 'delivered', visibility: [] },
    { status: 500, result: 'retry-scheduled', ledgerStatus: 'enqueued', visibility: [2] },
    { status: 503, result: 'retry-scheduled', ledgerStatus: 'enqueued', visibility: [2] },
    { status: 408, result: 'retry-scheduled', ledgerStatus: 'enqueued', visibility: [2] },
    { status: 425, result: 'retry-scheduled', ledgerStatus: 'enqueued', visibility: [2] },
    { status: 400, result: 'permanent', ledgerStatus: 'permanent', visibility: [0] },
    { status: 404, result: 'permanent', ledgerStatus: 'permanent', visibility: [0] },
    { status: 410, result: 'permanent', ledgerStatus: 'permanent', visibility: [0] },
    { status: 301, result: 'permanent', ledgerStatus: 'permanent', visibility: [0] },
  ])('$status on the first receive → $result, ledger $ledgerStatus, visibility $visibility', async (row) => {
    const { deps, ledger, queue } = fakeDeps(new FakeSender({ status: row.status, durationMs: 40 }));
    const message = retryMessage();
    const outcome = await redeliver(sqsInput(message, 1), deps);

    expect(outcome).toMatchObject({
      result: row.result,
      status: row.status,
      attempt: 1,
      eventKey: message.eventKey,
      deliveryId: 'd-1',
      targetCalled: true,
      durationMs: 40,
      acknowledged: row.result === 'delivered',
    });
    expect(queue.visibility.map((v) => v.seconds)).toEqual(row.visibility);
    expect(ledger.attempts).toHaveLength(1);
    expect(ledger.attempts[0]).toMatchObject({
      eventKey: message.eventKey,
      status: row.ledgerStatus,
      attempt: { attempt: 1, messageId: 'm-1', at: NOW.toISOString(), durationMs: 40, status: row.status },
    });
  });

  it('gives a permanent answer its reason, and says a redirect was not followed', async () => {
    const gone = fakeDeps(new FakeSender({ status: 410, durationMs: 5 }));
    await redeliver(sqsInput(retryMessage()), gone.deps);
    expect(gone.ledger.attempts[0]?.finalReason).toBe('target answered 410 Gone');

    const moved = fakeDeps(new FakeSender({ status: 301, durationMs: 5 }));
    await redeliver(sqsInput(retryMessage()), moved.deps);
    expect(moved.ledger.attempts[0]?.finalReason).toBe(
      'target answered 301 Moved Permanently (redirects are not followed)',
    );
  });

  it('sends the exact body with Content-Type and the event key as Idempotency-Key', async () => {
    const sender = new FakeSender();
    const { deps } = fakeDeps(sender);
    const message = retryMessage({ body: '  {"a": 1}\n', contentType: 'application/json' });
    await redeliver(sqsInput(message), deps);

    expect(sender.requests).toEqual([
      {
        url: message.targetUrl,
        body: '  {"a": 1}\n',
        headers: {
          'X-Genesys-Signature': 'sig-secret-value',
          'Content-Type': 'application/json',
          'Idempotency-Key': message.eventKey,
        },
        // Whose key signs it: the webhook's own (docs/signing.md).
        signingTarget: 'webhook:wh-1',
      },
    ]);
  });

  it('keeps a logged Content-Type and replaces a logged Idempotency-Key, whatever their case', async () => {
    const sender = new FakeSender();
    const { deps } = fakeDeps(sender);
    const message = retryMessage({
      headers: { 'content-type': 'application/cloudevents+json', 'IDEMPOTENCY-KEY': 'stale' },
      contentType: 'application/json',
    });
    await redeliver(sqsInput(message), deps);

    expect(sender.requests[0]?.headers).toEqual({
      'content-type': 'application/cloudevents+json',
      'Idempotency-Key': message.eventKey,
    });
  });
});

describe('redeliver: the attempt budget (MAX_RETRIES = 3)', () => {
  it.each([
    // random() = 0.5, base 5 s: attempt n waits floor(0.5 · 5 · 2^(n−1)), at least 1.
    { attempt: 1, result: 'retry-scheduled', visibility: 2, ledgerStatus: 'enqueued' },
    { attempt: 2, result: 'retry-scheduled', visibility: 5, ledgerStatus: 'enqueued' },
    { attempt: 3, result: 'exhausted', visibility: 0, ledgerStatus: 'exhausted' },
  ])('503 on attempt $attempt → $result, visibility $visibility', async (row) => {
    const { deps, ledger, queue } = fakeDeps(new FakeSender({ status: 503, durationMs: 7 }));
    const message = retryMessage();
    ledger.seed(message.eventKey, 'enqueued', undefined, undefined, { budgetAttempts: row.attempt - 1 });
    const outcome = await redeliver(sqsInput(message, row.attempt), deps);

    expect(outcome.result).toBe(row.result);
    expect(outcome.acknowledged).toBe(false);
    expect(queue.visibility).toEqual([{ receiptHandle: `rh-m-1-${row.attempt}`, seconds: row.visibility }]);
    expect(ledger.attempts[0]?.status).toBe(row.ledgerStatus);
    expect(ledger.attempts[0]?.attempt.outcome).toBe('retryable');
    if (row.result === 'retry-scheduled') {
      expect(outcome.nextAttemptInSeconds).toBe(row.visibility);
      expect(ledger.attempts[0]?.attempt.nextAttemptInSeconds).toBe(row.visibility);
    } else {
      expect(ledger.attempts[0]?.finalReason).toBe(`503 Service Unavailable after ${row.attempt} attempts`);
      expect(ledger.attempts[0]?.attempt.nextAttemptInSeconds).toBeUndefined();
    }
  });

  it('counts real attempts from the ledger, not SQS receives: receive 7 with 1 attempt spent is attempt 2', async () => {
    const { deps, ledger } = fakeDeps(new FakeSender({ status: 503, durationMs: 1 }));
    const message = retryMessage();
    ledger.seed(message.eventKey, 'enqueued', undefined, undefined, { budgetAttempts: 1 });
    const outcome = await redeliver(sqsInput(message, 7), deps);
    expect(outcome).toMatchObject({ attempt: 2, result: 'retry-scheduled' });
    expect(ledger.events.get(message.eventKey)?.budgetAttempts).toBe(2);
  });

  it('treats a missing receive count as the first attempt', async () => {
    const { deps, queue } = fakeDeps(new FakeSender({ status: 503, durationMs: 1 }));
    const input = { ...sqsInput(retryMessage()), attributes: { ApproximateReceiveCount: '' } };
    const outcome = await redeliver(input, deps);
    expect(outcome).toMatchObject({ attempt: 1, result: 'retry-scheduled' });
    expect(queue.visibility[0]?.seconds).toBe(2);
  });
});

describe('redeliver: Retry-After', () => {
  it.each([
    // The host is held for the Retry-After; the event that asked returns behind the events held with it.
    { header: '120', expected: 150 },
    // Held for the schedule's cap (3,600 s), past SQS's 900 s delay: spread over the last fifth of it.
    { header: '99999', expected: 810 },
    { header: new Date(NOW.getTime() + 30_000).toUTCString(), expected: 38 },
    // No usable Retry-After: the host is held for the retry schedule's first step (5 s).
    { header: 'soon', expected: 7 },
  ])(
    '429 with Retry-After $header: held, no budget spent, back in $expected s',
    async ({ header, expected }) => {
      const { deps, ledger, queue } = fakeDeps(
        new FakeSender({ status: 429, retryAfter: header, durationMs: 3 }),
      );
      const message = retryMessage();
      const outcome = await redeliver(sqsInput(message), deps);
      expect(outcome).toMatchObject({ result: 'held', acknowledged: true, targetCalled: true, status: 429 });
      expect(outcome.nextAttemptInSeconds).toBe(expected);
      // Sent again with its budget and hold clock, so a lost hold write cannot make the hold endless.
      const body = JSON.stringify({ ...message, budget: 1, heldSince: NOW.toISOString() });
      expect(queue.requeued).toEqual([{ body, delaySeconds: expected }]);
      expect(ledger.attempts[0]?.attempt).toMatchObject({ counted: false, status: 429 });
      expect(ledger.events.get(message.eventKey)?.budgetAttempts ?? 0).toBe(0);
    },
  );

  it('a 503 with Retry-After is the target asking for time: held, no budget spent; without one it counts', async () => {
    const asked = fakeDeps(new FakeSender({ status: 503, retryAfter: '20', durationMs: 3 }));
    const message = retryMessage();
    const outcome = await redeliver(sqsInput(message), asked.deps);
    expect(outcome).toMatchObject({ result: 'held', acknowledged: true, nextAttemptInSeconds: 25 });
    expect(asked.ledger.events.get(message.eventKey)?.budgetAttempts ?? 0).toBe(0);

    const plain = fakeDeps(new FakeSender({ status: 503, durationMs: 3 }));
    expect(await redeliver(sqsInput(message), plain.deps)).toMatchObject({ result: 'retry-scheduled' });
    expect(plain.ledger.events.get(message.eventKey)?.budgetAttempts).toBe(1);
  });
});

describe('redeliver: the sender fails', () => {
  it('retries a connection error, without a status, and honours its Retry-After hint', async () => {
    const error = new RetryableDeliveryError('request to hooks.example.com failed: ECONNREFUSED', 42);
    const { deps, ledger, queue } = fakeDeps(new FakeSender(error));
    const outcome = await redeliver(sqsInput(retryMessage()), deps);

    expect(outcome).toMatchObject({
      result: 'retry-scheduled',
      targetCalled: true,
      nextAttemptInSeconds: 42,
    });
    expect(outcome.status).toBeUndefined();
    expect(queue.visibility[0]?.seconds).toBe(42);
    expect(ledger.attempts[0]?.attempt).toMatchObject({ outcome: 'retryable', error: error.message });
    expect(ledger.attempts[0]?.attempt.status).toBeUndefined();
  });

  it('names the error in the final reason when a connection error spends the budget', async () => {
    const error = new RetryableDeliveryError('request to hooks.example.com failed: UND_ERR_HEADERS_TIMEOUT');
    const { deps, ledger } = fakeDeps(new FakeSender(error));
    const message = retryMessage();
    ledger.seed(message.eventKey, 'enqueued', undefined, undefined, { budgetAttempts: 2 });
    const outcome = await redeliver(sqsInput(message, 3), deps);
    expect(outcome.result).toBe('exhausted');
    expect(ledger.attempts[0]?.finalReason).toBe(`${error.message} after 3 attempts`);
  });

  it('decides permanent when the sender refuses the target', async () => {
    const error = new PermanentDeliveryError('target host x resolves to 169.254.169.254');
    const { deps, ledger, queue } = fakeDeps(new FakeSender(error));
    const outcome = await redeliver(sqsInput(retryMessage()), deps);
    expect(outcome).toMatchObject({ result: 'permanent', error: error.message });
    expect(queue.visibility[0]?.seconds).toBe(0);
    expect(ledger.attempts[0]).toMatchObject({ status: 'permanent', finalReason: error.message });
  });

  it('retries an unexpected sender error rather than losing the message', async () => {
    const { deps } = fakeDeps(new FakeSender(new TypeError('boom')));
    const outcome = await redeliver(sqsInput(retryMessage()), deps);
    expect(outcome.result).toBe('retry-scheduled');
  });
});

import { describe, expect, it } from 'vitest';
import { redeliver } from '../../lambdas/redeliverer/redeliver';
import { FakeSender, fakeDeps, NOW, retryMessage, sqsInput } from './redeliver-fakes';

describe('redeliver: what the ledger already knows', () => {
  it('acks an event already delivered without calling the target', async () => {
    const sender = new FakeSender();
    const { deps, ledger, queue } = fakeDeps(sender);
    const message = retryMessage();
    ledger.seed(message.eventKey, 'delivered');

    const outcome = await redeliver(sqsInput(message, 2), deps);
    expect(outcome).toMatchObject({ result: 'already-delivered', acknowledged: true, targetCalled: false });
    expect(sender.requests).toHaveLength(0);
    expect(queue.visibility).toHaveLength(0);
    expect(ledger.attempts).toHaveLength(0);
  });

  it.each(['permanent', 'exhausted'] as const)(
    'fails fast, without calling the target, on an event decided %s for this very message',
    async (status) => {
      const sender = new FakeSender();
      const { deps, ledger, queue } = fakeDeps(sender);
      const message = retryMessage();
      ledger.seed(message.eventKey, status, 'm-1', 'target answered 410 Gone');

      const outcome = await redeliver(sqsInput(message, 2, 'm-1'), deps);
      expect(outcome).toMatchObject({
        result: 'failed-fast',
        acknowledged: false,
        targetCalled: false,
        error: 'target answered 410 Gone',
      });
      expect(sender.requests).toHaveLength(0);
      expect(queue.visibility).toEqual([{ receiptHandle: 'rh-m-1-2', seconds: 0 }]);
      expect(ledger.attempts).toHaveLength(0);
    },
  );

  it('tries a redriven copy (new message id) afresh', async () => {
    const sender = new FakeSender();
    const { deps, ledger } = fakeDeps(sender);
    const message = retryMessage();
    ledger.seed(message.eventKey, 'permanent', 'm-old', 'target answered 410 Gone');

    const outcome = await redeliver(sqsInput(message, 1, 'm-redriven', NOW), deps);
    expect(outcome.result).toBe('delivered');
    expect(sender.requests).toHaveLength(1);
    expect(ledger.attempts[0]).toMatchObject({ status: 'delivered', attempt: { messageId: 'm-redriven' } });
  });

  it('throws, without calling the target, when a later receive cannot read the ledger', async () => {
    const sender = new FakeSender();
    const { deps, ledger, queue } = fakeDeps(sender);
    ledger.failGetEvent = () => true;
    await expect(redeliver(sqsInput(retryMessage(), 2), deps)).rejects.toThrow('ledger unavailable');
    expect(sender.requests).toHaveLength(0);
    expect(queue.visibility).toHaveLength(0);
  });

  it('a first receive claims without reading the ledger; it throws, without a call, when the claim fails', async () => {
    const sender = new FakeSender();
    const { deps, ledger, queue } = fakeDeps(sender);
    ledger.failGetEvent = () => true;
    expect(await redeliver(sqsInput(retryMessage()), deps)).toMatchObject({ result: 'delivered' });
    ledger.failTransitions = true;
    const other = retryMessage({ targetUrl: 'https://hooks.example.com/other' });
    await expect(redeliver(sqsInput(other), deps)).rejects.toThrow('ledger write throttled');
    expect(sender.requests).toHaveLength(1);
    expect(queue.visibility).toHaveLength(0);
  });

  it('reads the ledger first for a copy it sent again, and for a message ordered per entity', async () => {
    const { deps, ledger } = fakeDeps(new FakeSender());
    ledger.failGetEvent = () => true;
    const resent = retryMessage({ budget: 1, heldSince: NOW.toISOString() });
    await expect(redeliver(sqsInput(resent), deps)).rejects.toThrow('ledger unavailable');
    const ordered = retryMessage({ order: { entity: 'e-1', at: NOW.toISOString() } });
    await expect(redeliver(sqsInput(ordered), deps)).rejects.toThrow('ledger unavailable');
  });

  it('still acks a delivery the ledger failed to record, and logs the gap', async () => {
    const { deps, ledger, logger } = fakeDeps(new FakeSender({ status: 202, durationMs: 3 }));
    ledger.failRecordAttempt = true;
    const outcome = await redeliver(sqsInput(retryMessage()), deps);
    expect(outcome).toMatchObject({ result: 'delivered', acknowledged: true });
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'the ledger could not record the attempt; the outcome stands',
      }),
    );
  });

  it('still schedules the retry when the ledger write fails, and still records when SQS fails', async () => {
    const ledgerDown = fakeDeps(new FakeSender({ status: 503, durationMs: 3 }));
    ledgerDown.ledger.failRecordAttempt = true;
    const a = await redeliver(sqsInput(retryMessage()), ledgerDown.deps);
    expect(a).toMatchObject({ result: 'retry-scheduled', acknowledged: false });
    expect(ledgerDown.queue.visibility[0]?.seconds).toBe(2);
    expect(ledgerDown.logger.lines.map((l) => l.level)).toContain('error');

    const sqsDown = fakeDeps(new FakeSender({ status: 503, durationMs: 3 }));
    sqsDown.queue.failSetVisibility = true;
    const b = await redeliver(sqsInput(retryMessage()), sqsDown.deps);
    expect(b).toMatchObject({ result: 'retry-scheduled', acknowledged: false });
    expect(sqsDown.ledger.attempts[0]?.status).toBe('enqueued');
    expect(sqsDown.logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        attributes: expect.objectContaining({ visibilitySeconds: 2 }),
      }),
    );
  });
});

describe('redeliver: targets that may not be called', () => {
  it.each([
    {
      targetUrl: 'https://evil.example.net/hook',
      allowed: ['hooks.example.com'],
      reason: 'target host evil.example.net is not in TARGET_ALLOWED_HOSTS',
    },
    {
      targetUrl: 'http://169.254.169.254/latest/meta-data',
      allowed: [],
      reason: 'target host 169.254.169.254 is a link-local or cloud metadata address',
    },
  ])('refuses $targetUrl without calling it', async ({ targetUrl, allowed, reason }) => {
    const sender = new FakeSender();
    const { deps, ledger, queue } = fakeDeps(sender);
    const outcome = await redeliver(sqsInput(retryMessage({ targetUrl })), {
      ...deps,
      settings: { ...deps.settings, TARGET_ALLOWED_HOSTS: allowed },
    });
    expect(outcome).toMatchObject({ result: 'permanent', targetCalled: false, error: reason, durationMs: 0 });
    expect(sender.requests).toHaveLength(0);
    expect(queue.visibility[0]?.seconds).toBe(0);
    expect(ledger.attempts[0]).toMatchObject({
      status: 'permanent',
      finalReason: reason,
      attempt: { outcome: 'permanent', error: reason, durationMs: 0 },
    });
  });
});

describe('redeliver: invalid messages', () => {
  it.each([
    { name: 'not JSON', body: 'not json {', reason: /body is not JSON/ },
    { name: 'no event key', body: { ...retryMessage(), eventKey: undefined }, reason: /eventKey/ },
    { name: 'bad schema version', body: { ...retryMessage(), v: 2 }, reason: /^not a retry message: v:/ },
  ])('fails fast on a message that is $name, and records it under the SQS message id', async (row) => {
    const sender = new FakeSender();
    const { deps, ledger, queue, logger } = fakeDeps(sender);
    const outcome = await redeliver(sqsInput(row.body, 1, 'm-bad'), deps);

    expect(outcome).toMatchObject({ result: 'invalid-message', acknowledged: false, targetCalled: false });
    expect(outcome.error).toMatch(row.reason);
    expect(sender.requests).toHaveLength(0);
    expect(queue.visibility).toEqual([{ receiptHandle: 'rh-m-bad-1', seconds: 0 }]);
    expect(ledger.invalid).toHaveLength(1);
    expect(ledger.invalid[0]).toMatchObject({ deliveryId: 'sqs-message:m-bad' });
    expect(logger.lines[0]).toMatchObject({ level: 'warn', attributes: { messageId: 'm-bad' } });
  });

  it('never logs nor records the values of the headers of an invalid message', async () => {
    const { deps, ledger, logger } = fakeDeps();
    const body = { ...retryMessage(), headers: { Authorization: 'Bearer top-secret' }, targetUrl: 42 };
    await redeliver(sqsInput(body), deps);

    expect(JSON.stringify(logger.lines)).not.toContain('top-secret');
    expect(ledger.invalid[0]?.raw).not.toContain('top-secret');
    expect(JSON.parse(ledger.invalid[0]?.raw ?? '{}')).toMatchObject({
      headers: { Authorization: '[redacted]' },
      webhookId: 'wh-1',
    });
    expect(ledger.invalid[0]?.webhookId).toBe('wh-1');
  });
});

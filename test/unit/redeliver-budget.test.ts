import { describe, expect, it } from 'vitest';
import { redeliver } from '../../lambdas/redeliverer/redeliver';
import { SigningWebhookSender } from '../../lambdas/shared/adapters/signing-webhook-sender';
import { TargetUnreachableError } from '../../lambdas/shared/errors';
import type { SendResult } from '../../lambdas/shared/ports';
import { FakeSender, fakeDeps, NOW, retryMessage, sqsInput } from './redeliver-fakes';

const refused = () => new TargetUnreachableError('request to gw.example.com failed: ECONNREFUSED');
const on = (path: string) => retryMessage({ targetUrl: `https://gw.example.com${path}` });

describe('redeliver: the retry budget counts real attempts only', () => {
  it('a held event is sent again with a delay and acknowledged, and its budget does not move', async () => {
    const sender = new FakeSender({ status: 429, retryAfter: '30', durationMs: 3 });
    const { deps, ledger, queue } = fakeDeps(sender);
    const first = on('/a');
    const second = on('/b');
    ledger.seed(second.eventKey, 'enqueued');
    await redeliver(sqsInput(first, 1, 'm-1'), deps);

    const held = await redeliver(sqsInput(second, 1, 'm-2'), deps);

    expect(held).toMatchObject({ result: 'held', acknowledged: true, targetCalled: false, attempt: 1 });
    expect(sender.requests).toHaveLength(1);
    // The 429 held the event that met it too: the target asked for time, no verdict on the event.
    expect(queue.requeued).toHaveLength(2);
    expect(JSON.parse(queue.requeued[0]?.body ?? '')).toMatchObject({ ...first, budget: 1 });
    // Sent again with its budget and hold clock, due when the host's hold ends (30 s) plus a spread of up to half.
    expect(JSON.parse(queue.requeued[1]?.body ?? '')).toEqual({
      ...second,
      budget: 1,
      heldSince: NOW.toISOString(),
    });
    expect(queue.requeued[1]?.delaySeconds).toBe(30 + 8);
    expect(ledger.events.get(first.eventKey)?.budgetAttempts ?? 0).toBe(0);
    expect(ledger.events.get(second.eventKey)?.budgetAttempts ?? 0).toBe(0);
    expect(ledger.events.get(second.eventKey)?.heldSince).toBe(NOW.toISOString());
    expect(ledger.attempts.filter((a) => a.eventKey === second.eventKey)).toEqual([]);
  });

  it('a held event on its 40th receive still has its whole budget when the host answers', async () => {
    const { deps, ledger } = fakeDeps(new FakeSender({ status: 200, durationMs: 3 }));
    const message = on('/a');
    ledger.seed(message.eventKey, 'enqueued', undefined, undefined, { heldSince: NOW.toISOString() });
    const outcome = await redeliver(sqsInput(message, 40), deps);
    expect(outcome).toMatchObject({ result: 'delivered', attempt: 1 });
  });

  it("a probe of a host that is still down spends none of the carrying event's budget", async () => {
    const { deps, ledger, queue, clock } = fakeDeps(new FakeSender(refused));
    for (const path of ['/x', '/y', '/z']) await redeliver(sqsInput(on(path), 1, `m${path}`), deps);
    const carrier = on('/probe');
    ledger.seed(carrier.eventKey, 'enqueued', undefined, undefined, { budgetAttempts: 2 });
    clock.now = deps.gate.heldUntil(carrier.targetUrl);

    const probe = await redeliver(sqsInput(carrier, 3, 'm-probe'), deps);

    expect(probe).toMatchObject({ result: 'held', targetCalled: true, acknowledged: true, attempt: 3 });
    expect(ledger.events.get(carrier.eventKey)?.budgetAttempts).toBe(2);
    const record = ledger.attempts.find((a) => a.eventKey === carrier.eventKey);
    expect(record?.attempt).toMatchObject({ counted: false, outcome: 'retryable' });
    expect(queue.requeued.map((r) => JSON.parse(r.body).eventKey)).toContain(carrier.eventKey);
  });

  it('a redriven message (sent by SQS after the verdict, another message id) starts a fresh budget', async () => {
    const { deps, ledger, clock } = fakeDeps(new FakeSender({ status: 503, durationMs: 3 }));
    const message = on('/a');
    ledger.seed(message.eventKey, 'exhausted', 'm-old', '503 after 3 attempts', { budgetAttempts: 3 });

    const outcome = await redeliver(sqsInput(message, 1, 'm-redriven', NOW), deps);

    expect(outcome).toMatchObject({ result: 'retry-scheduled', attempt: 1 });
    expect(ledger.events.get(message.eventKey)).toMatchObject({
      budget: 2,
      redrives: 1,
      budgetAttempts: 1,
      status: 'enqueued',
      retryOwner: 'm-redriven',
    });
    expect(ledger.events.get(message.eventKey)?.decidedForMessageId).toBeUndefined();
    // The next receive of the same redriven copy, after its backoff, continues that new budget.
    clock.now += 60_000;
    const next = await redeliver(sqsInput(message, 2, 'm-redriven', NOW), deps);
    expect(next).toMatchObject({ result: 'retry-scheduled', attempt: 2 });
  });

  it('a redriven message that is held first starts a fresh budget and hold clock too', async () => {
    const { deps, ledger } = fakeDeps(new FakeSender({ status: 429, retryAfter: '5', durationMs: 3 }));
    await redeliver(sqsInput(on('/a'), 1, 'm-1'), deps);
    const message = on('/b');
    ledger.seed(message.eventKey, 'exhausted', 'm-old', 'held', {
      budgetAttempts: 3,
      heldSince: '2026-01-01T00:00:00Z',
    });

    const outcome = await redeliver(sqsInput(message, 1, 'm-redriven', NOW), deps);

    expect(outcome).toMatchObject({ result: 'held', hold: { heldForSeconds: 0 } });
    expect(ledger.events.get(message.eventKey)).toMatchObject({
      budget: 2,
      budgetAttempts: 0,
      status: 'held',
      heldSince: NOW.toISOString(),
    });
  });

  it('a stale copy (another message id, sent before the verdict) acknowledges and does nothing', async () => {
    const sender = new FakeSender({ status: 200, durationMs: 3 });
    const { deps, ledger, queue } = fakeDeps(sender);
    const message = on('/a');
    ledger.seed(message.eventKey, 'exhausted', 'm-1', '503 after 3 attempts', { budgetAttempts: 3 });
    const outcome = await redeliver(sqsInput(message, 1, 'm-stale'), deps);
    expect(outcome).toMatchObject({ result: 'superseded', acknowledged: true, targetCalled: false });
    expect(outcome.error).toBe('sent before the exhausted verdict');
    expect(sender.requests).toHaveLength(0);
    expect(queue.visibility).toEqual([]);
    expect(ledger.writes).toEqual([]);
  });

  it('the same message decided before still fails fast until SQS dead-letters it', async () => {
    const sender = new FakeSender({ status: 200, durationMs: 3 });
    const { deps, ledger, queue } = fakeDeps(sender);
    const message = on('/a');
    ledger.seed(message.eventKey, 'exhausted', 'm-1', '503 after 3 attempts', { budgetAttempts: 3 });
    const outcome = await redeliver(sqsInput(message, 2, 'm-1'), deps);
    expect(outcome).toMatchObject({ result: 'failed-fast', acknowledged: false });
    expect(sender.requests).toHaveLength(0);
    expect(queue.visibility).toEqual([{ receiptHandle: 'rh-m-1-2', seconds: 0 }]);
  });
});

describe('redeliver: MAX_HOLD_SECONDS', () => {
  it('dead-letters a held event past MAX_HOLD_SECONDS through the redrive policy, with the reason', async () => {
    const answer: SendResult = { status: 429, retryAfter: '60', durationMs: 3 };
    const { deps, ledger, queue } = fakeDeps(new FakeSender(answer));
    await redeliver(sqsInput(on('/a'), 1, 'm-1'), deps);
    const message = on('/b');
    const since = new Date(NOW.getTime() - 86_400_000).toISOString();
    ledger.seed(message.eventKey, 'enqueued', undefined, undefined, { heldSince: since });

    const outcome = await redeliver(sqsInput(message, 1, 'm-2'), deps);

    expect(outcome).toMatchObject({ result: 'exhausted', acknowledged: false, targetCalled: false });
    expect(outcome.error).toMatch(/^target held back for 86400 s \(https:\/\/gw.example.com answered 429/);
    // Visibility 0, never a send to the DLQ: the redrive policy moves it, so the console redrive works.
    expect(queue.visibility.filter((v) => v.receiptHandle === 'rh-m-2-1')).toEqual([
      { receiptHandle: 'rh-m-2-1', seconds: 0 },
    ]);
    expect(queue.requeued.filter((r) => r.body === JSON.stringify(message))).toEqual([]);
    expect(ledger.events.get(message.eventKey)).toMatchObject({
      status: 'exhausted',
      decidedForMessageId: 'm-2',
    });
  });

  it('keeps the copy and hides it when it cannot be sent again, so nothing is lost', async () => {
    const { deps, queue } = fakeDeps(new FakeSender({ status: 429, retryAfter: '10', durationMs: 3 }));
    await redeliver(sqsInput(on('/a'), 1, 'm-1'), deps);
    queue.failRequeue = true;
    const outcome = await redeliver(sqsInput(on('/b'), 1, 'm-2'), deps);
    expect(outcome).toMatchObject({ result: 'held', acknowledged: false });
    expect(queue.visibility.filter((v) => v.receiptHandle === 'rh-m-2-1')).toEqual([
      { receiptHandle: 'rh-m-2-1', seconds: outcome.nextAttemptInSeconds },
    ]);
  });
});

describe('redeliver: failures that are not the target’s', () => {
  it('a signing key that cannot be read: nothing sent, no budget spent, the gate told nothing, the event delayed', async () => {
    const inner = new FakeSender({ status: 200, durationMs: 3 });
    const signing = new SigningWebhookSender({
      sender: inner,
      secret: async () => {
        throw new Error('AccessDeniedException: not authorised');
      },
      secretSource: 'hooks/signing',
    });
    const { deps, ledger, queue } = fakeDeps(signing);
    const message = on('/a');
    const outcome = await redeliver(sqsInput(message, 1, 'm-1'), deps);

    expect(outcome).toMatchObject({ result: 'not-sent', acknowledged: true, targetCalled: false });
    expect(outcome.error).toMatch(/signing secret hooks\/signing could not be read/);
    expect(inner.requests).toHaveLength(0);
    expect(ledger.events.get(message.eventKey)?.budgetAttempts ?? 0).toBe(0);
    // Delayed as the sender asks (60 s), spread, as a new copy: the receive count does not grow.
    expect(queue.requeued).toHaveLength(1);
    expect(queue.requeued[0]?.delaySeconds).toBeGreaterThanOrEqual(60);
    expect(queue.visibility).toEqual([]);
    // The host is not held: the next event (with a key) is sent at once, as the probe the first gave back.
    const withKey = { ...deps, sender: inner };
    expect(await redeliver(sqsInput(on('/b'), 1, 'm-2'), withKey)).toMatchObject({ result: 'delivered' });
  });
});

import { describe, expect, it } from 'vitest';
import { readRetryRecord } from '../../lambdas/redeliverer/read-retry-record';
import { redeliver } from '../../lambdas/redeliverer/redeliver';
import type { TargetGate } from '../../lambdas/redeliverer/target-gate';
import { RetryableDeliveryError } from '../../lambdas/shared/errors';
import { FakeSender, fakeDeps, NOW, retryMessage, sqsInput } from './redeliver-fakes';

const on = (path: string) => retryMessage({ targetUrl: `https://gw.example.com${path}` });
const later = (s: number) => NOW.getTime() + s * 1000;

describe('redeliver: the lifecycle with lost ledger writes (issue 20, point 5)', () => {
  it('a failing hold write cannot make a hold endless: the re-sent copy carries the hold clock', async () => {
    const { deps: base, ledger, queue, clock } = fakeDeps(new FakeSender());
    // A gate that holds the host for good (a day-long outage), as far as this event can tell.
    const gate = {
      admit: () => ({ kind: 'hold', untilMs: clock.now + 900_000, key: 'outage gw', reason: 'down' }),
      heldUntil: () => clock.now + 900_000,
      report: () => undefined,
    } as unknown as TargetGate;
    const deps = { ...base, gate };
    ledger.failRecordAttempt = true; // every hold write fails
    const message = on('/b');
    let body = JSON.stringify(message);
    let held = 0;
    for (let i = 0; i < 200; i++) {
      const outcome = await redeliver(sqsInput(body, 1, `m-b-${i}`, new Date(clock.now)), deps);
      if (outcome.result === 'exhausted') {
        // The first receive past MAX_HOLD_SECONDS (86,400 s); held copies come back at most 900 s apart.
        const seconds = Number(/^target held back for (\d+) s/.exec(outcome.error ?? '')?.[1]);
        expect(seconds).toBeGreaterThanOrEqual(86_400);
        expect(seconds).toBeLessThan(86_400 + 900);
        break;
      }
      expect(outcome.result).toBe('held');
      held += 1;
      body = queue.requeued.at(-1)?.body ?? '';
      clock.now += (outcome.nextAttemptInSeconds ?? 1) * 1000;
    }
    const carried = readRetryRecord(body);
    expect(carried.ok && carried.message.heldSince).toBe(NOW.toISOString());
    expect(clock.now - NOW.getTime()).toBeGreaterThanOrEqual(86_400_000);
    expect(clock.now - NOW.getTime()).toBeLessThan(86_400_000 + 900_000);
    expect(held).toBeGreaterThan(90);
    expect(ledger.holds).toEqual([]);
  });

  it('a claim it cannot write leaves the receive undecided: no call, the handler reports it failed', async () => {
    const sender = new FakeSender();
    const { deps, ledger } = fakeDeps(sender);
    ledger.failTransitions = true;
    await expect(redeliver(sqsInput(retryMessage()), deps)).rejects.toThrow('ledger write throttled');
    expect(sender.requests).toHaveLength(0);
  });
});

describe('redeliver: copies of one event', () => {
  it('a copy that finds another copy calling the target acknowledges and does nothing', async () => {
    const sender = new FakeSender();
    const { deps, ledger, queue } = fakeDeps(sender);
    const message = on('/a');
    ledger.seed(message.eventKey, 'claimed', undefined, undefined, {
      claim: { messageId: 'm-other', until: new Date(later(20)).toISOString(), attempt: 1 },
    });
    const outcome = await redeliver(sqsInput(message, 1, 'm-1'), deps);
    expect(outcome).toMatchObject({ result: 'superseded', acknowledged: true, targetCalled: false });
    expect(sender.requests).toHaveLength(0);
    expect(queue.visibility).toEqual([]);
  });

  it('the same message received twice at once hides until the claim ends', async () => {
    const sender = new FakeSender();
    const { deps, ledger, queue } = fakeDeps(sender);
    const message = on('/a');
    ledger.seed(message.eventKey, 'claimed', undefined, undefined, {
      claim: { messageId: 'm-1', until: new Date(later(20)).toISOString(), attempt: 1 },
    });
    const outcome = await redeliver(sqsInput(message, 2, 'm-1'), deps);
    expect(outcome).toMatchObject({ result: 'busy', acknowledged: false, nextAttemptInSeconds: 20 });
    expect(queue.visibility).toEqual([{ receiptHandle: 'rh-m-1-2', seconds: 20 }]);
    expect(sender.requests).toHaveLength(0);
  });

  it('takes over a claim a crash abandoned, counting the abandoned attempt', async () => {
    const { deps, ledger } = fakeDeps(new FakeSender({ status: 503, durationMs: 3 }));
    const message = on('/a');
    ledger.seed(message.eventKey, 'claimed', undefined, undefined, {
      budgetAttempts: 0,
      claim: { messageId: 'm-1', until: new Date(later(-1)).toISOString(), attempt: 1 },
    });
    const outcome = await redeliver(sqsInput(message, 2, 'm-1'), deps);
    expect(outcome).toMatchObject({ result: 'retry-scheduled', attempt: 2 });
    expect(ledger.events.get(message.eventKey)).toMatchObject({ status: 'enqueued', budgetAttempts: 2 });
  });

  it('a copy whose claim write loses the race acknowledges, without calling the target', async () => {
    const sender = new FakeSender();
    const { deps, ledger } = fakeDeps(sender);
    const message = on('/a');
    ledger.seed(message.eventKey, 'enqueued');
    // Another copy moves the item between this copy's read and its claim.
    const read = ledger.getEvent.bind(ledger);
    ledger.getEvent = async (key) => {
      const seen = await read(key);
      const e = ledger.events.get(key);
      if (e) ledger.events.set(key, { ...e, version: e.version + 1 });
      return seen;
    };
    // A later receive: a first one does not read (below).
    const outcome = await redeliver(sqsInput(message, 2, 'm-2'), deps);
    expect(outcome).toMatchObject({ result: 'superseded', error: 'another copy claimed it first' });
    expect(sender.requests).toHaveLength(0);
  });

  it('a first receive whose claim finds the item moved decides on the item the refusal hands back', async () => {
    const sender = new FakeSender();
    const { deps, ledger } = fakeDeps(sender);
    ledger.failGetEvent = () => true;
    const live = new Date(NOW.getTime() + 60_000).toISOString();
    const calling = on('/calling');
    ledger.seed(calling.eventKey, 'claimed', undefined, undefined, {
      claim: { messageId: 'm-1', until: live, attempt: 1 },
    });
    expect(await redeliver(sqsInput(calling, 1, 'm-2'), deps)).toMatchObject({
      result: 'superseded',
      error: 'message m-1 is calling the target',
    });
    const delivered = on('/delivered');
    ledger.seed(delivered.eventKey, 'delivered');
    expect(await redeliver(sqsInput(delivered, 1, 'm-3'), deps)).toMatchObject({
      result: 'already-delivered',
    });
    // Waiting out another copy's backoff, then due: this copy claims it at the item's version.
    const due = on('/due');
    ledger.seed(due.eventKey, 'enqueued', undefined, undefined, { retryOwner: 'm-1', budgetAttempts: 1 });
    expect(await redeliver(sqsInput(due, 1, 'm-4'), deps)).toMatchObject({ result: 'delivered', attempt: 2 });
    expect(sender.requests.map((r) => new URL(r.url).pathname)).toEqual(['/due']);
  });

  it('a probe whose claim is lost gives the probe back to the gate: the next event probes instead', async () => {
    const refused = () => new RetryableDeliveryError('request to gw.example.com failed: ECONNREFUSED');
    const sender = new FakeSender(refused);
    const { deps, ledger, clock } = fakeDeps(sender);
    for (const path of ['/x', '/y', '/z']) await redeliver(sqsInput(on(path), 1, `m${path}`), deps);
    clock.now = deps.gate.heldUntil(on('/p').targetUrl);
    const carrier = on('/p');
    ledger.seed(carrier.eventKey, 'enqueued');
    const read = ledger.getEvent.bind(ledger);
    ledger.getEvent = async (key) => {
      const seen = await read(key);
      const e = ledger.events.get(key);
      if (key === carrier.eventKey && e) ledger.events.set(key, { ...e, version: e.version + 1 });
      return seen;
    };
    const lost = await redeliver(sqsInput(carrier, 2, 'm-p'), deps);
    expect(lost).toMatchObject({ result: 'superseded', targetCalled: false });
    const next = await redeliver(sqsInput(on('/q'), 1, 'm-q'), deps);
    expect(next).toMatchObject({ targetCalled: true });
    expect(sender.requests).toHaveLength(4);
  });

  it('a first receive held by the gate, whose hold the item refuses, decides on the item without a read', async () => {
    const { deps, ledger, queue } = fakeDeps(
      new FakeSender({ status: 429, retryAfter: '30', durationMs: 3 }),
    );
    await redeliver(sqsInput(on('/a'), 1, 'm-a'), deps);
    const requeued = queue.requeued.length;
    // The host is held now; another copy delivered this event already.
    const m = on('/delivered');
    ledger.seed(m.eventKey, 'delivered');
    ledger.failGetEvent = () => true;
    const outcome = await redeliver(sqsInput(m, 1, 'm-2'), deps);
    expect(outcome).toMatchObject({ result: 'already-delivered', acknowledged: true, targetCalled: false });
    expect(queue.requeued).toHaveLength(requeued);
  });

  it('a stale copy of an older budget cannot bring back its hold clock after a redrive', async () => {
    const { deps, ledger } = fakeDeps(new FakeSender({ status: 429, retryAfter: '30', durationMs: 3 }));
    await redeliver(sqsInput(on('/a'), 1, 'm-a'), deps);
    const message = on('/b');
    ledger.seed(message.eventKey, 'held', undefined, undefined, { budget: 2, heldSince: NOW.toISOString() });
    const stale = { ...message, budget: 1, heldSince: '2026-11-20T00:00:00.000Z' };
    const outcome = await redeliver(sqsInput(stale, 1, 'm-stale'), deps);
    expect(outcome).toMatchObject({ result: 'held', hold: { heldForSeconds: 0 } });
  });
});

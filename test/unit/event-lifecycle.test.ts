import { describe, expect, it } from 'vitest';
import {
  ABSENT,
  applyWrite,
  claim,
  hold,
  isUntouched,
  type Lifecycle,
  MAX_KEPT_ATTEMPTS,
  onReceive,
  settle,
  transitionRecord,
} from '../../lambdas/shared/domain/event-lifecycle';
import type { AttemptRecord } from '../../lambdas/shared/ports';

const NOW = new Date('2026-11-28T13:00:00.000Z');
const at = (s: number) => new Date(NOW.getTime() + s * 1000);
const limits = { maxRetries: 3 };
const copy = (messageId: string, extra: Partial<Parameters<typeof onReceive>[1]> = {}) => ({
  messageId,
  sentAtMs: NOW.getTime() - 60_000,
  ...extra,
});
const attempt = (n: number, messageId = 'm-1'): AttemptRecord => ({
  attempt: n,
  messageId,
  at: NOW.toISOString(),
  durationMs: 3,
  outcome: 'retryable',
  status: 503,
});
const state = (extra: Partial<Lifecycle>): Lifecycle => ({ ...ABSENT, version: 4, ...extra });

describe('the event lifecycle: what a receive does', () => {
  it.each([
    ['delivered', state({ status: 'delivered' }), copy('m-2'), 'already-delivered'],
    [
      'decided on this very copy',
      state({ status: 'exhausted', decidedForMessageId: 'm-1', decidedAt: NOW.toISOString() }),
      copy('m-1'),
      'fail-fast',
    ],
    [
      'decided, copy sent before the verdict (stale)',
      state({ status: 'permanent', decidedForMessageId: 'm-1', decidedAt: NOW.toISOString() }),
      copy('m-2'),
      'superseded',
    ],
    [
      'claimed by another copy, claim live',
      state({ status: 'claimed', claim: { messageId: 'm-1', until: at(20).toISOString(), attempt: 1 } }),
      copy('m-2'),
      'superseded',
    ],
    [
      'claimed by this very message (SQS delivered it twice)',
      state({ status: 'claimed', claim: { messageId: 'm-1', until: at(20).toISOString(), attempt: 1 } }),
      copy('m-1'),
      'busy',
    ],
    [
      'another copy waits out its backoff',
      state({
        status: 'enqueued',
        retryOwner: 'm-1',
        nextAttemptAt: at(30).toISOString(),
        budgetAttempts: 1,
      }),
      copy('m-2'),
      'superseded',
    ],
    [
      'the backoff owner itself',
      state({
        status: 'enqueued',
        retryOwner: 'm-1',
        nextAttemptAt: at(30).toISOString(),
        budgetAttempts: 1,
      }),
      copy('m-1'),
      'go',
    ],
    ['absent (a replay, a TTL)', ABSENT, copy('m-1'), 'go'],
    ['pending (claimed by the poller)', state({ status: 'pending', version: 0 }), copy('m-1'), 'go'],
  ] as const)('%s → %s', (_, s, c, kind) => {
    expect(onReceive(s, c, NOW, limits).kind).toBe(kind);
  });

  it('a copy SQS sent after the verdict is a redrive: a fresh budget, the next generation', () => {
    const decided = state({
      status: 'exhausted',
      budget: 2,
      budgetAttempts: 3,
      heldSince: at(-900).toISOString(),
      decidedForMessageId: 'm-1',
      decidedAt: at(-10).toISOString(),
    });
    const d = onReceive(decided, copy('m-9', { sentAtMs: at(-5).getTime() }), NOW, limits);
    expect(d).toEqual({ kind: 'go', budget: { budget: 3, spent: 0, redrive: true } });
    if (d.kind !== 'go') throw new Error('unreachable');
    const next = applyWrite(decided, claim(decided, d.budget, 'm-9', NOW, 17));
    expect(next).toMatchObject({ status: 'claimed', budget: 3, budgetAttempts: 0, redrives: 1, version: 5 });
    expect(next.heldSince).toBeUndefined();
    expect(next.decidedForMessageId).toBeUndefined();
  });

  it('a claim abandoned by a crash counts its attempt; one that spent the budget exhausts without a call', () => {
    const abandoned = state({
      status: 'claimed',
      budgetAttempts: 1,
      claim: { messageId: 'm-1', until: at(-1).toISOString(), attempt: 2 },
    });
    expect(onReceive(abandoned, copy('m-2'), NOW, limits)).toMatchObject({
      kind: 'go',
      budget: { spent: 2 },
    });
    const last = state({
      status: 'claimed',
      budgetAttempts: 2,
      claim: { messageId: 'm-1', until: at(-1).toISOString(), attempt: 3 },
    });
    expect(onReceive(last, copy('m-1'), NOW, limits)).toMatchObject({
      kind: 'exhaust',
      budget: { spent: 3 },
    });
  });

  it("the hold clock is the earlier of the ledger's and the copy's, and only the copy's of the same budget", () => {
    const s = state({ status: 'held', budget: 2, heldSince: at(-100).toISOString() });
    const earlier = copy('m-1', { budget: 2, heldSince: at(-300).toISOString() });
    expect(onReceive(s, earlier, NOW, limits)).toMatchObject({
      budget: { heldSince: at(-300).toISOString() },
    });
    const older = copy('m-1', { budget: 1, heldSince: at(-5000).toISOString() });
    expect(onReceive(s, older, NOW, limits)).toMatchObject({ budget: { heldSince: at(-100).toISOString() } });
    // A lost hold write: the ledger has no clock, the copy does.
    const lost = state({ status: 'enqueued' });
    const carried = copy('m-1', { budget: 1, heldSince: at(-50).toISOString() });
    expect(onReceive(lost, carried, NOW, limits)).toMatchObject({
      budget: { heldSince: at(-50).toISOString() },
    });
  });

  it('every write expects the version read and bumps it', () => {
    const s = state({ status: 'enqueued', version: 7 });
    const b = { budget: 1, spent: 0, redrive: false };
    expect(hold(s, b, NOW)).toMatchObject({ expectVersion: 7, set: { version: 8, status: 'held' } });
    const c = claim(s, b, 'm-1', NOW, 17);
    expect(c).toMatchObject({ expectVersion: 7, set: { version: 8, status: 'claimed' } });
    const claimed = applyWrite(s, c);
    const done = settle(claimed, 'm-1', attempt(1), { kind: 'delivered' }, NOW);
    expect(done).toMatchObject({
      expectVersion: 8,
      set: { version: 9, status: 'delivered', budgetAttempts: 1 },
    });
    expect(done.remove).toContain('claim');
  });

  it(`keeps the newest ${MAX_KEPT_ATTEMPTS} attempts and counts them all`, () => {
    let s: Lifecycle = state({ status: 'enqueued' });
    for (let n = 1; n <= 60; n++) {
      const b = { budget: 1, spent: 0, redrive: false };
      s = applyWrite(s, claim(s, b, `m-${n}`, NOW, 17));
      s = applyWrite(
        s,
        settle(s, `m-${n}`, attempt(n, `m-${n}`), { kind: 'retry', nextAttemptAt: NOW.toISOString() }, NOW),
      );
    }
    expect(s.attempts).toHaveLength(MAX_KEPT_ATTEMPTS);
    expect(s.attempts[0]?.messageId).toBe('m-36');
    expect(s.attemptsTotal).toBe(60);
  });
});

describe('a first receive guesses ABSENT (issue 25)', () => {
  const untouched = [
    { ...ABSENT, status: 'pending' as const },
    { ...ABSENT, status: 'enqueued' as const },
  ];
  it.each(untouched)('an item the poller left ($status) decides and claims exactly as ABSENT', (item) => {
    expect(isUntouched(item)).toBe(true);
    const decided = onReceive(item, copy('m-1'), NOW, limits);
    expect(decided).toEqual(onReceive(ABSENT, copy('m-1'), NOW, limits));
    if (decided.kind !== 'go') throw new Error('expected go');
    expect(claim(item, decided.budget, 'm-1', NOW, 30)).toEqual(
      claim(ABSENT, decided.budget, 'm-1', NOW, 30),
    );
    expect(hold(item, decided.budget, NOW)).toEqual(hold(ABSENT, decided.budget, NOW));
  });

  it.each([
    ['written by a transition', { ...ABSENT, version: 1 }],
    ['delivered by the code before versions', { ...ABSENT, status: 'delivered' as const }],
    ['with attempts from the code before versions', { ...ABSENT, attempts: [attempt(1)] }],
    ['with a budget spent by it', { ...ABSENT, budgetAttempts: 2 }],
    ['with a hold clock', { ...ABSENT, heldSince: NOW.toISOString() }],
  ])('an item %s is not untouched: a guessed write is refused', (_, item) => {
    expect(isUntouched(item)).toBe(false);
    const record = { ...item, eventKey: 'k', deliveryId: 'd', webhookId: 'w', targetUrl: 'u', updatedAt: '' };
    const budget = { budget: 1, spent: 0, redrive: false };
    const guess = { ...claim(ABSENT, budget, 'm-1', NOW, 30), untouched: true as const };
    expect(transitionRecord(record, 'k', guess, record, NOW.toISOString())).toBe('conflict');
  });
});

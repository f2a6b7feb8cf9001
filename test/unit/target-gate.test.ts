import { describe, expect, it } from 'vitest';
import { type Admission, TargetGate } from '../../lambdas/redeliverer/target-gate';
import { targetId } from '../../lambdas/shared/domain/target-id';

function gate() {
  const clock = { now: 1_000_000 };
  const g = new TargetGate({ timeoutSeconds: 10, baseSeconds: 5, capSeconds: 60, now: () => clock.now });
  return { g, clock };
}

const A = 'https://gw.example.com/a';
const B = 'https://gw.example.com/b';
const OTHER = 'https://other.example.com/a';

function call(g: TargetGate, url: string): Admission & { kind: 'call' } {
  const a = g.admit(url);
  if (a.kind !== 'call') throw new Error(`expected a call to ${url}, got a hold: ${a.reason}`);
  return a;
}

describe('TargetGate: keys', () => {
  it('a stalled path holds that path only, not the healthy paths beside it on the same host', () => {
    const { g } = gate();
    g.report(A, call(g, A), { kind: 'stalled' });
    // Keyed by the target id: hold keys reach logs and a metric dimension, and a path may hold a token.
    expect(g.admit(A)).toMatchObject({ kind: 'hold', key: `path ${targetId(A)}` });
    expect(g.admit(B).kind).toBe('call');
    expect(g.admit(OTHER).kind).toBe('call');
  });

  it('a 5xx with Retry-After holds its path for that long; one without holds nothing', () => {
    const { g, clock } = gate();
    g.report(A, call(g, A), { kind: 'server-error', retryAfterSeconds: 20 });
    g.report(B, call(g, B), { kind: 'server-error' });
    expect(g.admit(A)).toMatchObject({ kind: 'hold', untilMs: clock.now + 20_000 });
    expect(g.admit(B).kind).toBe('call');
  });

  it('a 429 holds the whole host for its Retry-After, and other hosts not at all', () => {
    const { g, clock } = gate();
    g.report(A, call(g, A), { kind: 'rate-limited', retryAfterSeconds: 2 });
    expect(g.admit(B)).toMatchObject({ kind: 'hold', key: 'rate https://gw.example.com' });
    expect(g.heldUntil(B)).toBe(clock.now + 2_000);
    expect(g.admit(OTHER).kind).toBe('call');
  });

  it('an outage is every recent call to a host failing, on any path; an answer on one path ends it', () => {
    const { g } = gate();
    g.report(A, call(g, A), { kind: 'unreachable' });
    g.report(B, call(g, B), { kind: 'server-error' });
    expect(g.admit(A).kind).toBe('call');
    // Another path answers: the host is up, the count starts again.
    g.report(B, call(g, B), { kind: 'answered' });
    g.report(A, call(g, A), { kind: 'unreachable' });
    g.report(A, call(g, A), { kind: 'unreachable' });
    expect(g.admit(B).kind).toBe('call');
    g.report(B, call(g, B), { kind: 'unreachable' });
    expect(g.admit(B)).toMatchObject({ kind: 'hold', key: 'outage https://gw.example.com' });
  });
});

describe('TargetGate: one host, broken paths beside healthy ones', () => {
  it('is no outage while another path of the host answered within the last minute', () => {
    const { g, clock } = gate();
    g.report(A, call(g, A), { kind: 'answered' });
    for (let i = 0; i < 10; i += 1) g.report(B, call(g, B), { kind: 'server-error' });
    expect(g.admit(B).kind).toBe('call');
    expect(g.heldUntil(A)).toBe(0);
    // A minute without an answer from any path: the failures in a row now make it an outage.
    clock.now += 61_000;
    g.report(B, call(g, B), { kind: 'server-error' });
    expect(g.admit(A)).toMatchObject({ kind: 'hold', key: 'outage https://gw.example.com' });
  });
});

describe('TargetGate: probing', () => {
  it('lets one probe through when a hold ends, holds the rest until it answers, and lifts the hold on an answer', () => {
    const { g, clock } = gate();
    g.report(A, call(g, A), { kind: 'rate-limited', retryAfterSeconds: 2 });
    clock.now += 2_000;
    const probe = call(g, B);
    expect(probe.probes).toEqual(['rate https://gw.example.com']);
    expect(probe.outageProbe).toBe(false);
    const meanwhile = g.admit(A);
    expect(meanwhile).toMatchObject({ kind: 'hold' });
    // While a probe is in flight, look again within a quarter of the timeout, not after the whole of it.
    if (meanwhile.kind === 'hold') expect(meanwhile.untilMs - clock.now).toBe(2_500);
    g.report(B, probe, { kind: 'answered' });
    expect(g.admit(A).kind).toBe('call');
  });

  it('a probe that is limited again holds the host again, for longer each time it gives no time of its own', () => {
    const { g, clock } = gate();
    g.report(A, call(g, A), { kind: 'rate-limited' });
    expect(g.heldUntil(A)).toBe(clock.now + 5_000);
    clock.now += 5_000;
    g.report(A, call(g, A), { kind: 'rate-limited' });
    expect(g.heldUntil(A)).toBe(clock.now + 10_000);
    clock.now += 10_000;
    g.report(A, call(g, A), { kind: 'rate-limited' });
    expect(g.heldUntil(A)).toBe(clock.now + 20_000);
  });

  it('marks a probe of a host held for an outage, and follows the retry schedule up to its cap', () => {
    const { g, clock } = gate();
    for (const url of [A, B, A]) g.report(url, call(g, url), { kind: 'unreachable' });
    const waits: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      waits.push((g.heldUntil(A) - clock.now) / 1000);
      clock.now = g.heldUntil(A);
      const probe = call(g, i % 2 ? A : B);
      expect(probe.outageProbe).toBe(true);
      g.report(A, probe, { kind: 'unreachable' });
    }
    expect(waits).toEqual([5, 10, 20, 40, 60, 60]);
    clock.now = g.heldUntil(A);
    g.report(B, call(g, B), { kind: 'answered' });
    expect(g.heldUntil(A)).toBe(0);
    expect(call(g, A).probes).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { MemoryTargetStateStore } from '../../bench/support/memory-ports';
import { type Admission, TargetGate, type TargetSignal } from '../../lambdas/redeliverer/target-gate';
import { heldDelaySeconds, nextHold } from '../../lambdas/shared/domain/target-hold';
import { targetId } from '../../lambdas/shared/domain/target-id';

/** Several gates on one store, as several Lambda instances on one ledger table; one clock for all. */
function gates(n = 1) {
  const clock = { now: 1_000_000 };
  const store = new MemoryTargetStateStore();
  const make = () =>
    new TargetGate({
      store,
      timeoutSeconds: 10,
      baseSeconds: 5,
      capSeconds: 60,
      // Real time, kept short: how long a call waits for another instance's probe of an unknown host.
      probeWaitSeconds: 0.3,
      now: () => clock.now,
    });
  return { all: Array.from({ length: n }, make), make, clock, store };
}

const A = 'https://gw.example.com/a';
const B = 'https://gw.example.com/b';
const OTHER = 'https://other.example.com/a';
const HOST = 'https://gw.example.com';

async function call(g: TargetGate, url: string): Promise<Admission & { kind: 'call' }> {
  const a = await g.admit(url);
  if (a.kind !== 'call') throw new Error(`expected a call to ${url}, got a hold: ${a.reason}`);
  return a;
}

/** Admits and reports one call; the host must be let through. */
async function hit(g: TargetGate, url: string, signal: TargetSignal) {
  return g.report(url, await call(g, url), signal);
}

/** A gate that has seen the host answer (so it is known to be up). */
async function known(n = 1) {
  const t = gates(n);
  const [g] = t.all;
  if (!g) throw new Error('no gate');
  await hit(g, A, { kind: 'answered' });
  return { ...t, g };
}

describe('TargetGate: keys', () => {
  it('a stalled path of a host that answered holds that path only, not the paths beside it', async () => {
    const { g } = await known();
    expect(await hit(g, A, { kind: 'stalled' })).toEqual({ counted: true });
    // Keyed by the target id: hold keys reach logs, a metric dimension and the shared state; a path may hold a token.
    expect(await g.admit(A)).toMatchObject({ kind: 'hold', key: `path ${targetId(A)}` });
    expect((await g.admit(B)).kind).toBe('call');
  });

  it('a 5xx with Retry-After holds its path for that long and spends no budget; one without holds nothing', async () => {
    const { g, clock } = await known();
    expect(await hit(g, A, { kind: 'server-error', retryAfterSeconds: 20 })).toMatchObject({
      counted: false,
    });
    expect(await hit(g, B, { kind: 'server-error' })).toEqual({ counted: true });
    expect(await g.admit(A)).toMatchObject({ kind: 'hold', untilMs: clock.now + 20_000 });
    expect((await g.admit(B)).kind).toBe('call');
  });

  it('a 429 holds the host and its path for the Retry-After, spends no budget, and leaves other hosts be', async () => {
    const { g, clock } = await known();
    expect(await hit(g, A, { kind: 'rate-limited', retryAfterSeconds: 2 })).toMatchObject({
      counted: false,
      key: `rate ${HOST}`,
    });
    expect(await g.admit(B)).toMatchObject({ kind: 'hold', key: `rate ${HOST}` });
    expect(g.heldUntil(B)).toBe(clock.now + 2_000);
    expect(await g.admit(A)).toMatchObject({ kind: 'hold' });
    // A healthy path's answered probe lifts the host; the limited path still waits for its own probe.
    clock.now += 2_000;
    await hit(g, B, { kind: 'answered' });
    expect((await call(g, A)).probes).toEqual([`path ${targetId(A)}`]);
  });

  it('a refused connection holds the host at once, whatever it answered before, and spends no budget', async () => {
    const { g } = await known();
    expect(await hit(g, A, { kind: 'unreachable', connect: true })).toMatchObject({
      counted: false,
      key: `outage ${HOST}`,
    });
    expect(await g.admit(B)).toMatchObject({ kind: 'hold', key: `outage ${HOST}` });
    expect((await g.admit(OTHER)).kind).toBe('call');
  });

  it('a reset or a 5xx of a host that answered lately is the event’s failure, not an outage', async () => {
    const { g } = await known();
    for (let i = 0; i < 5; i += 1) {
      expect(await hit(g, B, { kind: 'unreachable' })).toEqual({ counted: true });
      expect(await hit(g, B, { kind: 'server-error' })).toEqual({ counted: true });
    }
    expect((await g.admit(A)).kind).toBe('call');
  });
});

describe('TargetGate: a host not known to be up', () => {
  it('lets one call through; the others, in any instance, wait for its answer and then go', async () => {
    const { all } = gates(4);
    const [first, ...others] = all as [TargetGate, ...TargetGate[]];
    const probe = await call(first, A);
    expect(probe).toMatchObject({ probes: [`unknown ${HOST}`], outageProbe: true });
    const waiting = Promise.all(others.map((g) => g.admit(B)));
    await first.report(A, probe, { kind: 'answered' });
    expect((await waiting).map((a) => a.kind)).toEqual(['call', 'call', 'call']);
  });

  it('holds the others when the probe does not answer within the wait, looking again a quarter of the timeout later', async () => {
    const { all, clock } = gates(2);
    const [first, other] = all as [TargetGate, TargetGate];
    await call(first, A);
    expect(await other.admit(B)).toMatchObject({
      kind: 'hold',
      key: `unknown ${HOST}`,
      untilMs: clock.now + 2_500,
    });
  });

  it('holds the others at once while a held host is being probed: it is most likely still down', async () => {
    const { store, clock } = gates(0);
    // Calls would wait a minute for an unknown host's probe: the test's 5 s limit shows this one did not wait.
    const make = () =>
      new TargetGate({
        store,
        timeoutSeconds: 60,
        baseSeconds: 5,
        capSeconds: 60,
        probeWaitSeconds: 60,
        now: () => clock.now,
      });
    const [first, other] = [make(), make()];
    await hit(first, A, { kind: 'unreachable', connect: true });
    clock.now += 5_000;
    const probe = await call(first, A);
    expect(probe.probes).toEqual([`outage ${HOST}`]);
    expect(await other.admit(B)).toMatchObject({ kind: 'hold', key: `outage ${HOST}` });
  }, 5_000);

  it("the instance's own calls wait for its probe and then go, with no trip through the queue", async () => {
    const { all } = gates(1);
    const [g] = all as [TargetGate];
    const probe = await call(g, A);
    const waiting = Promise.all([g.admit(B), g.admit(A)]);
    await g.report(A, probe, { kind: 'answered' });
    expect((await waiting).map((a) => a.kind)).toEqual(['call', 'call']);
  });

  it('a stall or refusal of the probe is an outage signal: the host is held, the event spends nothing', async () => {
    for (const signal of [{ kind: 'stalled' }, { kind: 'unreachable', connect: true }] as const) {
      const { all } = gates(2);
      const [g, h] = all as [TargetGate, TargetGate];
      expect(await hit(g, A, signal)).toMatchObject({ counted: false, key: `outage ${HOST}` });
      expect(await h.admit(B)).toMatchObject({ kind: 'hold', key: `outage ${HOST}` });
    }
  });

  it('a fresh gate per event follows the same holds: 40 fresh gates against a host that is down make one call', async () => {
    const { make, clock } = gates(0);
    let calls = 0;
    for (let i = 0; i < 40; i += 1) {
      const g = make();
      const a = await g.admit(`${HOST}/p${i}`);
      if (a.kind !== 'call') continue;
      calls += 1;
      await g.report(`${HOST}/p${i}`, a, { kind: 'unreachable', connect: true });
    }
    expect(calls).toBe(1);
    // The host is back: the next probe after the hold lifts it for every fresh gate.
    clock.now += 5_000;
    await hit(make(), A, { kind: 'answered' });
    clock.now += 10_000; // past the ramp
    expect((await make().admit(B)).kind).toBe('call');
  });
});

describe('TargetGate: probing', () => {
  it('the level rises per probe, not per failure: a batch of 10 failing at once gives the first hold', async () => {
    const { all, clock } = await known(2);
    const [g] = all as [TargetGate];
    const batch = await Promise.all(Array.from({ length: 10 }, (_, i) => call(g, `${HOST}/p${i}`)));
    await Promise.all(
      batch.map((a, i) => g.report(`${HOST}/p${i}`, a, { kind: 'unreachable', connect: true })),
    );
    expect(g.heldUntil(A)).toBe(clock.now + 5_000);
  });

  it('follows the retry schedule per failed probe up to its cap, and an answered probe lifts the hold', async () => {
    const { all, clock } = gates(3);
    const waits: number[] = [];
    const first = all[0] as TargetGate;
    await hit(first, A, { kind: 'unreachable', connect: true });
    for (let i = 0; i < 6; i += 1) {
      const g = all[i % 3] as TargetGate;
      await g.admit(A); // refreshes this instance's view
      waits.push((g.heldUntil(A) - clock.now) / 1000);
      clock.now = g.heldUntil(A);
      const probe = await call(g, i % 2 ? A : B);
      expect(probe.outageProbe).toBe(true);
      await g.report(i % 2 ? A : B, probe, { kind: 'unreachable', connect: true });
    }
    expect(waits).toEqual([5, 10, 20, 40, 60, 60]);
    const g = all[1] as TargetGate;
    clock.now += 60_000;
    await hit(g, B, { kind: 'answered' });
    expect(g.heldUntil(A)).toBe(0);
    expect((await call(all[2] as TargetGate, A)).probes).toEqual([]);
  });

  it('a call that was not sent gives its probe back and teaches nothing', async () => {
    const { all, clock } = gates(2);
    const [g, h] = all as [TargetGate, TargetGate];
    const probe = await call(g, A);
    expect(await g.report(A, probe, { kind: 'not-sent' })).toEqual({ counted: false });
    expect(await h.admit(A)).toMatchObject({ kind: 'call', probes: [`unknown ${HOST}`] });
    expect(g.heldUntil(A)).toBeLessThanOrEqual(clock.now);
  });
});

describe('TargetGate: ramp after a hold', () => {
  it('lets one call at a time per instance through right after a hold lifts, doubling every second', async () => {
    const { g, clock } = await known();
    await hit(g, A, { kind: 'rate-limited', retryAfterSeconds: 2 });
    clock.now += 2_000;
    await hit(g, A, { kind: 'answered' });
    const first = await call(g, B);
    expect(await g.admit(B)).toMatchObject({ kind: 'hold', key: `ramp ${HOST}` });
    clock.now += 2_000;
    const admitted = await Promise.all(Array.from({ length: 6 }, () => g.admit(B)));
    // Four at once two seconds in: the one in flight and three more.
    expect(admitted.filter((a) => a.kind === 'call')).toHaveLength(3);
    await g.report(B, first, { kind: 'answered' });
    clock.now += 10_000;
    const later = await Promise.all(Array.from({ length: 50 }, () => g.admit(B)));
    expect(later.every((a) => a.kind === 'call')).toBe(true);
  });
});

describe('hold arithmetic', () => {
  it('a non-probe signal on a live hold keeps its level and end, unless the target asks for longer', () => {
    const schedule = { baseMs: 5_000, capMs: 60_000 };
    const first = nextHold(undefined, { kind: 'outage', reason: 'x' }, 0, false, schedule);
    expect(first).toMatchObject({ level: 0, untilMs: 5_000 });
    expect(nextHold(first, { kind: 'outage', reason: 'x' }, 1_000, false, schedule)).toMatchObject({
      level: 0,
      untilMs: 5_000,
    });
    expect(
      nextHold(first, { kind: 'rate', reason: 'x', givenSeconds: 30 }, 1_000, false, schedule),
    ).toMatchObject({
      level: 0,
      untilMs: 31_000,
    });
    expect(nextHold(first, { kind: 'outage', reason: 'x' }, 5_000, true, schedule)).toMatchObject({
      level: 1,
      untilMs: 15_000,
    });
  });

  it('spreads held events past the end of the hold, and long holds over the last fifth of 900 s', () => {
    expect(heldDelaySeconds(10, () => 0)).toBe(10);
    expect(heldDelaySeconds(10, () => 0.99)).toBe(15);
    const long = Array.from({ length: 100 }, (_, i) => heldDelaySeconds(3_600, () => i / 100));
    expect(Math.min(...long)).toBeGreaterThanOrEqual(720);
    expect(Math.max(...long)).toBe(900);
    expect(new Set(long).size).toBeGreaterThan(90);
  });
});

import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  answeredLately,
  type HoldSchedule,
  type Learnt,
  learn,
  type TargetSignal,
  type TargetState,
} from '../shared/domain/target-hold';
import { targetId } from '../shared/domain/target-id';
import type { TargetStateStore } from '../shared/ports';

export type { Learnt, TargetSignal } from '../shared/domain/target-hold';

/** The gate's answer for one event about to be sent. */
export type Admission =
  | {
      readonly kind: 'call';
      /** The holds this call probes (`outage http://host`, `path http://host/a`, `unknown http://host`). */
      readonly probes: readonly string[];
      /** True when the call probes a host that is held for an outage or has not answered lately. */
      readonly outageProbe: boolean;
      /** The probe lease's id, matched at report time. */
      readonly id: string;
    }
  | {
      readonly kind: 'hold';
      /** Epoch ms until which the target is held (or until an in-flight probe should have answered). */
      readonly untilMs: number;
      /** The hold that keeps the event back, e.g. `outage http://host:8080`. */
      readonly key: string;
      readonly reason: string;
    };

export interface TargetGateOptions {
  /** Where holds are shared with the other instances (the ledger table in AWS). */
  readonly store: TargetStateStore;
  /** The delivery timeout: a probe answers within it. */
  readonly timeoutSeconds: number;
  /** First hold when a target gives no time of its own; doubles with each failed probe. */
  readonly baseSeconds: number;
  /** Longest single hold (the retry schedule's cap). */
  readonly capSeconds: number;
  /** How far back "answered lately" reaches: a host that answered within it is known to be up. @default 60 */
  readonly recentSeconds?: number;
  /** After a hold lifts, each instance's calls to the host at once double every step, from 1. @default 1 */
  readonly rampStepSeconds?: number;
  /** How long a clear state read from the store is trusted without reading again. @default 1 */
  readonly cacheSeconds?: number;
  /**
   * How long a call waits, in its invocation, for a probe in flight (this instance's, or any instance's of a host
   * not seen lately) before it is held instead; at most the delivery timeout, so an invocation stays within its
   * own timeout (one delivery timeout + 15 s). @default 5
   */
  readonly probeWaitSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Doublings of a ramp: 1, 2, 4 … 128 calls at once per instance, then no limit. */
const RAMP_STEPS = 7;
/** How often a call waiting for another instance's probe reads the target's state again. */
const PROBE_POLL_MS = 200;

interface Probe {
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly targets: readonly string[];
}

interface Cached {
  /** Undefined: the store holds nothing for the target. */
  readonly state: TargetState | undefined;
  readonly atMs: number;
}

/**
 * Holds back a target that signalled it cannot take more, so that its queued events wait for it together instead
 * of each spending its own retry budget on it, and probes it with one call at a time, across every redeliverer
 * instance: the holds live in the shared store, memory is only a cache of it.
 *
 * Holds are keyed where the signal belongs (most orgs point every webhook at one host, many paths):
 * - `path` (the URL without its query): a path that stalls past the timeout, answers 5xx with a Retry-After or
 *   429. A stuck path must not starve the healthy paths beside it on the same host.
 * - `rate` (the host): a 429. Rate limits are usually a gateway's: one probe per Retry-After for the whole host.
 *   The path that answered 429 is held too, so a healthy path's answered probe releases the host at once while
 *   the limited path waits for its own probe.
 * - `outage` (the host): a call the host did not take (refused, no name, connect timeout), or any failure of a
 *   host that has not answered lately. A host not known to have answered lately is probed by one call before the
 *   others go.
 */
export class TargetGate {
  readonly #store: TargetStateStore;
  readonly #timeoutMs: number;
  readonly #schedule: HoldSchedule;
  readonly #recentMs: number;
  readonly #rampStepMs: number;
  readonly #cacheMs: number;
  readonly #probeWaitMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, Cached>();
  readonly #reading = new Map<string, Promise<ReadonlyMap<string, TargetState>>>();
  /** Probes this instance has in flight, by lease id: its other calls to the target wait for them. */
  readonly #probes = new Map<string, Probe>();
  /** Targets this instance is taking or holds a probe of: its other calls to them wait instead of racing it. */
  readonly #leasing = new Map<string, { readonly done: Promise<void>; readonly unknown: boolean }>();
  /** Calls in flight per host, for the ramp after a hold. */
  readonly #inFlight = new Map<string, number>();
  /** The last hold answered per path: what `heldUntil` reports for holds not kept in the store (probe, ramp). */
  readonly #lastHold = new Map<string, number>();

  constructor(options: TargetGateOptions) {
    this.#store = options.store;
    this.#timeoutMs = options.timeoutSeconds * 1000;
    const baseMs = options.baseSeconds * 1000;
    this.#schedule = { baseMs, capMs: Math.max(baseMs, options.capSeconds * 1000) };
    this.#recentMs = (options.recentSeconds ?? 60) * 1000;
    this.#rampStepMs = (options.rampStepSeconds ?? 1) * 1000;
    this.#cacheMs = (options.cacheSeconds ?? 1) * 1000;
    this.#probeWaitMs = Math.min(this.#timeoutMs, (options.probeWaitSeconds ?? 5) * 1000);
    this.#now = options.now ?? Date.now;
  }

  /** Decides whether an event to `url` may be sent now. Every 'call' must be followed by `report`. */
  async admit(url: string): Promise<Admission> {
    const { origin, path } = keysOf(url);
    const id = randomUUID();
    // A state from the cache decides a call or a live hold; a probe is decided on a fresh read.
    let fromCache = this.#isCached(origin, path);
    let states = await this.#read(origin, path, false);
    const started = performance.now();
    for (let round = 0; round < 100; round += 1) {
      const now = this.#now();
      const host = states.get(origin);
      const route = states.get(path);
      const live = [host, route].filter((s) => s?.hold && s.hold.untilMs > now) as TargetState[];
      if (live.length > 0) {
        // A live hold seen within the last second stands: only a probe lifts a hold, and none runs before it ends.
        const latest = live.reduce((a, b) => ((b.hold?.untilMs ?? 0) > (a.hold?.untilMs ?? 0) ? b : a));
        return this.#held(
          path,
          latest.hold?.untilMs ?? now,
          `${latest.hold?.kind} ${latest.target}`,
          latest.hold?.reason ?? '',
        );
      }
      // Targets whose hold ended, or a host not known to be up: each needs its probe before anyone else goes.
      const unknown = !host?.hold && !answeredLately(host, now, this.#recentMs);
      const toProbe: { target: string; state: TargetState | undefined; key: string }[] = [];
      if (host?.hold) toProbe.push({ target: origin, state: host, key: `${host.hold.kind} ${origin}` });
      else if (unknown) toProbe.push({ target: origin, state: host, key: `unknown ${origin}` });
      if (route?.hold) toProbe.push({ target: path, state: route, key: `path ${path}` });
      if (toProbe.length === 0) return this.#rampOr(origin, path, id, now);
      if (fromCache) {
        fromCache = false;
        states = await this.#read(origin, path, true);
        continue;
      }
      // This instance is taking, or has, a probe of one of these targets: wait for it rather than race it.
      const taking = toProbe.map((p) => this.#leasing.get(p.target)).find((t) => t !== undefined);
      if (taking) {
        const left = this.#probeWaitMs - (performance.now() - started);
        if (left > 0 && taking.unknown) {
          await Promise.race([taking.done, sleep(left)]);
          states = await this.#read(origin, path, true);
          continue;
        }
        const until = now + Math.max(1000, this.#timeoutMs / 4);
        return this.#held(path, until, toProbe[0]?.key ?? `probe ${origin}`, 'waiting for a probe');
      }
      const busy = toProbe.find((p) => (p.state?.probeUntilMs ?? 0) > now && p.state?.probeId !== id);
      if (busy) {
        const mine = busy.state?.probeId ? this.#probes.get(busy.state.probeId) : undefined;
        const left = this.#probeWaitMs - (performance.now() - started);
        // A probe of a host nobody has seen lately is most often a healthy host's first answer: wait for it (a few
        // seconds at most) rather than send the event back to the queue. A probe of a held host is most often one
        // more failure: hold at once.
        if (left > 0 && busy.key.startsWith('unknown ')) {
          await (mine ? Promise.race([mine.done, sleep(left)]) : sleep(Math.min(left, PROBE_POLL_MS)));
          states = await this.#read(origin, path, true);
          continue;
        }
        const until = Math.min(busy.state?.probeUntilMs ?? now, now + Math.max(1000, this.#timeoutMs / 4));
        return this.#held(path, until, busy.key, `waiting for a probe of ${busy.target}`);
      }
      let resolve = () => {};
      const done = new Promise<void>((r) => {
        resolve = r;
      });
      const targets = toProbe.map((p) => p.target);
      const unknownProbe = toProbe.every((p) => p.key.startsWith('unknown '));
      for (const t of targets) this.#leasing.set(t, { done, unknown: unknownProbe });
      let lost = false;
      for (const p of toProbe) {
        if (p.state?.probeId === id) continue;
        const next: TargetState = {
          ...(p.state ?? { target: p.target }),
          version: (p.state?.version ?? 0) + 1,
          probeUntilMs: now + this.#timeoutMs + 2_000,
          probeId: id,
        };
        if (await this.#write(next, p.state?.version)) continue;
        lost = true;
        break;
      }
      if (lost) {
        this.#settle({ done, resolve, targets });
        states = await this.#read(origin, path, true);
        continue;
      }
      this.#probes.set(id, { done, resolve, targets });
      this.#begin(origin);
      return {
        kind: 'call',
        probes: toProbe.map((p) => p.key),
        outageProbe: toProbe.some(
          (p) => p.target === origin && (unknown || p.state?.hold?.kind === 'outage'),
        ),
        id,
      };
    }
    return this.#held(path, this.#now() + 1000, `busy ${origin}`, 'the target state kept changing');
  }

  /** Learns from an admitted call to `url`: `admission` is what `admit` answered for it. */
  async report(url: string, admission: Admission, signal: TargetSignal): Promise<Learnt> {
    const { origin, path } = keysOf(url);
    const id = admission.kind === 'call' ? admission.id : undefined;
    if (admission.kind === 'call') this.#end(origin);
    try {
      for (let round = 0; round < 5; round += 1) {
        const states = await this.#read(origin, path, round > 0 || !this.#clearFor(origin, path, signal));
        const now = this.#now();
        const outcome = learn(states.get(origin), states.get(path), origin, path, signal, id, now, {
          recentMs: this.#recentMs,
          schedule: this.#schedule,
        });
        let ok = true;
        for (const [next, before] of outcome.writes) {
          if (!(await this.#write(next, before))) {
            ok = false;
            break;
          }
        }
        if (ok) return outcome.learnt;
      }
      // Raced five times: another instance is writing the same target; its write carries the news.
      return { counted: true };
    } finally {
      const probe = id ? this.#probes.get(id) : undefined;
      if (id && probe) {
        this.#probes.delete(id);
        this.#settle(probe);
      }
    }
  }

  /**
   * Gives back a call that was admitted but never made (the event's claim was lost to another copy): its probe
   * lease and its ramp slot, so the host is not held in this instance until the lease runs out.
   */
  async release(url: string, admission: Admission): Promise<void> {
    if (admission.kind !== 'call') return;
    await this.report(url, admission, { kind: 'not-sent' });
  }

  #settle(probe: Probe): void {
    for (const t of probe.targets) if (this.#leasing.get(t)?.done === probe.done) this.#leasing.delete(t);
    probe.resolve();
  }

  /** Epoch ms until which `url` is held as far as this instance last saw, or 0. No I/O. */
  heldUntil(url: string): number {
    const { origin, path } = keysOf(url);
    const now = this.#now();
    const holds = [this.#cached(origin)?.hold?.untilMs ?? 0, this.#cached(path)?.hold?.untilMs ?? 0];
    const last = this.#lastHold.get(path) ?? 0;
    return Math.max(0, ...holds, last > now ? last : 0);
  }

  /** True when the cached state shows a report of `signal` would write nothing (a healthy host's answer). */
  #clearFor(origin: string, path: string, signal: TargetSignal): boolean {
    // An answer that would change nothing needs no read: a state seen within the answer-refresh period will do.
    if (!this.#isCached(origin, path, this.#recentMs / 4) || signal.kind !== 'answered') return false;
    const host = this.#cached(origin);
    const route = this.#cached(path);
    const now = this.#now();
    return (
      !host?.hold &&
      host?.probeId === undefined &&
      host?.answeredAtMs !== undefined &&
      now - host.answeredAtMs <= this.#recentMs / 4 &&
      !route?.hold &&
      route?.probeId === undefined
    );
  }

  /** A call, unless the host is ramping up after a hold and this instance has as many calls in flight as allowed. */
  #rampOr(origin: string, path: string, id: string, now: number): Admission {
    const rampFrom = this.#cached(origin)?.rampFromMs;
    if (rampFrom !== undefined && now - rampFrom < this.#rampStepMs * RAMP_STEPS) {
      const allowed = 2 ** Math.floor(Math.max(0, now - rampFrom) / this.#rampStepMs);
      if ((this.#inFlight.get(origin) ?? 0) >= allowed) {
        return this.#held(
          path,
          now + this.#rampStepMs,
          `ramp ${origin}`,
          `${origin} is ramping up after a hold`,
        );
      }
    }
    this.#begin(origin);
    return { kind: 'call', probes: [], outageProbe: false, id };
  }

  #held(path: string, untilMs: number, key: string, reason: string): Admission {
    this.#lastHold.set(path, untilMs);
    if (this.#lastHold.size > 1_000) this.#lastHold.clear();
    return { kind: 'hold', untilMs, key, reason };
  }

  #begin(origin: string): void {
    this.#inFlight.set(origin, (this.#inFlight.get(origin) ?? 0) + 1);
  }

  #end(origin: string): void {
    const n = (this.#inFlight.get(origin) ?? 1) - 1;
    if (n > 0) this.#inFlight.set(origin, n);
    else this.#inFlight.delete(origin);
  }

  #isCached(origin: string, path: string, maxAgeMs = this.#cacheMs): boolean {
    const now = this.#now();
    return [origin, path].every((t) => {
      const c = this.#cache.get(t);
      return c !== undefined && now - c.atMs < maxAgeMs;
    });
  }

  #cached(target: string): TargetState | undefined {
    return this.#cache.get(target)?.state;
  }

  /** The host's and the path's states: cached for a moment, one read at a time per pair in this instance. */
  async #read(origin: string, path: string, fresh: boolean): Promise<ReadonlyMap<string, TargetState>> {
    if (!fresh && this.#isCached(origin, path)) return this.#pair(origin, path);
    const key = `${origin} ${path}`;
    let reading = this.#reading.get(key);
    if (!reading) {
      const atMs = this.#now();
      reading = this.#store
        .read([origin, path])
        .then((states) => {
          for (const t of [origin, path]) this.#remember(t, states.get(t), atMs);
          return this.#pair(origin, path);
        })
        .finally(() => this.#reading.delete(key));
      this.#reading.set(key, reading);
    }
    return reading;
  }

  #pair(origin: string, path: string): ReadonlyMap<string, TargetState> {
    const out = new Map<string, TargetState>();
    for (const t of [origin, path]) {
      const state = this.#cached(t);
      if (state) out.set(t, state);
    }
    return out;
  }

  async #write(next: TargetState, before: number | undefined): Promise<boolean> {
    const ok = await this.#store.write(next, before);
    if (ok) this.#remember(next.target, next, this.#cache.get(next.target)?.atMs ?? this.#now());
    else {
      // Someone else wrote first: keep what we knew for heldUntil, but read again before deciding on it.
      const known = this.#cache.get(next.target);
      if (known) this.#cache.set(next.target, { state: known.state, atMs: Number.NEGATIVE_INFINITY });
    }
    return ok;
  }

  #remember(target: string, state: TargetState | undefined, atMs: number): void {
    // A warm instance sees many paths over its life: the cache stays a cache.
    if (this.#cache.size > 5_000) this.#cache.clear();
    this.#cache.set(target, { state, atMs });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/**
 * The path key is the target id (origin and a hash of path and query): hold keys and reasons reach logs, metric
 * dimensions, the ledger and the shared target state, and a path may hold a token.
 */
function keysOf(url: string): { origin: string; path: string } {
  const path = targetId(url);
  try {
    return { origin: new URL(url).origin, path };
  } catch {
    return { origin: path, path };
  }
}

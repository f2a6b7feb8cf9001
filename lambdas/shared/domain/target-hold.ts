/** Why a target is held: an outage or a rate limit of the whole host, or a path of it that stalls or asked to wait. */
export type TargetHoldKind = 'outage' | 'rate' | 'path';

/** A hold on a target, shared by every instance of the redeliverer. */
export interface TargetHold {
  readonly kind: TargetHoldKind;
  readonly reason: string;
  /** Epoch ms at which the hold ends and the next call may probe. */
  readonly untilMs: number;
  /** Probes that failed in a row; the next hold without a target-given time lasts base·2^level. */
  readonly level: number;
  /** Epoch ms of the first signal of this hold. */
  readonly sinceMs: number;
}

/**
 * What every redeliverer instance knows about one target: a host (its origin) or a path of it (origin + path).
 * Each write is conditional on `version`, so two instances never both take a probe or both raise a hold's level.
 */
export interface TargetState {
  /** The host's origin (`https://host:8443`) or a path (`https://host:8443/hooks/a`). */
  readonly target: string;
  /** Starts at 1; every write adds one. */
  readonly version: number;
  readonly hold?: TargetHold;
  /** A call in flight is probing the target until this epoch ms: everyone else waits for its answer. */
  readonly probeUntilMs?: number;
  /** Which admission holds the probe, so only its own report counts as the probe's answer. */
  readonly probeId?: string;
  /** Host only: when it last answered any call (epoch ms); written at most every few seconds. */
  readonly answeredAtMs?: number;
  /** Host only: when its last hold lifted (epoch ms): calls ramp up from here. */
  readonly rampFromMs?: number;
}

/** The hold schedule: the retry schedule's base and cap, in ms. */
export interface HoldSchedule {
  readonly baseMs: number;
  readonly capMs: number;
}

/**
 * The hold a signal leaves on a target. A hold's level rises only when the call that saw the signal was the
 * probe of that very hold (`probed`): the other calls of a parallel batch that fail with it, admitted before
 * the hold existed, leave its level alone, so ten failures at once give the first hold, not the tenth.
 * A target-given time (Retry-After) wins over the schedule and is never cut short by a later signal.
 */
export function nextHold(
  existing: TargetHold | undefined,
  signal: { kind: TargetHoldKind; reason: string; givenSeconds?: number | undefined },
  now: number,
  probed: boolean,
  schedule: HoldSchedule,
): TargetHold {
  const level = existing ? existing.level + (probed ? 1 : 0) : 0;
  const own = Math.min(schedule.capMs, schedule.baseMs * 2 ** Math.min(level, 30));
  const given =
    signal.givenSeconds !== undefined && Number.isFinite(signal.givenSeconds)
      ? Math.min(schedule.capMs, Math.max(1000, signal.givenSeconds * 1000))
      : undefined;
  // A non-probe signal on a live hold only stretches it to the target's own ask; a probe's sets the next step.
  const fromSignal = now + (given ?? own);
  const untilMs =
    existing && !probed && existing.untilMs > now
      ? Math.max(existing.untilMs, given ? fromSignal : 0)
      : fromSignal;
  return {
    kind: signal.kind,
    reason: signal.reason,
    untilMs,
    level,
    sinceMs: existing?.sinceMs ?? now,
  };
}

/** The target's state with its probe given back: it asked nothing of anyone else. */
export function withoutProbe(state: TargetState, probeId: string | undefined): TargetState {
  if (state.probeId === undefined || (probeId !== undefined && state.probeId !== probeId)) return state;
  const { probeId: _id, probeUntilMs: _until, ...rest } = state;
  return rest;
}

/**
 * How long a held event waits before it is looked at again, in whole seconds for SQS's DelaySeconds (1..900):
 * past the hold's end and spread over half of it, so held events come back one after another and behind the
 * probe. A hold longer than SQS's 900 s spreads its events over the last fifth of that limit instead, so they do
 * not all come back together every 900 s while the hold lasts.
 */
export function heldDelaySeconds(remainingSeconds: number, random: () => number, maxSeconds = 900): number {
  const remaining = Math.max(1, remainingSeconds);
  const spread = remaining + random() * Math.max(1, remaining / 2);
  if (spread < maxSeconds) return Math.max(1, Math.ceil(spread));
  return Math.max(1, Math.floor(maxSeconds - random() * (maxSeconds / 5)));
}

/**
 * What one call to a target told us about the target (not about the event): fed back to the gate after every
 * admitted call.
 */
export type TargetSignal =
  /** Any answer that says the target is up and taking requests: 2xx, 3xx, 4xx other than 429. */
  | { readonly kind: 'answered' }
  /** 429: the target (usually its gateway, so the whole host) asks us to slow down. */
  | { readonly kind: 'rate-limited'; readonly retryAfterSeconds?: number | undefined }
  /** 5xx. With a Retry-After, the path asked for a pause; without one, it is the event's failure. */
  | { readonly kind: 'server-error'; readonly retryAfterSeconds?: number | undefined }
  /** Connected, but no answer within the delivery timeout: the path is stuck. */
  | { readonly kind: 'stalled' }
  /**
   * The host did not take the call. `connect`: it took no connection at all (refused, no such name, connect
   * timeout): never the event's failure. Otherwise reset, TLS failure and the like.
   */
  | { readonly kind: 'unreachable'; readonly connect?: boolean }
  /** The call was never made (the signing key could not be read): the gate learns nothing, a probe is given back. */
  | { readonly kind: 'not-sent' };

/** What a call's signal means for the event that carried it. */
export interface Learnt {
  /**
   * False when the failure was not the event's: the host is down (or has not answered lately and did not take
   * the call), or the target asked for time (429, 503 with Retry-After). The event is held, its budget untouched.
   */
  readonly counted: boolean;
  /** For an uncounted failure: the hold that now keeps the event back, and why. */
  readonly key?: string;
  readonly reason?: string;
}

/**
 * The writes a call's signal makes to the host's and the path's states (each conditional on the version read),
 * and what it means for the event. `id` is the admission's probe lease: only its own report raises a hold's level.
 */
export function learn(
  host: TargetState | undefined,
  route: TargetState | undefined,
  origin: string,
  path: string,
  signal: TargetSignal,
  id: string | undefined,
  now: number,
  rules: { readonly recentMs: number; readonly schedule: HoldSchedule },
): { writes: [TargetState, number | undefined][]; learnt: Learnt } {
  const writes: [TargetState, number | undefined][] = [];
  const put = (
    before: TargetState | undefined,
    target: string,
    next: Omit<TargetState, 'version' | 'target'>,
  ) => {
    // A signal that changes nothing (a straggler of a batch on a hold already raised) writes nothing.
    if (before && sameState(before, next)) return;
    writes.push([{ ...next, target, version: (before?.version ?? 0) + 1 }, before?.version]);
  };
  const base = (s: TargetState | undefined) => {
    if (!s) return {};
    const { version: _v, target: _t, ...rest } = withoutProbe(s, id);
    return rest;
  };
  const probedHost = id !== undefined && host?.probeId === id;
  const probedPath = id !== undefined && route?.probeId === id;
  const mineOnly = (s: TargetState | undefined, target: string) => {
    if (s && id !== undefined && s.probeId === id) put(s, target, base(s));
  };
  switch (signal.kind) {
    case 'not-sent':
      mineOnly(host, origin);
      mineOnly(route, path);
      return { writes, learnt: { counted: false } };
    case 'answered': {
      // The host answers and this path works: lift what held them, note the answer (every few seconds at most).
      const { hold, probeId: _p, probeUntilMs: _u, ...rest } = base(host);
      const stale = !host?.answeredAtMs || now - host.answeredAtMs > rules.recentMs / 4;
      if (hold || host?.probeId !== undefined || stale) {
        put(host, origin, { ...rest, answeredAtMs: now, ...(hold ? { rampFromMs: now } : {}) });
      }
      if (route?.hold || route?.probeId !== undefined) {
        const { hold: _h, probeId: _q, probeUntilMs: _w, ...r } = base(route);
        put(route, path, r);
      }
      return { writes, learnt: { counted: true } };
    }
    case 'rate-limited': {
      const reason = `${origin} answered 429 Too Many Requests`;
      const given = signal.retryAfterSeconds;
      const rate = nextHold(
        host?.hold,
        { kind: 'rate', reason, givenSeconds: given },
        now,
        probedHost,
        rules.schedule,
      );
      put(host, origin, { ...base(host), hold: rate, answeredAtMs: now });
      const pathReason = `${path} answered 429 Too Many Requests`;
      const own = nextHold(
        route?.hold,
        { kind: 'path', reason: pathReason, givenSeconds: given },
        now,
        probedPath,
        rules.schedule,
      );
      put(route, path, { ...base(route), hold: own });
      return { writes, learnt: { counted: false, key: `rate ${origin}`, reason } };
    }
    case 'server-error':
    case 'stalled':
    case 'unreachable': {
      const connect = signal.kind === 'unreachable' && signal.connect === true;
      // A refused or timed-out connection is the host's, and so is a stall of a host not known to be up.
      const down =
        connect ||
        (signal.kind === 'stalled' &&
          (host?.hold?.kind === 'outage' || !answeredLately(host, now, rules.recentMs)));
      if (down) {
        const reason = connect
          ? `${origin} took no connection`
          : `${origin} has not answered lately and did not answer within the timeout`;
        const hold = nextHold(
          host?.hold?.kind === 'rate' ? undefined : host?.hold,
          { kind: 'outage', reason },
          now,
          probedHost,
          rules.schedule,
        );
        put(host, origin, { ...base(host), hold });
        mineOnly(route, path);
        return { writes, learnt: { counted: false, key: `outage ${origin}`, reason } };
      }
      if (signal.kind === 'server-error') {
        // An answer, if a bad one: the host takes calls.
        const stale = !host?.answeredAtMs || now - host.answeredAtMs > rules.recentMs / 4;
        if (stale || probedHost) put(host, origin, { ...base(host), answeredAtMs: now });
      } else mineOnly(host, origin);
      const asked = signal.kind === 'server-error' && signal.retryAfterSeconds !== undefined;
      if (signal.kind === 'stalled' || asked) {
        const reason = asked
          ? `${path} answered 5xx with Retry-After`
          : `${path} did not answer within the timeout`;
        const given = signal.kind === 'server-error' ? signal.retryAfterSeconds : undefined;
        const hold = nextHold(
          route?.hold,
          { kind: 'path', reason, givenSeconds: given },
          now,
          probedPath,
          rules.schedule,
        );
        put(route, path, { ...base(route), hold });
        // A 503 with Retry-After is the target asking for time; a stall is the event's failure.
        return {
          writes,
          learnt: asked ? { counted: false, key: `path ${path}`, reason } : { counted: true },
        };
      }
      mineOnly(route, path);
      return { writes, learnt: { counted: true } };
    }
  }
}

function sameState(before: TargetState, next: Omit<TargetState, 'version' | 'target'>): boolean {
  const { version: _v, target: _t, ...was } = before;
  return JSON.stringify(sorted(was)) === JSON.stringify(sorted(next));
}

function sorted(o: object): object {
  return Object.fromEntries(
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, v && typeof v === 'object' ? sorted(v) : v]),
  );
}

/** True when the host answered any call within `recentMs`. */
export function answeredLately(host: TargetState | undefined, now: number, recentMs: number): boolean {
  return host?.answeredAtMs !== undefined && now - host.answeredAtMs <= recentMs;
}

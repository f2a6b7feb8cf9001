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

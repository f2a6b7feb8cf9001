import { targetId } from '../shared/domain/target-id';

/**
 * What one call to a target told us about the target (not about the event): fed back to the gate after every
 * real attempt.
 */
export type TargetSignal =
  /** Any answer that says the target is up and taking requests: 2xx, 3xx, 4xx other than 429. */
  | { readonly kind: 'answered' }
  /** 429: the target (usually its gateway, so the whole host) asks us to slow down. */
  | { readonly kind: 'rate-limited'; readonly retryAfterSeconds?: number | undefined }
  /** 5xx. With a Retry-After, the path asked for a pause; without one, it is only a sign of an outage. */
  | { readonly kind: 'server-error'; readonly retryAfterSeconds?: number | undefined }
  /** No answer within the delivery timeout: the path is stuck. */
  | { readonly kind: 'stalled' }
  /** Refused, reset, DNS failure, TLS failure: the host did not take the call. */
  | { readonly kind: 'unreachable' };

/** The gate's answer for one event about to be sent. */
export type Admission =
  | {
      readonly kind: 'call';
      /** The holds this call probes; empty when the target is not held. */
      readonly probes: readonly string[];
      /** True when the call probes a host held for an outage: its failure is the host's, not the event's. */
      readonly outageProbe: boolean;
    }
  | {
      readonly kind: 'hold';
      /** Epoch ms until which the target is held (or until an in-flight probe should have settled). */
      readonly untilMs: number;
      /** The hold that keeps the event back, e.g. `outage http://host:8080`. */
      readonly key: string;
      readonly reason: string;
    };

export interface TargetGateOptions {
  /** The delivery timeout: an in-flight probe settles within it. */
  readonly timeoutSeconds: number;
  /** First hold when a target gives no time of its own; doubles with each signal in a row. */
  readonly baseSeconds: number;
  /** Longest single hold (the retry schedule's cap). */
  readonly capSeconds: number;
  /** Failures in a row across a host's paths (refused, reset, timed out, 5xx) that make it an outage. @default 3 */
  readonly outageAfter?: number;
  /** How far back "recent" reaches: a path answered within it shows the host is up. @default 60 */
  readonly recentSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Hold {
  readonly key: string;
  readonly reason: string;
  untilMs: number;
  /** Signals in a row; the next hold without a target-given time lasts base·2^level. */
  level: number;
  /** A probe is in flight: everyone else waits for its answer. */
  probing: boolean;
}

/**
 * Holds back a target that signalled it cannot take more, so that its queued events wait for it together instead
 * of each spending its own retry budget on it, and probes it with one call at a time.
 *
 * Three holds, each keyed where the signal belongs (most orgs point every webhook at one host, many paths):
 * - `path` (the target id: origin and a hash of path and query): a path that stalls past the timeout, or answers 5xx with a Retry-After. A
 *   stuck path must not starve the healthy paths beside it on the same host.
 * - `rate` (the origin): a 429. Rate limits are usually a gateway's, i.e. the host's: one probe per Retry-After
 *   for the whole host instead of one 429 per queued event. The path that answered 429 is held too, so a healthy
 *   path's answered probe releases the host at once while the limited path keeps waiting for its own probe.
 * - `outage` (the origin): every call to the host, on any path, failed in a row (refused, reset, timed out or
 *   5xx). Probes while it lasts test the host; the event that carries one spends no budget if the host is still
 *   down.
 *
 * State lives per warm instance, as a Lambda can keep it; a fresh instance relearns it from one call.
 */
export class TargetGate {
  readonly #holds = new Map<string, Hold>();
  /** Failures in a row per origin, any path. */
  readonly #failuresInRow = new Map<string, number>();
  /** Per origin, per path: when it last answered (epoch ms). */
  readonly #lastAnswered = new Map<string, Map<string, number>>();
  readonly #recentMs: number;
  readonly #timeoutMs: number;
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #outageAfter: number;
  readonly #now: () => number;

  constructor(options: TargetGateOptions) {
    this.#timeoutMs = options.timeoutSeconds * 1000;
    this.#baseMs = options.baseSeconds * 1000;
    this.#capMs = Math.max(this.#baseMs, options.capSeconds * 1000);
    this.#outageAfter = options.outageAfter ?? 3;
    this.#recentMs = (options.recentSeconds ?? 60) * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Decides whether an event to `url` may be sent now; a 'call' that probes must be followed by `report`. */
  admit(url: string): Admission {
    const now = this.#now();
    const holds = this.#holdsFor(url);
    if (holds.length === 0) return { kind: 'call', probes: [], outageProbe: false };
    const waiting = holds.find((h) => h.untilMs > now) ?? holds.find((h) => h.probing);
    if (waiting) {
      const latest = holds.reduce((a, b) => (b.untilMs > a.untilMs ? b : a), waiting);
      // A probe in flight settles within the timeout; look again a quarter of the way through it.
      const untilMs = Math.max(
        latest.untilMs,
        waiting.probing ? now + Math.max(1000, this.#timeoutMs / 4) : 0,
      );
      return {
        kind: 'hold',
        untilMs,
        key: latest.key,
        reason: latest.reason,
      };
    }
    for (const h of holds) h.probing = true;
    return {
      kind: 'call',
      probes: holds.map((h) => h.key),
      outageProbe: holds.some((h) => h.key.startsWith('outage ')),
    };
  }

  /**
   * Gives back a 'call' that was admitted but not made (another copy of the event claimed it first, or the claim
   * could not be written): a probe it carried is no longer in flight, so the next event probes instead.
   */
  release(admission: Admission): void {
    if (admission.kind !== 'call') return;
    for (const key of admission.probes) {
      const h = this.#holds.get(key);
      if (h) h.probing = false;
    }
  }

  /** Learns from a real call to `url`. `admission` is what `admit` answered for it. */
  report(url: string, admission: Admission, signal: TargetSignal): void {
    if (admission.kind === 'call') {
      for (const key of admission.probes) {
        const h = this.#holds.get(key);
        if (h) h.probing = false;
      }
    }
    const { origin, path } = keysOf(url);
    const now = this.#now();
    switch (signal.kind) {
      case 'answered':
        // The host answers and this path works: lift everything that held them.
        this.#answered(origin, path, now);
        for (const key of [`path ${path}`, `rate ${origin}`, `outage ${origin}`]) this.#holds.delete(key);
        return;
      case 'rate-limited':
        // An answer: the host is up, only busy.
        this.#failuresInRow.delete(origin);
        this.#holds.delete(`outage ${origin}`);
        this.#hold(
          `rate ${origin}`,
          `${origin} answered 429 Too Many Requests`,
          now,
          signal.retryAfterSeconds,
        );
        return;
      case 'server-error':
        if (signal.retryAfterSeconds !== undefined) {
          this.#hold(`path ${path}`, `${path} answered 5xx with Retry-After`, now, signal.retryAfterSeconds);
        }
        this.#failed(origin, path, now);
        return;
      case 'stalled':
        this.#hold(`path ${path}`, `${path} did not answer within the timeout`, now, undefined);
        this.#failed(origin, path, now);
        return;
      case 'unreachable':
        this.#failed(origin, path, now);
        return;
    }
  }

  /** Epoch ms until which `url` is held, or 0 when nothing holds it. No side effects. */
  heldUntil(url: string): number {
    return Math.max(0, ...this.#holdsFor(url).map((h) => h.untilMs));
  }

  #answered(origin: string, path: string, now: number): void {
    this.#failuresInRow.delete(origin);
    const paths = this.#lastAnswered.get(origin) ?? new Map<string, number>();
    paths.set(path, now);
    this.#lastAnswered.set(origin, paths);
  }

  #failed(origin: string, path: string, now: number): void {
    const n = (this.#failuresInRow.get(origin) ?? 0) + 1;
    this.#failuresInRow.set(origin, n);
    // Several paths failing in a row is not an outage while another path of the host answered recently: most
    // orgs put every webhook behind one host, and a few broken paths must not hold back the healthy ones.
    const paths = this.#lastAnswered.get(origin);
    paths?.delete(path);
    for (const [p, at] of paths ?? []) if (now - at > this.#recentMs) paths?.delete(p);
    if (paths && paths.size > 0) return;
    if (n >= this.#outageAfter) {
      this.#hold(`outage ${origin}`, `every recent call to ${origin} failed (${n} in a row)`, now, undefined);
    }
  }

  #hold(key: string, reason: string, now: number, givenSeconds: number | undefined): void {
    const existing = this.#holds.get(key);
    const level = existing ? existing.level + 1 : 0;
    const ownMs = Math.min(this.#capMs, this.#baseMs * 2 ** Math.min(level, 30));
    const ms =
      givenSeconds !== undefined && Number.isFinite(givenSeconds)
        ? Math.min(this.#capMs, Math.max(1000, givenSeconds * 1000))
        : ownMs;
    this.#holds.set(key, {
      key,
      reason,
      untilMs: Math.max(existing?.untilMs ?? 0, now + ms),
      level,
      probing: false,
    });
  }

  #holdsFor(url: string): Hold[] {
    const { origin, path } = keysOf(url);
    const out: Hold[] = [];
    for (const key of [`outage ${origin}`, `rate ${origin}`, `path ${path}`]) {
      const h = this.#holds.get(key);
      if (h) out.push(h);
    }
    return out;
  }
}

/** The path key is the target id: hold keys and reasons reach logs, metric dimensions and the ledger. */
function keysOf(url: string): { origin: string; path: string } {
  const path = targetId(url);
  try {
    return { origin: new URL(url).origin, path };
  } catch {
    return { origin: path, path };
  }
}

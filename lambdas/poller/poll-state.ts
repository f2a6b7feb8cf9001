import type { RetryMessage } from '../shared/domain/retry-message';
import { GenesysApiError } from '../shared/errors';
import type { FailedDeliverySource, Ledger, RetryQueue } from '../shared/ports';
import type { PipelineSettings } from '../shared/settings';

/** Shortest window a big one is split into: finer than this, the platform's dates stop telling entries apart. */
export const MIN_PART_MS = 1_000;

/** Something worth a line in local mode or a log entry. */
export type PollEvent =
  | { kind: 'enqueued'; message: RetryMessage }
  | { kind: 'duplicate'; webhookId: string; deliveryId: string; eventKey: string }
  | { kind: 'invalid'; webhookId: string; deliveryId: string; reason: string };

export interface WebhookPollResult {
  readonly webhookId: string;
  found: number;
  enqueued: number;
  duplicates: number;
  invalid: number;
  /** Delivery-log requests that answered (pages read, probes of windows that were then split included). */
  pages: number;
  readonly windowStart: string;
  /** The watermark after this poll. */
  through: string;
  /** How far the watermark is behind the end of the poll, in seconds. */
  lagSeconds: number;
  /** False when the poll stopped early (time budget, rate limit, error); the next tick resumes from `through`. */
  complete: boolean;
  /**
   * True when the poll read pages of this webhook's log (more than a few probes) but could not move its
   * watermark: unless something
   * changes, the next poll will do the same, so this is an error, never "resume later".
   */
  stalled: boolean;
  error?: { message: string; status?: number | undefined; code?: string | undefined };
}

export interface PollDeps {
  readonly source: FailedDeliverySource;
  readonly queue: RetryQueue;
  readonly ledger: Ledger;
  readonly settings: Pick<
    PipelineSettings,
    | 'WEBHOOK_ID'
    | 'LOOKBACK_HOURS'
    | 'POLL_OVERLAP_SECONDS'
    | 'FORWARD_CREDENTIAL_HEADERS'
    | 'TARGET_ALLOWED_HOSTS'
    | 'TARGET_ALLOW_LOOPBACK'
    | 'TARGET_ALLOW_PRIVATE'
    | 'EXTRA_CREDENTIAL_HEADERS'
  >;
  /** The wall clock that windows and watermarks are reckoned by. */
  readonly now: () => Date;
  /** Epoch ms by which the poll must have stopped starting new work (by `clock`). */
  readonly deadline: number;
  /** The clock `deadline` is measured by. @default Date.now */
  readonly clock?: () => number;
  readonly onEvent?: (event: PollEvent) => void;
}

/** Most pages one part (a window read to its end before the watermark moves) is planned to hold. */
export const MAX_PART_PAGES = 50;
/** Pages a poll may plan for before it has timed one (read and processed). */
const WARM_UP_PAGES = 20;
/** Headroom on the measured time per page when sizing a window to the time left. */
const PACE_MARGIN = 1.25;

/** Time spent per page so far in this poll (read and processed), to size windows to the time left. */
export class Pace {
  private ms = 0;
  private pages = 0;
  private processed = 0;
  constructor(
    private readonly clock: () => number,
    private readonly deadline: number,
  ) {}

  /** Runs work on a page (reading it, or processing it) and counts its time; `read` counts the page. */
  async time<T>(work: () => Promise<T>, read: boolean): Promise<T> {
    const started = this.clock();
    try {
      return await work();
    } finally {
      this.ms += this.clock() - started;
      if (read) this.pages += 1;
      else this.processed += 1;
    }
  }

  /**
   * Pages that fit the time left at the pace so far. Until a page has been read and processed the pace is
   * unknown (a read alone is quick; its claims and sends are most of the cost), so the first windows are
   * kept small enough to learn it.
   */
  affordable(): number {
    if (this.processed === 0) return WARM_UP_PAGES;
    const perPage = Math.max(1, (this.ms / this.pages) * PACE_MARGIN);
    return Math.max(0, Math.floor((this.deadline - this.clock()) / perPage));
  }
}

/** Thrown when a window could not be fully enqueued; the watermark stays put so nothing is skipped. */
export class PartIncomplete extends Error {}

/**
 * A window too big for one part, read as a chain of one-page parts with no page wasted on probes or cut short
 * by a split: each read is page 1 of the window from where the previous page's entries ended (just after its
 * newest entry) to `end`. Whether a page held all of its range [from, newest + 1 ms) is counted, never assumed:
 * the window from `from` held `total` entries, the window from newest + 1 ms holds the next read's total, and
 * the difference must be exactly the page's distinct entries. Only the settled part of the poll's window is read
 * this way (older than the overlap, so no entry can still be listed late and change a total between the two
 * reads); a platform whose page 1 is not the oldest entries, or an entry without an id or date, fails the count
 * and the window is split by time instead.
 */
export interface Chain {
  /** End of the chain's windows: the poll's window end or, if sooner, the overlap before the probe was read. */
  readonly end: number;
  /** Start of the next window to read. */
  next: number;
  /** Entries the whole window [cursor, poll end) held at the probe, and when it was read. */
  readonly probeTotal: number;
  readonly probeReadAt: Date;
  /** Entries that window held after `end` at the probe, once the chain's first read has counted the rest. */
  tail?: number;
  /** The page read last, whose range the next read's total confirms. */
  pending?: { readonly from: number; readonly total: number; readonly seen: number; readonly readAt: Date };
}

/** One webhook's progress through a poll. */
export interface WebhookState {
  readonly result: WebhookPollResult;
  /** Start of the next window to read (epoch ms). */
  cursor: number;
  /** End of everything this poll reads (the poll's start). */
  readonly end: number;
  /** The cursor when the poll began: a poll that never moved it made no progress. */
  readonly startedAt: number;
  done: boolean;
  /** Pages of [cursor, end) by this poll's last count, so the next turn need not probe it whole again. */
  remainingPages?: number | undefined;
  /** A window too big for one part, being read a page at a time (see Chain). */
  chain?: Chain | undefined;
  /** A chain's count failed in this poll: the platform does not page that way, so split by time until the end. */
  noChain?: boolean;
  /** The cursor has moved past what the ledger's watermark says (chain pages are written once a turn). */
  unsaved?: { readAt: Date; pages: number } | undefined;
  /** Events seen in this poll: a claim still pending would be taken again, so repeats are folded here first. */
  readonly seen: Set<string>;
  /**
   * Entries dated from here on (epoch ms: the watermark when the poll began) were in no window a poll read to
   * its end, so they are most likely new: their claim skips the read that pays only for entries listed again.
   */
  unlistedFrom: number;
}

/** Moves the cursor (not yet the ledger's watermark) past a range read entirely at `readAt`. */
export function commit(state: WebhookState, through: number, readAt: Date): void {
  state.cursor = through;
  state.result.through = maxIso(state.result.through, new Date(through).toISOString());
  state.done = through >= state.end;
  const earliest = state.unsaved && state.unsaved.readAt <= readAt ? state.unsaved.readAt : readAt;
  state.unsaved = { readAt: earliest, pages: (state.unsaved?.pages ?? 0) + 1 };
}

/** Writes the watermark the cursor has reached, with when the oldest range it adds was read. */
export async function save(state: WebhookState, deps: PollDeps, pollAt: Date): Promise<void> {
  const { unsaved } = state;
  if (unsaved === undefined) return;
  await deps.ledger.setWatermark({
    webhookId: state.result.webhookId,
    through: state.result.through,
    lastPollAt: pollAt.toISOString(),
    readAt: unsaved.readAt.toISOString(),
  });
  state.unsaved = undefined;
}

export function stop(state: WebhookState, error: unknown): void {
  state.result.complete = false;
  state.result.error = {
    message: error instanceof Error ? error.message : String(error),
    ...(error instanceof GenesysApiError ? { status: error.status, code: error.code } : {}),
  };
}

export function maxIso(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

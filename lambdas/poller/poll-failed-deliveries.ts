import { redactCredentialHeaders } from '../shared/domain/headers';
import { normaliseDelivery } from '../shared/domain/normalise-delivery';
import type { RetryMessage } from '../shared/domain/retry-message';
import { GenesysApiError } from '../shared/errors';
import type { DeliveryPage, FailedDeliverySource, Ledger, RetryQueue } from '../shared/ports';
import { closeRefusedClaim } from '../shared/refused-claim';
import type { PipelineSettings } from '../shared/settings';

/** Shortest window a big one is split into: finer than this, the platform's dates stop telling entries apart. */
const MIN_PART_MS = 1_000;
/** Fewest pages left worth another probe when a turn's share is large (a probe is a page read for nothing). */
const MIN_SPLIT_PAGES = 10;
/** Aim split windows at this fraction of what is affordable: entries are not spread evenly over time. */
const SPLIT_FILL = 0.8;

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
const MAX_PART_PAGES = 50;
/** Pages a poll may plan for before it has timed one (read and processed). */
const WARM_UP_PAGES = 20;
/** Headroom on the measured time per page when sizing a window to the time left. */
const PACE_MARGIN = 1.25;

/** Time spent per page so far in this poll (read and processed), to size windows to the time left. */
class Pace {
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
class PartIncomplete extends Error {}

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
interface Chain {
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
interface WebhookState {
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

/**
 * Reads each webhook's failed deliveries since its watermark (and again where entries may since have been
 * listed late), enqueues each event once, records every entry it cannot enqueue, and moves the watermark past
 * each window read to its end. Webhooks take turns with a fair share of the poll's request budget, and a window
 * holding more pages than a share is read in parts, so every poll makes progress and one webhook's backlog
 * cannot starve another's: its settled part page by page, each page's range confirmed by count (Chain), the
 * rest (and a platform that does not count or order that way) split by time until a part fits.
 */
export async function pollFailedDeliveries(deps: PollDeps): Promise<WebhookPollResult[]> {
  const pollAt = deps.now();
  const clock = deps.clock ?? Date.now;
  const pace = new Pace(clock, deps.deadline);
  const states = await Promise.all(deps.settings.WEBHOOK_ID.map((id) => startWebhook(id, pollAt, deps)));
  let active = states.filter((s) => !s.done && s.result.error === undefined);
  while (active.length > 0) {
    if (clock() >= deps.deadline) {
      for (const s of active) stop(s, new PartIncomplete('time budget spent before the window was read'));
      break;
    }
    const capacity = Math.min(
      deps.source.requestCapacity?.(deps.deadline) ?? Number.POSITIVE_INFINITY,
      pace.affordable(),
    );
    if (capacity < 1) {
      for (const s of active) {
        stop(
          s,
          new GenesysApiError(
            'the Genesys Cloud request budget is spent until after the time budget; resuming next poll',
            429,
            'client.rate.limit',
            undefined,
          ),
        );
      }
      break;
    }
    const share = Math.max(1, Math.floor(capacity / active.length));
    const marks = active.map(progressMark);
    for (const state of active) await readPart(state, share, deps, pollAt, pace);
    // A turn that moved no cursor (nor a chain) had too little budget left for any window: more turns would
    // only probe.
    const moved = active.some((s, i) => progressMark(s) !== marks[i]);
    active = active.filter((s) => !s.done && s.result.error === undefined);
    if (!moved) {
      for (const s of active) stop(s, new PartIncomplete('request budget spent before the window was read'));
      break;
    }
  }
  const endedAt = deps.now().getTime();
  for (const s of states) {
    const through = Date.parse(s.result.through);
    s.result.lagSeconds = Math.max(0, Math.round((endedAt - through) / 1000));
    // A probe or two on a nearly spent budget is not a wedge; reading pages worth a window and moving
    // nothing is.
    s.result.stalled = !s.done && s.result.pages >= MIN_SPLIT_PAGES && s.cursor <= s.startedAt;
    if (s.result.stalled && s.result.error === undefined) {
      s.result.error = { message: 'read pages of the delivery log but could not move the watermark' };
    }
  }
  return states.map((s) => s.result);
}

/**
 * Where a webhook's reading stands: changes whenever a turn made progress, or learnt that the log cannot be
 * read by chain (once a poll: the next turn then splits by time).
 */
function progressMark(state: WebhookState): string {
  return `${state.cursor}/${state.chain?.next ?? ''}/${state.noChain === true}`;
}

async function startWebhook(webhookId: string, pollAt: Date, deps: PollDeps): Promise<WebhookState> {
  const end = pollAt.getTime();
  const result: WebhookPollResult = {
    webhookId,
    found: 0,
    enqueued: 0,
    duplicates: 0,
    invalid: 0,
    pages: 0,
    windowStart: pollAt.toISOString(),
    through: pollAt.toISOString(),
    lagSeconds: 0,
    complete: true,
    stalled: false,
  };
  const state: WebhookState = {
    result,
    cursor: end,
    end,
    startedAt: end,
    done: false,
    seen: new Set(),
    unlistedFrom: end,
  };
  try {
    const watermark = await deps.ledger.getWatermark(webhookId);
    const overlapMs = deps.settings.POLL_OVERLAP_SECONDS * 1000;
    // Entries created less than the overlap before the last read may not have been listed then; older
    // entries were, so a backlog read long after its dates is not read twice.
    const start = watermark
      ? Math.min(Date.parse(watermark.through), Date.parse(watermark.readAt ?? watermark.through) - overlapMs)
      : end - deps.settings.LOOKBACK_HOURS * 3_600_000;
    const through = watermark?.through ?? new Date(start).toISOString();
    Object.assign(result, { windowStart: new Date(start).toISOString(), through });
    Object.assign(state, { cursor: start, startedAt: start, unlistedFrom: Date.parse(through) });
    if (start >= end) {
      state.done = true;
      await deps.ledger.setWatermark({ webhookId, through, lastPollAt: pollAt.toISOString() });
    }
  } catch (error) {
    stop(state, error);
  }
  return state;
}

/**
 * Reads one window from the cursor, at most `share` requests: probes its first page, and when the whole window
 * holds more pages than are left, reads it by chain (readChain) if it can, else, while the window holds more
 * pages than are left, shrinks it in proportion. A part read to its end moves the watermark.
 */
async function readPart(
  state: WebhookState,
  share: number,
  deps: PollDeps,
  pollAt: Date,
  pace: Pace,
): Promise<void> {
  if (state.chain) return readChain(state, share, deps, pollAt, pace);
  const { webhookId } = state.result;
  const options = { deadline: deps.deadline };
  // Parts of at most MAX_PART_PAGES: a part cut off by the deadline is read again by the next poll, so
  // shorter parts lose less when the pace changes; each part's first page is also its probe.
  let left = Math.min(share, MAX_PART_PAGES);
  let partEnd = state.end;
  try {
    const readAt = deps.now();
    const windowOf = () => ({ webhookId, start: new Date(state.cursor), end: new Date(partEnd) });
    const read = (pageNumber: number) =>
      pace.time(async () => {
        const page = await deps.source.readPage(windowOf(), pageNumber, options);
        state.result.pages += 1;
        return page;
      }, true);
    // Pages of [cursor, end) as a probe of this poll last counted them; unknown at first.
    let outerPages = state.remainingPages ?? Number.POSITIVE_INFINITY;
    state.remainingPages = undefined;
    let first: DeliveryPage | undefined;
    for (;;) {
      const span = partEnd - state.cursor;
      if (first !== undefined) {
        const pages = first.pageCount ?? 1;
        if (pages - 1 <= left || span <= MIN_PART_MS) break;
        if (partEnd === state.end) {
          outerPages = pages;
          // The whole window is too big for one part: read its settled part as a chain of pages, which
          // costs no probe beyond this one and no page cut short by a split.
          const chain = startChain(state, first, readAt, deps);
          if (chain !== undefined) {
            state.chain = chain;
            return await readChain(state, left, deps, pollAt, pace);
          }
        }
      } else if (outerPages - 1 <= left || outerPages === Number.POSITIVE_INFINITY) {
        first = await read(1);
        left = Math.min(left - 1, pace.affordable());
        continue;
      }
      // Too big for what is left: aim a shorter window (plus its own probe) at what this turn can afford,
      // unless so little is left that the probes would cost more than the pages they make room for.
      if (left < Math.max(2, Math.min(MIN_SPLIT_PAGES, share / 2))) {
        if (outerPages !== Number.POSITIVE_INFINITY) state.remainingPages = outerPages;
        return;
      }
      const pages = first?.pageCount ?? outerPages;
      const fraction = ((left - 1) / pages) * SPLIT_FILL;
      partEnd = state.cursor + Math.max(MIN_PART_MS, Math.floor(span * fraction));
      first = await read(1);
      left = Math.min(left - 1, pace.affordable());
    }
    const partPages = first.pageCount ?? 1;
    await pace.time(() => processPage(webhookId, first.entries, deps, state), false);
    for (let pageNumber = 2, page = first; page.hasNext; pageNumber++) {
      if ((deps.clock ?? Date.now)() >= deps.deadline)
        throw new PartIncomplete('time budget spent before the window was read');
      page = await read(pageNumber);
      await pace.time(() => processPage(webhookId, page.entries, deps, state), false);
    }
    const through = maxIso(state.result.through, new Date(partEnd).toISOString());
    await deps.ledger.setWatermark({
      webhookId,
      through,
      lastPollAt: pollAt.toISOString(),
      readAt: readAt.toISOString(),
    });
    state.result.through = through;
    state.cursor = partEnd;
    state.done = partEnd >= state.end;
    // What is left of the window counted before it was split, give or take the page the split cut in two:
    // the next turn sizes its part from this instead of probing the whole rest again.
    if (!state.done && outerPages !== Number.POSITIVE_INFINITY)
      state.remainingPages = Math.max(1, outerPages - partPages + 1);
  } catch (error) {
    stop(state, error);
    // Record that the poll ran even though the watermark could not move.
    await deps.ledger
      .setWatermark({ webhookId, through: state.result.through, lastPollAt: pollAt.toISOString() })
      .catch(() => undefined);
  }
}

/** A chain for the window [cursor, end) whose probe is `probe`, when the platform counts and part is settled. */
function startChain(
  state: WebhookState,
  probe: DeliveryPage,
  readAt: Date,
  deps: PollDeps,
): Chain | undefined {
  if (probe.total === undefined || state.noChain) return undefined;
  // Entries created before this were all listed by the time the probe was read: nothing can arrive there.
  const end = Math.min(state.end, readAt.getTime() - deps.settings.POLL_OVERLAP_SECONDS * 1000);
  if (end - state.cursor <= MIN_PART_MS) return undefined;
  return { end, next: state.cursor, probeTotal: probe.total, probeReadAt: readAt };
}

/**
 * Reads up to `budget` pages of the chain, moving the cursor past each page whose range the next read's count
 * confirms, and writes the watermark at the end of the turn (and every MAX_PART_PAGES pages). When the chain
 * reaches its end the rest of the window (the last minutes, where entries may still be listed late) is read as
 * an ordinary part, or not at all if the probe counted nothing there: entries listed there since are re-read by
 * the next poll, which starts at least the overlap before the probe.
 */
async function readChain(
  state: WebhookState,
  budget: number,
  deps: PollDeps,
  pollAt: Date,
  pace: Pace,
): Promise<void> {
  const chain = state.chain;
  if (chain === undefined) return;
  const { webhookId } = state.result;
  const clock = deps.clock ?? Date.now;
  let left = budget;
  try {
    while (left >= 1 && state.chain === chain) {
      if (clock() >= deps.deadline) throw new PartIncomplete('time budget spent before the window was read');
      const from = chain.next;
      const readAt = deps.now();
      const window = { webhookId, start: new Date(from), end: new Date(chain.end) };
      const page = await pace.time(async () => {
        const read = await deps.source.readPage(window, 1, { deadline: deps.deadline });
        state.result.pages += 1;
        return read;
      }, true);
      left = Math.min(left - 1, pace.affordable());
      const { total } = page;
      const { pending } = chain;
      if (pending !== undefined) {
        // Settled, so both totals count the same entries before `from`: the page before held all of them.
        if (total === undefined || pending.total - total !== pending.seen) {
          leaveChain(state);
          break;
        }
        chain.pending = undefined;
        commit(state, from, pending.readAt);
      }
      if (chain.tail === undefined) {
        // The chain's first window starts where the probe's did and ends sooner: the difference is the tail.
        if (total === undefined || total > chain.probeTotal) {
          leaveChain(state);
          break;
        }
        chain.tail = chain.probeTotal - total;
      }
      await pace.time(() => processPage(webhookId, page.entries, deps, state), false);
      if (!page.hasNext) {
        // Read to its end, as an ordinary part is.
        state.chain = undefined;
        commit(state, chain.end, readAt);
        if (chain.tail === 0) commit(state, state.end, chain.probeReadAt);
        break;
      }
      const range = total === undefined ? undefined : pageRange(page.entries, from, chain.end);
      if (range === undefined || total === undefined) {
        leaveChain(state);
        break;
      }
      chain.pending = { from, total, seen: range.entries, readAt };
      chain.next = range.newest + 1;
      if ((state.unsaved?.pages ?? 0) >= MAX_PART_PAGES) await save(state, deps, pollAt);
    }
    await save(state, deps, pollAt);
  } catch (error) {
    state.chain = undefined;
    stop(state, error);
    // What was confirmed stays confirmed; and record that the poll ran.
    await save(state, deps, pollAt).catch(() => undefined);
    await deps.ledger
      .setWatermark({ webhookId, through: state.result.through, lastPollAt: pollAt.toISOString() })
      .catch(() => undefined);
  }
}

/** Stops reading by chain: the rest of the window, from the cursor, is split by time. */
function leaveChain(state: WebhookState): void {
  state.chain = undefined;
  state.noChain = true;
  state.remainingPages = undefined;
}

/** Moves the cursor (not yet the ledger's watermark) past a range read entirely at `readAt`. */
function commit(state: WebhookState, through: number, readAt: Date): void {
  state.cursor = through;
  state.result.through = maxIso(state.result.through, new Date(through).toISOString());
  state.done = through >= state.end;
  const earliest = state.unsaved && state.unsaved.readAt <= readAt ? state.unsaved.readAt : readAt;
  state.unsaved = { readAt: earliest, pages: (state.unsaved?.pages ?? 0) + 1 };
}

/** Writes the watermark the cursor has reached, with when the oldest range it adds was read. */
async function save(state: WebhookState, deps: PollDeps, pollAt: Date): Promise<void> {
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

/**
 * The newest dateCreated (epoch ms) of a page and how many distinct entries it holds, when every entry has an
 * id and a date inside [start, end); otherwise the page cannot be counted against a range.
 */
function pageRange(
  entries: readonly unknown[],
  start: number,
  end: number,
): { newest: number; entries: number } | undefined {
  const ids = new Set<string>();
  let newest = Number.NEGATIVE_INFINITY;
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null) return undefined;
    const { id, dateCreated } = entry as { id?: unknown; dateCreated?: unknown };
    if (typeof id !== 'string' || typeof dateCreated !== 'string') return undefined;
    const ms = Date.parse(dateCreated);
    if (!Number.isFinite(ms) || ms < start || ms >= end) return undefined;
    ids.add(id);
    newest = Math.max(newest, ms);
  }
  return ids.size === 0 ? undefined : { newest, entries: ids.size };
}

function stop(state: WebhookState, error: unknown): void {
  state.result.complete = false;
  state.result.error = {
    message: error instanceof Error ? error.message : String(error),
    ...(error instanceof GenesysApiError ? { status: error.status, code: error.code } : {}),
  };
}

/** Normalises an entry; a throw (a bug, or an input nothing anticipated) becomes a refusal, never a stopped page. */
function normalise(entry: unknown, webhookId: string, deps: PollDeps, now: Date) {
  try {
    return normaliseDelivery(entry, {
      webhookId,
      forwardCredentials: deps.settings.FORWARD_CREDENTIAL_HEADERS,
      extraCredentialHeaders: deps.settings.EXTRA_CREDENTIAL_HEADERS,
      targets: deps.settings,
      now,
    });
  } catch (error) {
    const reason = `entry could not be read: ${error instanceof Error ? error.message : String(error)}`;
    return { ok: false as const, deliveryId: 'unknown', reason };
  }
}

async function processPage(
  webhookId: string,
  page: readonly unknown[],
  deps: PollDeps,
  state: WebhookState,
): Promise<void> {
  const { result, seen } = state;
  const now = deps.now();
  const candidates: RetryMessage[] = [];
  const invalidWrites: Promise<void>[] = [];
  const messages: RetryMessage[] = [];
  for (const entry of page) {
    result.found += 1;
    const normalised = normalise(entry, webhookId, deps, now);
    if (normalised.ok) messages.push(normalised.message);
    else
      invalidWrites.push(
        recordInvalid(webhookId, normalised.deliveryId, normalised.reason, entry, deps, result),
      );
  }
  // Settled-handlers are attached now, before anything else is awaited: a write that fails while the claims
  // are in flight must be reported with the page, never surface as an unhandled rejection.
  const invalidSettled = Promise.allSettled(invalidWrites);
  // Pages are unordered: fold repeats onto the earliest attempt, synchronously, before any claim is awaited.
  messages.sort((a, b) => a.failedAt.localeCompare(b.failedAt) || a.deliveryId.localeCompare(b.deliveryId));
  const repeats: RetryMessage[] = [];
  for (const message of messages) {
    if (seen.has(message.eventKey)) {
      repeats.push(message);
      result.duplicates += 1;
      deps.onEvent?.({
        kind: 'duplicate',
        webhookId,
        deliveryId: message.deliveryId,
        eventKey: message.eventKey,
      });
      continue;
    }
    seen.add(message.eventKey);
    candidates.push(message);
  }
  const [claims, invalidOutcomes] = await Promise.all([
    Promise.allSettled(
      candidates.map((m) =>
        deps.ledger.claim(m, { likelyNew: Date.parse(m.failedAt) >= state.unlistedFrom }),
      ),
    ),
    invalidSettled,
  ]);
  const fresh: RetryMessage[] = [];
  let claimFailure: unknown;
  candidates.forEach((m, i) => {
    const claim = claims[i];
    if (claim?.status === 'rejected') {
      // Not claimed: the next poll's window still holds it (the watermark does not move past this page).
      seen.delete(m.eventKey);
      claimFailure ??= claim.reason;
    } else if (claim?.value === 'new') fresh.push(m);
    else {
      result.duplicates += 1;
      deps.onEvent?.({ kind: 'duplicate', webhookId, deliveryId: m.deliveryId, eventKey: m.eventKey });
    }
  });
  // The events that could be claimed go on the queue whatever happened to their neighbours on the page.
  const sent = fresh.length > 0 ? await enqueueFresh(webhookId, fresh, deps, result, now) : [];
  // A repeat folded here is noted on its event too (once the event's claim is settled), so that every delivery
  // id the log lists can be looked up later (`dlq show`). A failure here loses nothing: it is only a lookup aid.
  const settled = new Set(
    [
      ...sent,
      ...candidates.filter((_, i) => {
        const claim = claims[i];
        return claim?.status === 'fulfilled' && claim.value !== 'new';
      }),
    ].map((m) => m.eventKey),
  );
  await Promise.allSettled(repeats.filter((m) => settled.has(m.eventKey)).map((m) => deps.ledger.claim(m)));
  const invalidFailure = invalidOutcomes.find((o) => o.status === 'rejected');
  if (claimFailure !== undefined)
    throw new PartIncomplete(`could not claim an event: ${describe(claimFailure)}`);
  if (invalidFailure?.status === 'rejected') {
    throw new PartIncomplete(
      `could not record a delivery-log entry that cannot be enqueued: ${describe(invalidFailure.reason)}`,
    );
  }
}

async function enqueueFresh(
  webhookId: string,
  fresh: readonly RetryMessage[],
  deps: PollDeps,
  result: WebhookPollResult,
  now: Date,
): Promise<readonly RetryMessage[]> {
  const failures = await deps.queue.enqueue(fresh);
  const failed = new Map(failures.map((f) => [f.eventKey, f]));
  const sent = fresh.filter((m) => !failed.has(m.eventKey));
  await deps.ledger.markEnqueued(sent.map((m) => m.eventKey));
  result.enqueued += sent.length;
  for (const m of sent) deps.onEvent?.({ kind: 'enqueued', message: m });
  for (const m of fresh) {
    const failure = failed.get(m.eventKey);
    if (!failure?.permanent) continue;
    await recordInvalid(webhookId, m.deliveryId, failure.reason, m, deps, result);
    // Close the claim so the overlap of the next poll does not try (and count) the same refusal again.
    await closeRefusedClaim(deps.ledger, m, failure.reason, now);
  }
  const transient = failures.find((f) => !f.permanent);
  if (transient) throw new PartIncomplete(`could not enqueue every event: ${transient.reason}`);
  return sent;
}

async function recordInvalid(
  webhookId: string,
  deliveryId: string,
  reason: string,
  entry: unknown,
  deps: PollDeps,
  result: WebhookPollResult,
): Promise<void> {
  const recorded = await deps.ledger.recordInvalid({
    webhookId,
    deliveryId,
    reason,
    raw: safeJson(redactCredentialHeaders(entry, deps.settings.EXTRA_CREDENTIAL_HEADERS)),
  });
  if (recorded === 'duplicate') return;
  result.invalid += 1;
  deps.onEvent?.({ kind: 'invalid', webhookId, deliveryId, reason });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // Too deep to serialise (or cyclic): a bounded description still tells the operator what it was.
    try {
      return String(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
}

function maxIso(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

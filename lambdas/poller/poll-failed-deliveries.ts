import { GenesysApiError } from '../shared/errors';
import type { DeliveryPage } from '../shared/ports';
import { readChain, startChain } from './page-chain';
import {
  MAX_PART_PAGES,
  MIN_PART_MS,
  maxIso,
  Pace,
  PartIncomplete,
  type PollDeps,
  stop,
  type WebhookPollResult,
  type WebhookState,
} from './poll-state';
import { processPage } from './process-page';

export type { PollDeps, PollEvent, WebhookPollResult } from './poll-state';

/** Fewest pages left worth another probe when a turn's share is large (a probe is a page read for nothing). */
const MIN_SPLIT_PAGES = 10;
/** Aim split windows at this fraction of what is affordable: entries are not spread evenly over time. */
const SPLIT_FILL = 0.8;

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

// Reading a window too big for one part as a chain of count-confirmed pages: see Chain (poll-state.ts).
import type { DeliveryPage } from '../shared/ports';
import {
  type Chain,
  commit,
  MAX_PART_PAGES,
  MIN_PART_MS,
  type Pace,
  PartIncomplete,
  type PollDeps,
  save,
  stop,
  type WebhookState,
} from './poll-state';
import { processPage } from './process-page';

/** A chain for the window [cursor, end) whose probe is `probe`, when the platform counts and part is settled. */
export function startChain(
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
export async function readChain(
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

/**
 * Work that Ctrl-C stops cleanly rather than cutting short: an export removes its partial file, a redrive ends
 * after the batch in hand and says how many messages moved. While any runs, the first Ctrl-C aborts the CLI's
 * signal (see interruptSignal in main.ts) instead of ending the process.
 */
let running = 0;

/** Runs `work` as stoppable work. */
export async function stoppable<T>(work: () => Promise<T>): Promise<T> {
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
  }
}

/** True while stoppable work runs in this process. */
export function stoppableInProgress(): boolean {
  return running > 0;
}

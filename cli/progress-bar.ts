/** Where a progress bar draws: a writable stream that may be a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** A progress bar for bulk work. */
export interface ProgressBar {
  /** Sets the count done (and the total, when it becomes known or changes). */
  update(done: number, total?: number): void;
  /** Draws the final state and ends the line. */
  finish(note?: string): void;
}

const WIDTH = 30;

/**
 * Draws `label [#####-----] 40/100` on one line of a terminal, redrawn in place; on anything else (a log file, a
 * CI job) prints a plain line at most every 10 % so the output stays readable.
 */
export function createProgressBar(stream: ProgressStream, label: string, total: number): ProgressBar {
  let current = 0;
  let shownTenth = -1;
  let drawnAt = 0;
  const line = () => {
    const ratio = total > 0 ? Math.min(1, current / total) : 1;
    const filled = Math.round(ratio * WIDTH);
    return `${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${current}/${total}`;
  };
  return {
    update(done, newTotal) {
      current = done;
      if (newTotal !== undefined) total = newTotal;
      if (stream.isTTY) {
        // Redrawing more than ~20 times a second only costs time.
        if (Date.now() - drawnAt < 50) return;
        drawnAt = Date.now();
        stream.write(`\r${line()}`);
        return;
      }
      const tenth = total > 0 ? Math.floor((10 * current) / total) : 10;
      if (tenth > shownTenth && tenth < 10) {
        shownTenth = tenth;
        stream.write(`${line()}\n`);
      }
    },
    finish(note) {
      const suffix = note ? ` ${note}` : '';
      stream.write(stream.isTTY ? `\r${line()}${suffix}\n` : `${line()}${suffix}\n`);
    },
  };
}

import type { CliContext } from '../cli-context';
import type { DlqReader } from '../dlq-reader';

/**
 * Tells the operator how a DLQ scan ended, and turns it into an exit code: 1 when the scan stopped early, met
 * messages already hidden by someone else, or could not make every message visible again (the reader has said
 * until when those stay hidden). Each warning is one line.
 */
export function scanOutcome(ctx: CliContext, reader: DlqReader, what: string): number {
  const { read, released, stoppedEarly, hiddenAtStart } = reader.result;
  let code = 0;
  if (hiddenAtStart > 0) {
    ctx.err.write(
      `warning: ${what} leaves out ${hiddenAtStart} DLQ message(s) that were already hidden (in flight) when it began: another read or a redrive is running, or an earlier read was interrupted; they reappear when that read's visibility timeout ends (this CLI uses ${reader.visibilityTimeoutSeconds} s), then run it again\n`,
    );
    code = 1;
  }
  if (stoppedEarly) {
    ctx.err.write(`warning: ${what} is incomplete: ${stoppedEarly}\n`);
    code = 1;
  }
  if (released < read) code = 1;
  return code;
}

/** True when a scan saw the whole DLQ and left it as it found it. */
export function scanComplete(reader: DlqReader): boolean {
  const { read, released, stoppedEarly, hiddenAtStart } = reader.result;
  return stoppedEarly === undefined && hiddenAtStart === 0 && released === read;
}

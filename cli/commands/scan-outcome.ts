import type { CliContext } from '../cli-context';
import type { DlqReader } from '../dlq-reader';

/**
 * Tells the operator how a DLQ scan ended, and turns it into an exit code: 1 when the scan stopped early or
 * could not make every message visible again (those reappear by themselves when their visibility times out).
 */
export function scanOutcome(ctx: CliContext, reader: DlqReader, what: string): number {
  const { read, released, stoppedEarly } = reader.result;
  let code = 0;
  if (stoppedEarly) {
    ctx.err.write(`warning: ${what} is incomplete: ${stoppedEarly}\n`);
    code = 1;
  }
  if (released < read) {
    ctx.err.write(
      `warning: ${read - released} of ${read} message(s) could not be made visible again; they reappear when their visibility timeout ends\n`,
    );
    code = 1;
  }
  return code;
}

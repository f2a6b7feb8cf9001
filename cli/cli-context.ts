import type { Confirm } from './confirm';
import type { ProgressStream } from './progress-bar';
import type { CliResources } from './resolve-resources';

/** What every command is given: the resources it works on, its output streams and the operator. */
export interface CliContext {
  readonly resources: CliResources;
  /** Results (tables, JSON): what a script pipes on. */
  readonly out: { write(text: string): unknown };
  /** Progress, notes and warnings: never mixed into results. */
  readonly err: ProgressStream;
  readonly confirm: Confirm;
  readonly now: () => Date;
  /** Aborted on Ctrl-C: a DLQ read then stops and releases what it holds. */
  readonly signal?: AbortSignal;
}

import { createInterface } from 'node:readline/promises';
import { OperatorError } from '../lambdas/shared/errors';

/** Asks the operator a yes/no question; resolves true for yes. */
export type Confirm = (question: string) => Promise<boolean>;

export interface ConfirmOptions {
  /** `--yes`: every question is answered yes without asking. */
  readonly yes: boolean;
  readonly input: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
}

/**
 * The confirmation step of destructive or bulk commands. On a terminal it asks; without one (a script, a pipe)
 * it refuses unless `--yes` was given, because a silent "yes" in a script is how queues get emptied by accident.
 */
export function createConfirm(options: ConfirmOptions): Confirm {
  return async (question) => {
    if (options.yes) return true;
    if (!options.input.isTTY) {
      throw new OperatorError(`${question} Not asking: stdin is not a terminal; pass --yes to go ahead.`);
    }
    const rl = createInterface({ input: options.input, output: options.output });
    try {
      const answer = await rl.question(`${question} [y/N] `);
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      rl.close();
    }
  };
}

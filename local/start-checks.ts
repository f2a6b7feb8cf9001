import { createServer } from 'node:net';
import { closestName } from '../lambdas/shared/closest-name';
import { ConfigError } from '../lambdas/shared/errors';
import { dotenvSettingNames } from '../lambdas/shared/settings';

/** What `npm start -- --help` prints. */
export const START_HELP = `Usage: npm start [-- OPTIONS]

Runs the pipeline on this machine against emulators (SQS, DynamoDB, EventBridge PutEvents, and in the demo a
Genesys Cloud emulator and demo targets), all on 127.0.0.1. Settings come from the environment or .env
(docs/configuration.md); without GENESYS_CLOUD_REGION it runs the demo.

Options (after npm's own "--")
  --until-settled   exit once every event is delivered or dead-lettered (else Ctrl-C stops it)
  --help, -h        this text

Example: npm start -- --until-settled
`;

/** The options local/start.ts takes. */
export interface StartOptions {
  readonly untilSettled: boolean;
  readonly help: boolean;
  /** Lines to print before starting (an option npm took for its own, and that is honoured anyway). */
  readonly notes: readonly string[];
}

const FLAGS = ['--until-settled', '--help', '-h'] as const;

/**
 * Reads the command line of `npm start`. An unknown option is refused with a "did you mean", so a typo never runs
 * for ever silently. `npm start --until-settled` (no `--`) reaches the script only as npm's own config
 * `npm_config_until_settled=true`: that is honoured, with a note saying how to write it.
 */
export function parseStartArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): StartOptions {
  const notes: string[] = [];
  let untilSettled = false;
  let help = false;
  for (const arg of argv) {
    if (arg === '--until-settled') untilSettled = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else {
      const guess = closestName(arg, FLAGS);
      throw new ConfigError(
        `npm start: unknown ${arg.startsWith('-') ? 'option' : 'argument'} ${arg}${guess ? ` (did you mean ${guess}?)` : ''}; npm start -- --help lists the options`,
      );
    }
  }
  // npm turns an option it does not know, given before "--", into an npm_config_* variable of the script.
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('npm_config_') || value === undefined) continue;
    const flag = `--${name.slice('npm_config_'.length).replace(/_/g, '-')}`;
    if (flag === '--until-settled') {
      if (value !== '' && value !== 'false') untilSettled = true;
      notes.push(
        'note: npm took --until-settled as an option of its own (write npm start -- --until-settled); honoured anyway',
      );
    } else if (closestName(flag, ['--until-settled']) && flag !== '--until-settled') {
      throw new ConfigError(
        `npm start: unknown option ${flag} (did you mean --until-settled?); write it after npm's own "--": npm start -- --until-settled`,
      );
    }
  }
  return { untilSettled, help, notes };
}

/** Names that are not settings but commonly sit in a .env beside them, read by other tools. */
const NOT_OURS = /^(AWS_|NODE_|npm_)/;

/**
 * The `.env` variables nothing here reads, each with why and, for a likely typo, what was meant:
 * `MAX_RETRY (not a setting; did you mean MAX_RETRIES?)`. Variables of other tools (AWS_*, NODE_*) are left
 * alone unless they look like a misspelt setting.
 */
export function unknownDotenvNames(names: readonly string[]): string[] {
  const known = dotenvSettingNames();
  const lines: string[] = [];
  for (const name of names) {
    if (known.includes(name)) continue;
    const guess = closestName(name, known);
    if (guess) lines.push(`${name} in .env (not a setting; did you mean ${guess}?)`);
    else if (!NOT_OURS.test(name)) lines.push(`${name} in .env (not a setting of local mode or the CLI)`);
  }
  return lines;
}

/** True when something already listens on 127.0.0.1:`port`. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(true));
    server.listen(port, '127.0.0.1', () => server.close(() => done(false)));
  });
}

/**
 * Checks every fixed port before anything starts and names every conflict at once, by its setting: a port in
 * use, or two settings on the same port. Port 0 (any free one) is never a conflict.
 */
export async function portProblems(ports: Readonly<Record<string, number>>): Promise<string[]> {
  const problems: string[] = [];
  const byPort = new Map<number, string[]>();
  for (const [name, port] of Object.entries(ports)) {
    if (port === 0) continue;
    byPort.set(port, [...(byPort.get(port) ?? []), name]);
  }
  const checks = [...byPort.entries()].map(async ([port, names]) => {
    if (names.length > 1) {
      problems.push(
        `  - ${names.join(' and ')} are all ${port}: give each its own port (0 picks a free one)`,
      );
    } else if (await portTaken(port)) {
      problems.push(
        `  - ${names[0]}: port ${port} is in use, perhaps by another npm start or another emulator; stop it, or set ${names[0]} to a free port (0 picks one)`,
      );
    }
  });
  await Promise.all(checks);
  return problems.sort();
}

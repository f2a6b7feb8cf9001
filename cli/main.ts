import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { closestName } from '../lambdas/shared/closest-name';
import { parseSigningTarget } from '../lambdas/shared/domain/target-signing-key';
import { ConfigError, WebhookRecoveryError } from '../lambdas/shared/errors';
import { localEnvironment } from '../lambdas/shared/local-environment';
import { parseCliEnvironment, parseLocalSettings, parseSigningSettings } from '../lambdas/shared/settings';
import type { CliContext } from './cli-context';
import { dlqExportCommand } from './commands/dlq-export';
import { dlqListCommand } from './commands/dlq-list';
import { dlqRedriveCommand, RATE_LIMITS, rateError } from './commands/dlq-redrive';
import { dlqShowCommand } from './commands/dlq-show';
import { replayCommand } from './commands/replay';
import { signingKeyCommand } from './commands/signing-key';
import { statusCommand } from './commands/status';
import { createConfirm } from './confirm';
import { describeError } from './describe-error';
import { dlqReadInProgress, VISIBILITY_LIMITS, visibilityError } from './dlq-reader';
import { genesysSourceFor } from './genesys-source-for';
import { parseTime } from './parse-time';
import { type CliResources, DEFAULT_STACK_NAME, pointsAtLocal, resolveResources } from './resolve-resources';
import { stoppableInProgress } from './stoppable';
import { terminalText } from './terminal-text';

export const USAGE = `Usage: genesys-webhook-recovery <command> [options]

Commands
  status                          queue depths, oldest ages, watermarks and last polls, events by outcome
  dlq list                        one row per dead letter (DLQ message joined with the ledger)
      [--webhook ID] [--status CODE] [--host HOST] [--since TIME] [--json]
  dlq show <deliveryId> [--json] [--reveal-credentials]
                                  everything known about one delivery, with each attempt (credential
                                  header values masked unless --reveal-credentials)
  dlq export --out FILE           write the DLQ as a JSON array to a new private file (mode 0600; streamed;
                                  the DLQ is left as it was)
  dlq redrive [--rate N] [--to QUEUE]
                                  move dead letters back to the retry queue (asks first unless --yes)
  replay --webhook ID --since TIME [--until TIME] [--dry-run]
                                  re-read a window of the Genesys delivery log and enqueue its failures again
  signing-key (--route NAME | --webhook ID) [--key-version N]
                                  print the key one target verifies signed redeliveries with (whsec_…), for
                                  its owner; each route and webhook has its own

Where (default: the CloudFormation stack ${DEFAULT_STACK_NAME}, with your usual AWS credentials and region)
  --stack NAME                    another stack name
  --region REGION                 AWS region (else AWS_REGION or your profile's)
  --local                         local mode (npm start): the emulators on 127.0.0.1, or AWS_ENDPOINT_URL_SQS /
                                  AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL; implied when one of those is set
  --retry-queue-url URL  --dlq-url URL  --table NAME
                                  name the resources directly instead

Options
  --yes, -y                       answer yes to confirmations (required when stdin is not a terminal)
  --json                          machine-readable output (status, dlq list, dlq show); through npm, use
                                  npm run -s cli -- … so that npm's own lines stay out of it
  --visibility-timeout SECONDS    how long reading the DLQ hides each message (60-43200, default 900)
  --genesys-region REGION         Genesys Cloud region for replay (else GENESYS_CLOUD_REGION)
  --help, -h                      this text
  --version, -v                   the version

TIME is ISO-8601 (2026-11-28T12:00:00Z) or an age (30m, 6h, 2d). Exit status: 0 done, 1 failed, 2 usage error.
`;

/** The process's streams, injectable so the CLI can run inside a test. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  /** Aborted on Ctrl-C, so a DLQ read can release what it holds before the process ends. */
  readonly signal?: AbortSignal;
}

/**
 * An abort signal for Ctrl-C: during a DLQ read the first one stops the read, which then releases what it holds;
 * otherwise, or at a second Ctrl-C, the process ends at once as usual.
 */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.on('SIGINT', () => {
    if (controller.signal.aborted || !(dlqReadInProgress() || stoppableInProgress())) process.exit(130);
    process.stderr.write(
      `\ninterrupted: ${dlqReadInProgress() ? 'releasing what was read' : 'stopping after the messages in hand'} (Ctrl-C again to quit at once)…\n`,
    );
    controller.abort();
  });
  return controller.signal;
}

const OPTIONS = {
  stack: { type: 'string' },
  region: { type: 'string' },
  local: { type: 'boolean' },
  'retry-queue-url': { type: 'string' },
  'dlq-url': { type: 'string' },
  table: { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  'reveal-credentials': { type: 'boolean' },
  webhook: { type: 'string' },
  status: { type: 'string' },
  host: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  out: { type: 'string' },
  rate: { type: 'string' },
  to: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'visibility-timeout': { type: 'string' },
  'genesys-region': { type: 'string' },
  route: { type: 'string' },
  'key-version': { type: 'string' },
} as const;

class UsageError extends WebhookRecoveryError {}

const COMMANDS = [
  'status',
  'dlq list',
  'dlq show',
  'dlq export',
  'dlq redrive',
  'replay',
  'signing-key',
] as const;
type Command = (typeof COMMANDS)[number];
type OptionName = keyof typeof OPTIONS;

/** Options every command takes: where it points, help and version. */
const WHERE_OPTIONS: readonly OptionName[] = [
  'stack',
  'region',
  'local',
  'retry-queue-url',
  'dlq-url',
  'table',
  'help',
  'version',
];
/**
 * The options of each command beside WHERE_OPTIONS. Any other is refused before anything is read: an option of
 * another command (`dlq redrive --dry-run`) would otherwise be ignored, and the operator would believe it held.
 */
const COMMAND_OPTIONS: Record<Command, readonly OptionName[]> = {
  status: ['json'],
  'dlq list': ['webhook', 'status', 'host', 'since', 'json', 'visibility-timeout'],
  'dlq show': ['json', 'reveal-credentials', 'visibility-timeout'],
  'dlq export': ['out', 'visibility-timeout'],
  'dlq redrive': ['rate', 'to', 'yes'],
  replay: ['webhook', 'since', 'until', 'dry-run', 'yes', 'genesys-region'],
  'signing-key': ['route', 'webhook', 'key-version'],
};

/** Refuses an option the command does not take, naming the commands that do. */
function checkOptionsOf(command: Command, given: readonly string[]): void {
  for (const option of given) {
    const name = option as OptionName;
    if (WHERE_OPTIONS.includes(name) || COMMAND_OPTIONS[command].includes(name)) continue;
    const owners = COMMANDS.filter((c) => COMMAND_OPTIONS[c].includes(name));
    throw new UsageError(
      `${command} does not take --${option}${owners.length > 0 ? ` (${owners.join(', ')} ${owners.length === 1 ? 'does' : 'do'})` : ''}; see --help`,
    );
  }
}

/** A time flag's value; a bad one is a usage error (exit 2), as every other bad flag value is. */
function timeFlag(value: string | undefined, now: Date, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  try {
    return parseTime(value, now, flag);
  } catch (error) {
    throw error instanceof ConfigError ? new UsageError(error.message) : error;
  }
}
/** How many positionals each command takes (the words of its name, and dlq show's id). */
const ARITY: Record<Command, number> = {
  status: 1,
  'dlq list': 2,
  'dlq show': 3,
  'dlq export': 2,
  'dlq redrive': 2,
  replay: 1,
  'signing-key': 1,
};

/** The project's version, from package.json. */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? 'unknown';
}

/** node:util parseArgs errors, in the CLI's words: the option at fault, and the likely fix. */
function parseArgsError(error: Error & { code?: unknown }): UsageError | undefined {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const names = Object.keys(OPTIONS).map((o) => `--${o}`);
    const guess = closestName(option, names);
    return new UsageError(`unknown option ${option}${guess ? ` (did you mean ${guess}?)` : ''}; see --help`);
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return new UsageError(
      /argument missing/.test(error.message)
        ? `${option} needs a value; see --help`
        : `${option} takes no value; see --help`,
    );
  }
  return undefined;
}

/** signing-key's target: exactly one of --route and --webhook. */
function signingTargetFlag(route: string | undefined, webhook: string | undefined): string {
  if ((route === undefined) === (webhook === undefined)) {
    throw new UsageError('signing-key needs one of --route NAME or --webhook ID');
  }
  try {
    return parseSigningTarget(route !== undefined ? `route:${route}` : `webhook:${webhook}`);
  } catch (error) {
    throw error instanceof ConfigError ? new UsageError(error.message) : error;
  }
}

function keyVersionFlag(value: string | undefined): number | undefined {
  const n = wholeNumber(value, '--key-version');
  if (n !== undefined && n < 1) throw new UsageError('--key-version must be 1 or more');
  return n;
}

function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new UsageError(`${flag} must be a whole number (got ${JSON.stringify(value)})`);
  return Number(value);
}

/** Runs one CLI invocation; resolves with the exit status. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let resources: CliResources | undefined;
  try {
    let parsed: ReturnType<
      typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>
    >;
    try {
      parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    } catch (error) {
      throw (error instanceof Error && parseArgsError(error)) || error;
    }
    const { values: v, positionals } = parsed;
    const [command, sub, arg] = positionals;
    const name = command === 'dlq' ? `dlq ${sub ?? ''}`.trim() : (command ?? '');
    if (v.version) {
      io.stdout.write(`genesys-webhook-recovery ${cliVersion()}\n`);
      return 0;
    }
    if (v.help || command === undefined || command === 'help') {
      io.stdout.write(USAGE);
      return v.help || command === 'help' ? 0 : 2;
    }
    if (name === 'dlq') {
      throw new UsageError(
        'dlq needs a subcommand: dlq list, dlq show <deliveryId>, dlq export --out FILE or dlq redrive (see --help)',
      );
    }
    const known = COMMANDS.find((c) => c === name);
    if (known === undefined) {
      const guess = closestName(name, COMMANDS);
      throw new UsageError(
        `unknown command "${positionals.join(' ')}"${guess ? ` (did you mean ${guess}?)` : ''}; see --help`,
      );
    }
    if (name === 'dlq show' && arg === undefined) throw new UsageError('dlq show needs a delivery id');
    if (positionals.length > ARITY[known]) {
      throw new UsageError(
        `${name} does not take "${positionals.slice(ARITY[known]).join(' ')}"; options start with -- (see --help)`,
      );
    }
    checkOptionsOf(
      known,
      Object.keys(v).filter((k) => v[k as OptionName] !== undefined),
    );
    if (name === 'dlq export' && v.out === undefined) throw new UsageError('dlq export needs --out FILE');
    if (name === 'replay' && (v.webhook === undefined || v.since === undefined)) {
      throw new UsageError('replay needs --webhook ID and --since TIME');
    }
    // Every value is checked before anything is read or changed.
    const now = new Date();
    const visibility = wholeNumber(v['visibility-timeout'], '--visibility-timeout');
    if (
      visibility !== undefined &&
      (visibility < VISIBILITY_LIMITS.min || visibility > VISIBILITY_LIMITS.max)
    ) {
      throw new UsageError(visibilityError(visibility));
    }
    const statusFilter = wholeNumber(v.status, '--status');
    const rate = wholeNumber(v.rate, '--rate');
    if (rate !== undefined && (rate < 1 || rate > RATE_LIMITS.max)) {
      throw new UsageError(rateError(rate));
    }
    const since = timeFlag(v.since, now, '--since');
    const until = timeFlag(v.until, now, '--until');

    const env = localEnvironment('.env');
    if (name === 'signing-key') {
      // Needs the signing secret only, not the queues or the table.
      return await signingKeyCommand(
        io.stdout,
        io.stderr,
        {
          target: signingTargetFlag(v.route, v.webhook),
          version: keyVersionFlag(v['key-version']),
          local: pointsAtLocal({ local: v.local, stack: v.stack }, parseCliEnvironment(env)),
          stack: v.stack,
          region: v.region,
        },
        parseSigningSettings(env),
      );
    }
    resources = await resolveResources(
      {
        stack: v.stack,
        local: v.local,
        region: v.region,
        retryQueueUrl: v['retry-queue-url'],
        dlqUrl: v['dlq-url'],
        table: v.table,
      },
      parseCliEnvironment(env),
      parseLocalSettings(env),
    );
    const ctx: CliContext = {
      resources,
      out: io.stdout,
      err: io.stderr,
      confirm: createConfirm({
        yes: v.yes === true,
        input: io.stdin,
        output: io.stderr as NodeJS.WritableStream,
      }),
      now: () => new Date(),
      ...(io.signal ? { signal: io.signal } : {}),
    };
    const scan = { ...(visibility !== undefined ? { visibilityTimeoutSeconds: visibility } : {}) };
    switch (name) {
      case 'status':
        return await statusCommand(ctx, { json: v.json === true });
      case 'dlq list':
        return await dlqListCommand(ctx, {
          ...scan,
          json: v.json === true,
          ...(v.webhook !== undefined ? { webhook: v.webhook } : {}),
          ...(statusFilter !== undefined ? { status: statusFilter } : {}),
          ...(v.host !== undefined ? { host: v.host } : {}),
          ...(since !== undefined ? { since } : {}),
        });
      case 'dlq show':
        return await dlqShowCommand(ctx, arg ?? '', {
          ...scan,
          json: v.json === true,
          revealCredentials: v['reveal-credentials'] === true,
        });
      case 'dlq export':
        return await dlqExportCommand(ctx, { ...scan, out: v.out ?? '' });
      case 'dlq redrive':
        return await dlqRedriveCommand(ctx, { rate, to: v.to });
      default: {
        const webhook = v.webhook ?? '';
        const { source, settings } = await genesysSourceFor(env, resources, webhook, v['genesys-region']);
        return await replayCommand(
          ctx,
          {
            webhook,
            since: since ?? now,
            until,
            dryRun: v['dry-run'] === true,
          },
          { source, settings },
        );
      }
    }
  } catch (error) {
    const usage =
      error instanceof UsageError ||
      (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
    // An error may quote a Genesys answer or an AWS one: escaped, its own line breaks kept.
    io.stderr.write(`error: ${terminalText(describeError(error), { multiline: true })}\n`);
    return usage ? 2 : 1;
  } finally {
    resources?.destroy();
  }
}

/** The process's own streams. */
export function cliProcessIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}

// Run when executed directly (`tsx cli/main.ts`, `npm run cli --`); the bin shim calls runCli itself.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.on('error', () => undefined);
  process.exitCode = await runCli(process.argv.slice(2), { ...cliProcessIo(), signal: interruptSignal() });
}

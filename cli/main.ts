import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { WebhookRecoveryError } from '../lambdas/shared/errors';
import { localEnvironment } from '../lambdas/shared/local-environment';
import { parseCliEnvironment, parseLocalSettings } from '../lambdas/shared/settings';
import type { CliContext } from './cli-context';
import { dlqExportCommand } from './commands/dlq-export';
import { dlqListCommand } from './commands/dlq-list';
import { dlqRedriveCommand } from './commands/dlq-redrive';
import { dlqShowCommand } from './commands/dlq-show';
import { replayCommand } from './commands/replay';
import { statusCommand } from './commands/status';
import { createConfirm } from './confirm';
import { describeError } from './describe-error';
import { dlqReadInProgress, VISIBILITY_LIMITS, visibilityError } from './dlq-reader';
import { genesysSourceFor } from './genesys-source-for';
import { parseTime } from './parse-time';
import { type CliResources, DEFAULT_STACK_NAME, resolveResources } from './resolve-resources';

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
    if (controller.signal.aborted || !dlqReadInProgress()) process.exit(130);
    process.stderr.write('\ninterrupted: releasing what was read (Ctrl-C again to quit at once)…\n');
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
} as const;

class UsageError extends WebhookRecoveryError {}

const COMMANDS = ['status', 'dlq list', 'dlq show', 'dlq export', 'dlq redrive', 'replay'] as const;
/** How many positionals each command takes (the words of its name, and dlq show's id). */
const ARITY: Record<(typeof COMMANDS)[number], number> = {
  status: 1,
  'dlq list': 2,
  'dlq show': 3,
  'dlq export': 2,
  'dlq redrive': 2,
  replay: 1,
};

/** The project's version, from package.json. */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? 'unknown';
}

/** Edit distance, for "did you mean" on a mistyped option or command. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** node:util parseArgs errors, in the CLI's words: the option at fault, and the likely fix. */
function parseArgsError(error: Error & { code?: unknown }): UsageError | undefined {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const names = Object.keys(OPTIONS).map((o) => `--${o}`);
    const guess = closest(option, names);
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
      const guess = closest(name, COMMANDS);
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
    const since = v.since !== undefined ? parseTime(v.since, now, '--since') : undefined;
    const until = v.until !== undefined ? parseTime(v.until, now, '--until') : undefined;

    const env = localEnvironment('.env');
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
    io.stderr.write(`error: ${describeError(error)}\n`);
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

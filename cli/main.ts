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
import { genesysSourceFor } from './genesys-source-for';
import { parseTime } from './parse-time';
import { type CliResources, DEFAULT_STACK_NAME, resolveResources } from './resolve-resources';

export const USAGE = `Usage: genesys-webhook-recovery <command> [options]

Commands
  status                          queue depths, oldest ages, watermarks and last polls, events by outcome
  dlq list                        one row per dead letter (DLQ message joined with the ledger)
      [--webhook ID] [--status CODE] [--host HOST] [--since TIME] [--json]
  dlq show <deliveryId> [--json]  everything known about one delivery, with each attempt
  dlq export --out FILE           write the DLQ as a JSON array (streamed; the DLQ is left as it was)
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
  --json                          machine-readable output (status, dlq list, dlq show)
  --visibility-timeout SECONDS    how long reading the DLQ hides each message (default 900)
  --genesys-region REGION         Genesys Cloud region for replay (else GENESYS_CLOUD_REGION)
  --help, -h                      this text

TIME is ISO-8601 (2026-11-28T12:00:00Z) or an age (30m, 6h, 2d). Exit status: 0 done, 1 failed, 2 usage error.
`;

/** The process's streams, injectable so the CLI can run inside a test. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
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
    const { values: v, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [command, sub, arg] = positionals;
    const name = command === 'dlq' ? `dlq ${sub ?? ''}`.trim() : (command ?? '');
    if (v.help || command === undefined || command === 'help') {
      io.stdout.write(USAGE);
      return v.help || command === 'help' ? 0 : 2;
    }
    const known = ['status', 'dlq list', 'dlq show', 'dlq export', 'dlq redrive', 'replay'];
    if (!known.includes(name))
      throw new UsageError(`unknown command "${positionals.join(' ')}" (see --help)`);
    if (name === 'dlq show' && arg === undefined) throw new UsageError('dlq show needs a delivery id');
    if (name === 'dlq export' && v.out === undefined) throw new UsageError('dlq export needs --out FILE');
    if (name === 'replay' && (v.webhook === undefined || v.since === undefined)) {
      throw new UsageError('replay needs --webhook ID and --since TIME');
    }

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
    };
    const now = ctx.now();
    const scan = {
      ...(v['visibility-timeout'] !== undefined
        ? { visibilityTimeoutSeconds: wholeNumber(v['visibility-timeout'], '--visibility-timeout') }
        : {}),
    };
    switch (name) {
      case 'status':
        return await statusCommand(ctx, { json: v.json === true });
      case 'dlq list':
        return await dlqListCommand(ctx, {
          ...scan,
          json: v.json === true,
          ...(v.webhook !== undefined ? { webhook: v.webhook } : {}),
          ...(v.status !== undefined ? { status: wholeNumber(v.status, '--status') } : {}),
          ...(v.host !== undefined ? { host: v.host } : {}),
          ...(v.since !== undefined ? { since: parseTime(v.since, now, '--since') } : {}),
        });
      case 'dlq show':
        return await dlqShowCommand(ctx, arg ?? '', { ...scan, json: v.json === true });
      case 'dlq export':
        return await dlqExportCommand(ctx, { ...scan, out: v.out ?? '' });
      case 'dlq redrive':
        return await dlqRedriveCommand(ctx, { rate: wholeNumber(v.rate, '--rate'), to: v.to });
      default: {
        const webhook = v.webhook ?? '';
        const { source, settings } = await genesysSourceFor(env, resources, webhook, v['genesys-region']);
        return await replayCommand(
          ctx,
          {
            webhook,
            since: parseTime(v.since ?? '', now, '--since'),
            until: v.until !== undefined ? parseTime(v.until, now, '--until') : undefined,
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

// Run when executed directly (`tsx cli/main.ts`, `npm run cli --`); the bin shim calls runCli itself.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.on('error', () => undefined);
  process.exitCode = await runCli(process.argv.slice(2), process);
}

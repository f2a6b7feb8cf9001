import { DynamoDbLedger } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { SqsRetryQueue } from '../../lambdas/shared/adapters/sqs-retry-queue';
import { normaliseDelivery } from '../../lambdas/shared/domain/normalise-delivery';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import { targetId } from '../../lambdas/shared/domain/target-id';
import { ConfigError, GenesysApiError, OperatorError } from '../../lambdas/shared/errors';
import type { DeliveryWindow, FailedDeliverySource } from '../../lambdas/shared/ports';
import type { PipelineSettings } from '../../lambdas/shared/settings';
import type { CliContext } from '../cli-context';
import { LedgerReader } from '../ledger-reader';
import { createProgressBar } from '../progress-bar';
import { terminalText } from '../terminal-text';

/** Windows asked of the delivery log at once; one too big for the source is halved until it fits. */
const REPLAY_WINDOW_MS = 60 * 60 * 1000;

/**
 * Reads a window to its end, halving it while the source says it is too big to read whole. Any other failure
 * stops the replay with a message naming the window and how far it got: a replay is never silently partial.
 */
async function readWhole(
  source: FailedDeliverySource,
  window: DeliveryWindow,
  onEntry: (entry: unknown) => void,
): Promise<void> {
  let pages = 0;
  const buffered: unknown[] = [];
  try {
    for await (const page of source.failedDeliveries(window)) {
      pages += 1;
      buffered.push(...page);
    }
  } catch (error) {
    const span = window.end.getTime() - window.start.getTime();
    if (error instanceof GenesysApiError && error.code === 'window.too.large' && span > 1_000) {
      const middle = new Date(window.start.getTime() + Math.floor(span / 2));
      await readWhole(source, { ...window, end: middle }, onEntry);
      await readWhole(source, { ...window, start: middle }, onEntry);
      return;
    }
    throw new OperatorError(
      `could not read the delivery log of webhook ${window.webhookId} from ${window.start.toISOString()} to ${window.end.toISOString()} (stopped after ${pages} page(s) of that window; nothing was enqueued): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  // Entries count only once their whole window was read, so a halved window does not count its first half twice.
  for (const entry of buffered) onEntry(entry);
}

export interface ReplayOptions {
  readonly webhook: string;
  /** Start of the window (dateCreated, inclusive). */
  readonly since: Date;
  /** End of the window (exclusive). @default now */
  readonly until?: Date | undefined;
  readonly dryRun: boolean;
}

export interface ReplayDeps {
  readonly source: FailedDeliverySource;
  readonly settings: Pick<
    PipelineSettings,
    | 'FORWARD_CREDENTIAL_HEADERS'
    | 'EXTRA_CREDENTIAL_HEADERS'
    | 'TARGET_ALLOWED_HOSTS'
    | 'TARGET_ALLOW_LOOPBACK'
    | 'TARGET_ALLOW_PRIVATE'
    | 'LEDGER_TTL_DAYS'
  >;
}

/**
 * `replay`: re-reads a window of a webhook's delivery log and enqueues its failed deliveries again, for recovery
 * after an outage longer than the queues keep messages. Unlike the poller it does not ask the ledger whether an
 * event was enqueued before; it still folds repeated attempts of one event in the window into one message, and
 * leaves out events the ledger says were delivered (the redeliverer would not send those again anyway). Each
 * enqueued event is recorded in the ledger, so `dlq list` can join it later.
 */
export async function replayCommand(
  ctx: CliContext,
  options: ReplayOptions,
  deps: ReplayDeps,
): Promise<number> {
  const now = ctx.now();
  const until = options.until ?? now;
  if (options.since.getTime() >= until.getTime()) {
    throw new ConfigError(
      `--since (${options.since.toISOString()}) must be before --until (${until.toISOString()})`,
    );
  }
  const byEvent = new Map<string, RetryMessage>();
  const invalid: { deliveryId: string; reason: string }[] = [];
  let found = 0;
  const onEntry = (entry: unknown) => {
    found += 1;
    const n = normaliseDelivery(entry, {
      webhookId: options.webhook,
      forwardCredentials: deps.settings.FORWARD_CREDENTIAL_HEADERS,
      extraCredentialHeaders: deps.settings.EXTRA_CREDENTIAL_HEADERS,
      targets: deps.settings,
      now,
    });
    if (!n.ok) {
      invalid.push({ deliveryId: n.deliveryId, reason: n.reason });
      return;
    }
    // Repeated attempts of one event fold onto the earliest, as the poller does.
    const known = byEvent.get(n.message.eventKey);
    if (!known || n.message.failedAt < known.failedAt) byEvent.set(n.message.eventKey, n.message);
  };
  for (let start = options.since.getTime(); start < until.getTime(); start += REPLAY_WINDOW_MS) {
    const end = Math.min(start + REPLAY_WINDOW_MS, until.getTime());
    await readWhole(
      deps.source,
      { webhookId: options.webhook, start: new Date(start), end: new Date(end) },
      onEntry,
    );
  }
  const ledger = new LedgerReader(ctx.resources.doc, ctx.resources.tableName);
  const events = await ledger.events([...byEvent.keys()]);
  const all = [...byEvent.values()].sort((a, b) => a.failedAt.localeCompare(b.failedAt));
  const delivered = all.filter((m) => events.get(m.eventKey)?.status === 'delivered');
  const toEnqueue = all.filter((m) => events.get(m.eventKey)?.status !== 'delivered');

  const window = `${options.webhook} from ${options.since.toISOString()} to ${until.toISOString()}`;
  ctx.err.write(
    `Delivery log of ${window}: ${found} failed entr${found === 1 ? 'y' : 'ies'}, ${all.length} event(s), ` +
      `${delivered.length} already delivered, ${invalid.length} invalid.\n`,
  );
  for (const i of invalid) ctx.err.write(`  invalid ${i.deliveryId}: ${i.reason}\n`);
  const verb = options.dryRun ? 'would enqueue' : 'enqueue';
  for (const m of toEnqueue) {
    const status = events.get(m.eventKey)?.status ?? 'not in ledger';
    ctx.out.write(
      `${terminalText(`${verb}  ${m.deliveryId}  ${m.failedAt}  ${targetId(m.targetUrl)}  (ledger: ${status})`)}\n`,
    );
  }
  if (options.dryRun || toEnqueue.length === 0) {
    ctx.err.write(
      `${toEnqueue.length} event(s) ${options.dryRun ? 'would be' : 'to be'} enqueued${options.dryRun ? ' (dry run: nothing sent)' : ''}.\n`,
    );
    return 0;
  }
  if (!(await ctx.confirm(`Enqueue ${toEnqueue.length} event(s) on ${ctx.resources.retryQueue.url}?`))) {
    ctx.err.write('Nothing enqueued.\n');
    return 1;
  }
  return enqueueAll(ctx, toEnqueue, deps);
}

async function enqueueAll(ctx: CliContext, messages: RetryMessage[], deps: ReplayDeps): Promise<number> {
  const ledger = new DynamoDbLedger({
    tableName: ctx.resources.tableName,
    ttlDays: deps.settings.LEDGER_TTL_DAYS,
    client: ctx.resources.doc,
  });
  const queue = new SqsRetryQueue({ queueUrl: ctx.resources.retryQueue.url, client: ctx.resources.sqs });
  const progress = createProgressBar(ctx.err, 'enqueueing', messages.length);
  let sent = 0;
  const failures: string[] = [];
  for (let i = 0; i < messages.length; i += 100) {
    const batch = messages.slice(i, i + 100);
    // The claim only records the event (or a repeat) in the ledger; its dedupe verdict is deliberately ignored.
    const claims = await Promise.all(batch.map((m) => ledger.claim(m)));
    const failed = await queue.enqueue(batch);
    const refused = new Set(failed.map((f) => f.eventKey));
    for (const f of failed) failures.push(`${f.eventKey.slice(0, 12)}…: ${f.reason}`);
    await ledger.markEnqueued(
      batch.filter((m, j) => claims[j] === 'new' && !refused.has(m.eventKey)).map((m) => m.eventKey),
    );
    sent += batch.length - refused.size;
    progress.update(sent);
  }
  progress.finish();
  ctx.err.write(`${sent} event(s) enqueued on ${ctx.resources.retryQueue.url}.\n`);
  if (failures.length > 0) {
    ctx.err.write(`${failures.length} could not be enqueued:\n${failures.map((f) => `  ${f}\n`).join('')}`);
    return 1;
  }
  return 0;
}

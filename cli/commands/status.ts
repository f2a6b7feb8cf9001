import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { CliContext } from '../cli-context';
import { LedgerReader, type LedgerSummary } from '../ledger-reader';
import { terminalText } from '../terminal-text';

/** Depth of one queue, as SQS approximates it. */
export interface QueueDepth {
  readonly url: string;
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

/** Everything `status` reports; also its `--json` form. */
export interface StatusReport {
  readonly where: string;
  readonly retryQueue: QueueDepth & { readonly oldestOpenAgeSeconds: number | null };
  readonly dlq: QueueDepth & {
    readonly oldestGivenUpAgeSeconds: number | null;
    /**
     * Dead letters the ledger cannot account for with a verdict: the DLQ's depth beyond the events decided
     * permanent or exhausted. At least that many were dead-lettered without a decision; `dlq list` marks which.
     */
    readonly withoutVerdictAtLeast: number;
  };
  readonly ledger: LedgerSummary;
  /** Per webhook: how far its watermark is behind now, in seconds (the poller's WatermarkLagSeconds). */
  readonly lagSeconds: Readonly<Record<string, number>>;
}

/** Reads queue depths with GetQueueAttributes: it neither receives nor hides a message. */
export async function queueDepth(sqs: SQSClient, url: string): Promise<QueueDepth> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = out.Attributes ?? {};
  return {
    url,
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/**
 * `status`: queue depths, oldest ages, per-webhook watermark and last poll, events by outcome. SQS exposes no
 * message age without receiving (CloudWatch's ApproximateAgeOfOldestMessage is the metric; the stack alarms on
 * it), so the ages shown come from the ledger: the oldest event still open, and the oldest given up on.
 */
export async function statusCommand(ctx: CliContext, options: { json: boolean }): Promise<number> {
  const { sqs, retryQueue, dlq, doc, tableName } = ctx.resources;
  const [retry, dead, ledger] = await Promise.all([
    queueDepth(sqs, retryQueue.url),
    queueDepth(sqs, dlq.url),
    new LedgerReader(doc, tableName).summary(),
  ]);
  const now = ctx.now().getTime();
  const decided = (ledger.eventsByStatus.permanent ?? 0) + (ledger.eventsByStatus.exhausted ?? 0);
  const age = (iso: string | undefined) =>
    iso === undefined ? null : Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const report: StatusReport = {
    where: ctx.resources.where,
    retryQueue: { ...retry, oldestOpenAgeSeconds: age(ledger.oldestOpenSince) },
    dlq: {
      ...dead,
      oldestGivenUpAgeSeconds: age(ledger.oldestGivenUpAt),
      withoutVerdictAtLeast: Math.max(0, dead.visible + dead.inFlight - decided),
    },
    ledger,
    lagSeconds: Object.fromEntries(ledger.watermarks.map((w) => [w.webhookId, age(w.through) ?? 0])),
  };
  if (options.json) {
    ctx.out.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `Pipeline: ${report.where}`,
    '',
    `Retry queue  ${retry.visible} waiting, ${retry.inFlight} in flight or backing off, ${retry.delayed} delayed`,
    `             oldest open event: ${formatAge(report.retryQueue.oldestOpenAgeSeconds)}`,
    `Dead letters ${dead.visible} visible, ${dead.inFlight} hidden (being read or moved)`,
    `             oldest given up: ${formatAge(report.dlq.oldestGivenUpAgeSeconds)}`,
    ...(report.dlq.withoutVerdictAtLeast > 0
      ? [
          `             not a verdict: at least ${report.dlq.withoutVerdictAtLeast} dead letter(s) the ledger never decided (\`dlq list\` marks them)`,
        ]
      : []),
    '',
    'Webhooks (watermark = everything failed before it has been enqueued):',
    ...(ledger.watermarks.length === 0
      ? ['  none polled yet']
      : ledger.watermarks.map(
          (w) =>
            `  ${w.webhookId.padEnd(28)} watermark ${w.through} (lag ${formatAge(age(w.through))})  last poll ${w.lastPollAt} (${formatAge(age(w.lastPollAt))} ago)`,
        )),
    '',
    'Events by outcome (ledger):',
    ...['pending', 'enqueued', 'held', 'claimed', 'delivered', 'permanent', 'exhausted']
      .concat(Object.keys(ledger.eventsByStatus).filter((s) => !STATUSES.has(s)))
      .map((s) => `  ${s.padEnd(10)} ${ledger.eventsByStatus[s] ?? 0}`),
    `  invalid    ${ledger.invalidEntries} delivery-log entries that could not be enqueued (EventBridge's: below)`,
    '',
    'Events by source (ledger):',
    ...(Object.keys(ledger.eventsBySource).length === 0
      ? ['  none yet']
      : Object.entries(ledger.eventsBySource)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(
            ([source, n]) => `  ${source.replace(/^eventbridge:/, 'eventbridge, route ').padEnd(40)} ${n}`,
          )),
    `  eventbridge, unmatched or invalid        ${ledger.unmatchedEventBridgeEvents} (recorded as invalid#eventbridge#<event id>)`,
  ];
  // Webhook ids and route names come from stored data: escaped, one line each.
  ctx.out.write(`${lines.map((l) => terminalText(l)).join('\n')}\n`);
  return 0;
}

const STATUSES = new Set(['pending', 'enqueued', 'held', 'claimed', 'delivered', 'permanent', 'exhausted']);

/** 42 s, 5 min, 3 h 20 min, 2 d 4 h. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return 'none';
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)} h ${Math.floor((seconds % 3_600) / 60)} min`;
  return `${Math.floor(seconds / 86_400)} d ${Math.floor((seconds % 86_400) / 3_600)} h`;
}

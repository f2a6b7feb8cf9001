import {
  ListMessageMoveTasksCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { OperatorError } from '../../lambdas/shared/errors';
import type { CliContext } from '../cli-context';
import { moveMessages } from '../move-messages';
import { createProgressBar, type ProgressBar } from '../progress-bar';
import { type QueueRef, resolveQueueRef } from '../resolve-resources';
import { stoppable } from '../stoppable';
import { queueDepth } from './status';

export interface RedriveOptions {
  /** Messages per second at most (StartMessageMoveTask's MaxNumberOfMessagesPerSecond, 1–500). */
  readonly rate?: number | undefined;
  /** Destination queue (URL, ARN or name). @default the retry queue */
  readonly to?: string | undefined;
  /** How often a move task's progress is read. @default 2000 */
  readonly pollIntervalMs?: number;
  readonly waitTimeSeconds?: number;
}

/** StartMessageMoveTask's MaxNumberOfMessagesPerSecond: 1 to 500. */
export const RATE_LIMITS = { min: 1, max: 500 } as const;

/** The one line for a --rate out of range. */
export function rateError(rate: number): string {
  return `--rate must be a whole number of messages per second from ${RATE_LIMITS.min} to ${RATE_LIMITS.max} (got ${rate})`;
}

/** Errors meaning "this endpoint has no StartMessageMoveTask" (fauxqs answers InvalidAction). */
function isMoveTaskUnsupported(error: unknown): boolean {
  return (
    error instanceof Error &&
    (/InvalidAction|UnsupportedOperation|UnknownOperation|NotImplemented/.test(error.name) ||
      /unknown action|not (implemented|supported)/i.test(error.message))
  );
}

/**
 * `dlq redrive`: moves dead letters back to the retry queue (or `--to`). On AWS it starts a message move task,
 * as the console's "Start DLQ redrive" does, and follows it to the end; where the API is missing it moves the
 * messages itself, with the same result. The redeliverer tries each moved message afresh (it has a new SQS
 * message id), even when the ledger recorded a permanent decision for the old one.
 */
export async function dlqRedriveCommand(ctx: CliContext, options: RedriveOptions): Promise<number> {
  const { sqs, dlq, retryQueue } = ctx.resources;
  if (
    options.rate !== undefined &&
    !(Number.isInteger(options.rate) && options.rate >= RATE_LIMITS.min && options.rate <= RATE_LIMITS.max)
  ) {
    throw new OperatorError(rateError(options.rate));
  }
  const destination: QueueRef = options.to ? await resolveQueueRef(sqs, options.to) : retryQueue;
  if (destination.arn === dlq.arn) throw new OperatorError('--to names the DLQ itself');
  const depth = await queueDepth(sqs, dlq.url);
  if (depth.visible === 0) {
    ctx.err.write(
      `The DLQ has no visible messages${depth.inFlight > 0 ? ` (${depth.inFlight} hidden: being read or moved)` : ''}; nothing to redrive.\n`,
    );
    return 0;
  }
  const rate = options.rate !== undefined ? ` at ${options.rate}/s` : '';
  if (!(await ctx.confirm(`Move ${depth.visible} dead letter(s) to ${destination.url}${rate}?`))) {
    ctx.err.write('Nothing moved.\n');
    return 1;
  }
  return stoppable(() => redrive(ctx, options, destination, depth.visible));
}

/** The move itself, once confirmed; Ctrl-C (ctx.signal) stops it and says how many messages moved. */
async function redrive(
  ctx: CliContext,
  options: RedriveOptions,
  destination: QueueRef,
  visible: number,
): Promise<number> {
  const { sqs, dlq } = ctx.resources;
  const progress = createProgressBar(ctx.err, 'redriving', visible);
  let taskHandle: string | undefined;
  try {
    const out = await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: dlq.arn,
        // Without --to, SQS returns each message to the queue it was dead-lettered from: the retry queue.
        ...(options.to ? { DestinationArn: destination.arn } : {}),
        ...(options.rate !== undefined ? { MaxNumberOfMessagesPerSecond: options.rate } : {}),
      }),
    );
    taskHandle = out.TaskHandle;
  } catch (error) {
    if (!isMoveTaskUnsupported(error)) throw error;
  }
  if (taskHandle !== undefined)
    return followMoveTask(ctx, sqs, dlq.arn, taskHandle, progress, options.pollIntervalMs ?? 2_000);

  ctx.err.write(
    'StartMessageMoveTask is not available here (local emulator): moving the messages directly.\n',
  );
  const result = await moveMessages({
    sqs,
    fromUrl: dlq.url,
    toUrl: destination.url,
    limit: visible,
    rate: options.rate,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(options.waitTimeSeconds !== undefined ? { waitTimeSeconds: options.waitTimeSeconds } : {}),
    onProgress: (moved) => progress.update(moved),
  });
  progress.finish();
  if (result.interrupted) {
    ctx.err.write(
      `Interrupted: ${result.moved} of ${visible} message(s) moved to ${destination.url}; the other ${visible - result.moved - result.failed} stay in the DLQ.\n`,
    );
    return 130;
  }
  ctx.err.write(`${result.moved} message(s) moved to ${destination.url}.\n`);
  if (result.failed > 0) {
    ctx.err.write(
      `${result.failed} message(s) were refused and stay in the DLQ: ${result.firstFailure ?? ''}\n`,
    );
    return 1;
  }
  return 0;
}

/** Waits `ms`, or less when the signal is aborted meanwhile. */
function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((done) => {
    if (signal?.aborted) return done();
    const timer = setTimeout(finish, ms);
    signal?.addEventListener('abort', finish, { once: true });
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      done();
    }
  });
}

async function followMoveTask(
  ctx: CliContext,
  sqs: SQSClient,
  sourceArn: string,
  taskHandle: string,
  progress: ProgressBar,
  pollIntervalMs: number,
): Promise<number> {
  for (;;) {
    await sleepUnlessAborted(pollIntervalMs, ctx.signal);
    const out = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }));
    const task = out.Results?.[0];
    if (!task) throw new OperatorError('the message move task disappeared before it finished');
    const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
    progress.update(moved, task.ApproximateNumberOfMessagesToMove ?? undefined);
    if (ctx.signal?.aborted && task.Status === 'RUNNING') {
      // The task runs in SQS, not in this process: stopping the CLI does not stop it.
      progress.finish();
      ctx.err.write(
        `Interrupted: ${moved} message(s) moved so far; the move task goes on in SQS. To stop it: aws sqs cancel-message-move-task --task-handle ${taskHandle}\n`,
      );
      return 130;
    }
    if (task.Status === 'COMPLETED') {
      progress.finish();
      ctx.err.write(`Move task completed: ${moved} message(s) moved.\n`);
      return 0;
    }
    if (task.Status === 'FAILED' || task.Status === 'CANCELLED') {
      progress.finish();
      ctx.err.write(
        `Move task ${task.Status.toLowerCase()} after ${moved} message(s)${task.FailureReason ? `: ${task.FailureReason}` : ''}\n`,
      );
      return 1;
    }
  }
}

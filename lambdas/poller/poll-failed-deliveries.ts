import { redactCredentialHeaders } from '../shared/domain/headers';
import { normaliseDelivery } from '../shared/domain/normalise-delivery';
import type { RetryMessage } from '../shared/domain/retry-message';
import { GenesysApiError } from '../shared/errors';
import type { FailedDeliverySource, Ledger, RetryQueue } from '../shared/ports';
import type { PipelineSettings } from '../shared/settings';

/** Longest window asked of the delivery log at once; the watermark moves after each, so a backlog makes progress. */
export const SLICE_MS = 60 * 60 * 1000;

/** Something worth a line in local mode or a log entry. */
export type PollEvent =
  | { kind: 'enqueued'; message: RetryMessage }
  | { kind: 'duplicate'; webhookId: string; deliveryId: string; eventKey: string }
  | { kind: 'invalid'; webhookId: string; deliveryId: string; reason: string };

export interface WebhookPollResult {
  readonly webhookId: string;
  found: number;
  enqueued: number;
  duplicates: number;
  invalid: number;
  readonly windowStart: string;
  /** The watermark after this poll. */
  through: string;
  /** False when the poll stopped early (time budget, rate limit, error); the next tick resumes from `through`. */
  complete: boolean;
  error?: { message: string; status?: number | undefined; code?: string | undefined };
}

export interface PollDeps {
  readonly source: FailedDeliverySource;
  readonly queue: RetryQueue;
  readonly ledger: Ledger;
  readonly settings: Pick<
    PipelineSettings,
    | 'WEBHOOK_ID'
    | 'LOOKBACK_HOURS'
    | 'POLL_OVERLAP_SECONDS'
    | 'FORWARD_CREDENTIAL_HEADERS'
    | 'TARGET_ALLOWED_HOSTS'
    | 'TARGET_ALLOW_LOOPBACK'
    | 'TARGET_ALLOW_PRIVATE'
    | 'EXTRA_CREDENTIAL_HEADERS'
  >;
  readonly now: () => Date;
  /** Epoch ms by which the poll must have stopped starting new work. */
  readonly deadline: number;
  readonly onEvent?: (event: PollEvent) => void;
}

/** Thrown when a slice could not be fully enqueued; the watermark stays put so nothing is skipped. */
class SliceIncomplete extends Error {}

/**
 * Reads each webhook's failed deliveries since its watermark (less an overlap, for entries Genesys lists late),
 * enqueues each event once, records every entry it cannot enqueue, and moves the watermark only past slices
 * whose every entry was enqueued or recorded.
 */
export async function pollFailedDeliveries(deps: PollDeps): Promise<WebhookPollResult[]> {
  const results: WebhookPollResult[] = [];
  for (const webhookId of deps.settings.WEBHOOK_ID) results.push(await pollWebhook(webhookId, deps));
  return results;
}

async function pollWebhook(webhookId: string, deps: PollDeps): Promise<WebhookPollResult> {
  const pollAt = deps.now();
  const watermark = await deps.ledger.getWatermark(webhookId);
  const start = watermark
    ? Date.parse(watermark.through) - deps.settings.POLL_OVERLAP_SECONDS * 1000
    : pollAt.getTime() - deps.settings.LOOKBACK_HOURS * 3_600_000;
  const end = pollAt.getTime();
  const result: WebhookPollResult = {
    webhookId,
    found: 0,
    enqueued: 0,
    duplicates: 0,
    invalid: 0,
    windowStart: new Date(start).toISOString(),
    through: watermark?.through ?? new Date(start).toISOString(),
    complete: true,
  };
  // Events seen in this poll: a claim still pending would be taken again, so repeats are folded here first.
  const seen = new Set<string>();
  try {
    for (let sliceStart = start; sliceStart < end; sliceStart += SLICE_MS) {
      if (Date.now() >= deps.deadline)
        throw new SliceIncomplete('time budget spent before the window was read');
      const sliceEnd = Math.min(sliceStart + SLICE_MS, end);
      const pages = deps.source.failedDeliveries(
        { webhookId, start: new Date(sliceStart), end: new Date(sliceEnd) },
        { deadline: deps.deadline },
      );
      for await (const page of pages) await processPage(webhookId, page, deps, result, seen);
      result.through = maxIso(result.through, new Date(sliceEnd).toISOString());
      await deps.ledger.setWatermark({
        webhookId,
        through: result.through,
        lastPollAt: pollAt.toISOString(),
      });
    }
    if (start >= end) {
      result.through = maxIso(result.through, new Date(end).toISOString());
      await deps.ledger.setWatermark({
        webhookId,
        through: result.through,
        lastPollAt: pollAt.toISOString(),
      });
    }
  } catch (error) {
    result.complete = false;
    result.error = {
      message: error instanceof Error ? error.message : String(error),
      ...(error instanceof GenesysApiError ? { status: error.status, code: error.code } : {}),
    };
    // Record that the poll ran even though the watermark could not move.
    await deps.ledger
      .setWatermark({ webhookId, through: result.through, lastPollAt: pollAt.toISOString() })
      .catch(() => undefined);
  }
  return result;
}

async function processPage(
  webhookId: string,
  page: readonly unknown[],
  deps: PollDeps,
  result: WebhookPollResult,
  seen: Set<string>,
): Promise<void> {
  const now = deps.now();
  const candidates: RetryMessage[] = [];
  const invalid: Promise<void>[] = [];
  const messages: RetryMessage[] = [];
  for (const entry of page) {
    result.found += 1;
    const normalised = normaliseDelivery(entry, {
      webhookId,
      forwardCredentials: deps.settings.FORWARD_CREDENTIAL_HEADERS,
      extraCredentialHeaders: deps.settings.EXTRA_CREDENTIAL_HEADERS,
      targets: deps.settings,
      now,
    });
    if (normalised.ok) messages.push(normalised.message);
    else
      invalid.push(recordInvalid(webhookId, normalised.deliveryId, normalised.reason, entry, deps, result));
  }
  // Pages are unordered: fold repeats onto the earliest attempt, synchronously, before any claim is awaited.
  messages.sort((a, b) => a.failedAt.localeCompare(b.failedAt) || a.deliveryId.localeCompare(b.deliveryId));
  const repeats: RetryMessage[] = [];
  for (const message of messages) {
    if (seen.has(message.eventKey)) {
      repeats.push(message);
      result.duplicates += 1;
      deps.onEvent?.({
        kind: 'duplicate',
        webhookId,
        deliveryId: message.deliveryId,
        eventKey: message.eventKey,
      });
      continue;
    }
    seen.add(message.eventKey);
    candidates.push(message);
  }
  const claims = await Promise.all(candidates.map((m) => deps.ledger.claim(m)));
  await Promise.all(invalid);
  const fresh = candidates.filter((m, i) => {
    if (claims[i] === 'new') return true;
    result.duplicates += 1;
    deps.onEvent?.({ kind: 'duplicate', webhookId, deliveryId: m.deliveryId, eventKey: m.eventKey });
    return false;
  });
  const failures = fresh.length > 0 ? await deps.queue.enqueue(fresh) : [];
  const failed = new Map(failures.map((f) => [f.eventKey, f]));
  const sent = fresh.filter((m) => !failed.has(m.eventKey));
  await deps.ledger.markEnqueued(sent.map((m) => m.eventKey));
  // A repeat folded here is noted on its event too (once the event's claim is settled), so that every delivery
  // id the log lists can be looked up later (`dlq show`).
  const settled = new Set(
    [...sent, ...candidates.filter((_, i) => claims[i] !== 'new')].map((m) => m.eventKey),
  );
  await Promise.all(repeats.filter((m) => settled.has(m.eventKey)).map((m) => deps.ledger.claim(m)));
  if (fresh.length === 0) return;
  result.enqueued += sent.length;
  for (const m of sent) deps.onEvent?.({ kind: 'enqueued', message: m });
  for (const m of fresh) {
    const failure = failed.get(m.eventKey);
    if (!failure?.permanent) continue;
    await recordInvalid(webhookId, m.deliveryId, failure.reason, m, deps, result);
    // Close the claim so the overlap of the next poll does not try (and count) the same refusal again.
    const attempt = { attempt: 0, messageId: 'not-enqueued', at: now.toISOString(), durationMs: 0 };
    await deps.ledger.recordAttempt(
      m.eventKey,
      { ...attempt, outcome: 'permanent', error: failure.reason },
      'permanent',
      failure.reason,
    );
  }
  const transient = failures.find((f) => !f.permanent);
  if (transient) throw new SliceIncomplete(`could not enqueue every event: ${transient.reason}`);
}

async function recordInvalid(
  webhookId: string,
  deliveryId: string,
  reason: string,
  entry: unknown,
  deps: PollDeps,
  result: WebhookPollResult,
): Promise<void> {
  const recorded = await deps.ledger.recordInvalid({
    webhookId,
    deliveryId,
    reason,
    raw: safeJson(redactCredentialHeaders(entry, deps.settings.EXTRA_CREDENTIAL_HEADERS)),
  });
  if (recorded === 'duplicate') return;
  result.invalid += 1;
  deps.onEvent?.({ kind: 'invalid', webhookId, deliveryId, reason });
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function maxIso(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

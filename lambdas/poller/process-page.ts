import { redactCredentialHeaders } from '../shared/domain/headers';
import { normaliseDelivery } from '../shared/domain/normalise-delivery';
import type { RetryMessage } from '../shared/domain/retry-message';
import { enqueueClaimed } from '../shared/enqueue-claimed';
import { closeRefusedClaim } from '../shared/refused-claim';
import { PartIncomplete, type PollDeps, type WebhookPollResult, type WebhookState } from './poll-state';

/** Normalises an entry; a throw (a bug, or an input nothing anticipated) becomes a refusal, never a stopped page. */
function normalise(entry: unknown, webhookId: string, deps: PollDeps, now: Date) {
  try {
    return normaliseDelivery(entry, {
      webhookId,
      forwardCredentials: deps.settings.FORWARD_CREDENTIAL_HEADERS,
      extraCredentialHeaders: deps.settings.EXTRA_CREDENTIAL_HEADERS,
      targets: deps.settings,
      now,
    });
  } catch (error) {
    const reason = `entry could not be read: ${error instanceof Error ? error.message : String(error)}`;
    return { ok: false as const, deliveryId: 'unknown', reason };
  }
}

export async function processPage(
  webhookId: string,
  page: readonly unknown[],
  deps: PollDeps,
  state: WebhookState,
): Promise<void> {
  const { result, seen } = state;
  const now = deps.now();
  const candidates: RetryMessage[] = [];
  const invalidWrites: Promise<void>[] = [];
  const messages: RetryMessage[] = [];
  for (const entry of page) {
    result.found += 1;
    const normalised = normalise(entry, webhookId, deps, now);
    if (normalised.ok) messages.push(normalised.message);
    else
      invalidWrites.push(
        recordInvalid(webhookId, normalised.deliveryId, normalised.reason, entry, deps, result),
      );
  }
  // Settled-handlers are attached now, before anything else is awaited: a write that fails while the claims
  // are in flight must be reported with the page, never surface as an unhandled rejection.
  const invalidSettled = Promise.allSettled(invalidWrites);
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
  const [claims, invalidOutcomes] = await Promise.all([
    Promise.allSettled(
      candidates.map((m) =>
        deps.ledger.claim(m, { likelyNew: Date.parse(m.failedAt) >= state.unlistedFrom }),
      ),
    ),
    invalidSettled,
  ]);
  const fresh: RetryMessage[] = [];
  let claimFailure: unknown;
  candidates.forEach((m, i) => {
    const claim = claims[i];
    if (claim?.status === 'rejected') {
      // Not claimed: the next poll's window still holds it (the watermark does not move past this page).
      seen.delete(m.eventKey);
      claimFailure ??= claim.reason;
    } else if (claim?.value === 'new') fresh.push(m);
    else {
      result.duplicates += 1;
      deps.onEvent?.({ kind: 'duplicate', webhookId, deliveryId: m.deliveryId, eventKey: m.eventKey });
    }
  });
  // The events that could be claimed go on the queue whatever happened to their neighbours on the page.
  const sent = fresh.length > 0 ? await enqueueFresh(webhookId, fresh, deps, result, now) : [];
  // A repeat folded here is noted on its event too (once the event's claim is settled), so that every delivery
  // id the log lists can be looked up later (`dlq show`). A failure here loses nothing: it is only a lookup aid.
  const settled = new Set(
    [
      ...sent,
      ...candidates.filter((_, i) => {
        const claim = claims[i];
        return claim?.status === 'fulfilled' && claim.value !== 'new';
      }),
    ].map((m) => m.eventKey),
  );
  await Promise.allSettled(repeats.filter((m) => settled.has(m.eventKey)).map((m) => deps.ledger.claim(m)));
  const invalidFailure = invalidOutcomes.find((o) => o.status === 'rejected');
  if (claimFailure !== undefined)
    throw new PartIncomplete(`could not claim an event: ${describe(claimFailure)}`);
  if (invalidFailure?.status === 'rejected') {
    throw new PartIncomplete(
      `could not record a delivery-log entry that cannot be enqueued: ${describe(invalidFailure.reason)}`,
    );
  }
}

async function enqueueFresh(
  webhookId: string,
  fresh: readonly RetryMessage[],
  deps: PollDeps,
  result: WebhookPollResult,
  now: Date,
): Promise<readonly RetryMessage[]> {
  const { sent, refused, transient } = await enqueueClaimed(deps.queue, deps.ledger, fresh);
  result.enqueued += sent.length;
  for (const m of sent) deps.onEvent?.({ kind: 'enqueued', message: m });
  for (const { message: m, reason } of refused) {
    await recordInvalid(webhookId, m.deliveryId, reason, m, deps, result);
    // Close the claim so the overlap of the next poll does not try (and count) the same refusal again.
    await closeRefusedClaim(deps.ledger, m, reason, now);
  }
  if (transient !== undefined) throw new PartIncomplete(`could not enqueue every event: ${transient}`);
  return sent;
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // Too deep to serialise (or cyclic): a bounded description still tells the operator what it was.
    try {
      return String(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
}

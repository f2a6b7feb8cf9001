import { EVENTBRIDGE_LEDGER_ID } from '../shared/domain/event-envelope';
import { type ExpectedOrigin, originRefusal } from '../shared/domain/event-origin';
import { type GenesysEvent, genesysRetryMessage, readGenesysEvent } from '../shared/domain/genesys-event';
import type { RetryMessage } from '../shared/domain/retry-message';
import type { Route } from '../shared/domain/routes';
import { enqueueClaimed } from '../shared/enqueue-claimed';
import type { EntityOrderStore, Ledger, RetryQueue } from '../shared/ports';
import { closeRefusedClaim } from '../shared/refused-claim';
import type { PipelineSettings } from '../shared/settings';

export { EVENTBRIDGE_LEDGER_ID };

/** Something worth a line in local mode or a log entry. */
export type IntakeEvent =
  | { kind: 'enqueued'; message: RetryMessage }
  | { kind: 'duplicate'; route: string; deliveryId: string; eventKey: string }
  | { kind: 'unmatched'; deliveryId: string; topicName: string }
  | { kind: 'invalid'; deliveryId: string; reason: string };

/** What became of one EventBridge event. */
export interface IntakeResult {
  enqueued: number;
  duplicates: number;
  unmatched: number;
  invalid: number;
}

export interface IntakeDeps {
  readonly queue: RetryQueue;
  readonly ledger: Ledger;
  readonly settings: Pick<PipelineSettings, 'FORWARD_CREDENTIAL_HEADERS'>;
  readonly now: () => Date;
  /** The partner source and account events must name; others are refused and recorded. @default - any */
  readonly origin?: ExpectedOrigin;
  readonly onEvent?: (event: IntakeEvent) => void;
  /** Where ordered routes keep each entity's pending events; required when a route is ordered per entity. */
  readonly orders?: EntityOrderStore;
}

/** Thrown when SQS did not take a message for a reason that may pass: the caller retries the whole event. */
export class IntakeRetryableError extends Error {}

/**
 * Puts one EventBridge event from Genesys Cloud on the retry queue, once per route that takes it (the stack's
 * rule names one route; local mode passes every route the matcher finds). Each message is claimed in the ledger
 * first, so a repeat (the same content under a new EventBridge id) is not enqueued again. An event no route takes,
 * or one that is not Genesys's shape, is recorded in the ledger with its reason, never dropped silently.
 * Throws IntakeRetryableError when a message could not be enqueued: its claim stays pending, so a retry takes it.
 */
export async function acceptGenesysEvent(
  raw: unknown,
  routes: readonly Route[],
  deps: IntakeDeps,
): Promise<IntakeResult> {
  const result: IntakeResult = { enqueued: 0, duplicates: 0, unmatched: 0, invalid: 0 };
  const read = readGenesysEvent(raw);
  if (!read.ok) {
    if ((await record(read.id, read.reason, raw, deps)) === 'new') {
      result.invalid += 1;
      deps.onEvent?.({ kind: 'invalid', deliveryId: read.id, reason: read.reason });
    }
    return result;
  }
  const { event } = read;
  const refused = originRefusal(event, deps.origin ?? {});
  if (refused !== undefined) {
    if ((await record(event.id, refused, raw, deps)) === 'new') {
      result.invalid += 1;
      deps.onEvent?.({ kind: 'invalid', deliveryId: event.id, reason: refused });
    }
    return result;
  }
  if (routes.length === 0) {
    const reason = `no route matches topic ${event.topicName}`;
    if ((await record(event.id, reason, raw, deps)) === 'new') {
      result.unmatched += 1;
      deps.onEvent?.({ kind: 'unmatched', deliveryId: event.id, topicName: event.topicName });
    }
    return result;
  }
  await enqueueForRoutes(event, routes, deps, result);
  return result;
}

async function enqueueForRoutes(
  event: GenesysEvent,
  routes: readonly Route[],
  deps: IntakeDeps,
  result: IntakeResult,
): Promise<void> {
  const now = deps.now();
  const options = { forwardCredentials: deps.settings.FORWARD_CREDENTIAL_HEADERS, now };
  const messages = routes.map((route) => genesysRetryMessage(event, route, options));
  // EventBridge sends an event again only rarely (at least once, and its retries of a failed invocation): a read
  // before the claim would nearly always find nothing.
  const claims = await Promise.all(messages.map((m) => deps.ledger.claim(m, { likelyNew: true })));
  const fresh = messages.filter((m, i) => {
    if (claims[i] === 'new') return true;
    result.duplicates += 1;
    deps.onEvent?.({
      kind: 'duplicate',
      route: m.route ?? '',
      deliveryId: m.deliveryId,
      eventKey: m.eventKey,
    });
    return false;
  });
  if (fresh.length === 0) return;
  await registerOrdered(fresh, now, deps);
  const { sent, refused, transient } = await enqueueClaimed(deps.queue, deps.ledger, fresh);
  result.enqueued += sent.length;
  for (const m of sent) deps.onEvent?.({ kind: 'enqueued', message: m });
  for (const { message: m, reason: refusal } of refused) {
    // SQS refused the message itself (an EventBridge event is at most 256 KB, so this is rare): record, close.
    const reason = `route ${m.route}: ${refusal}`;
    if ((await record(event.id, reason, event, deps)) === 'new') result.invalid += 1;
    deps.onEvent?.({ kind: 'invalid', deliveryId: event.id, reason });
    await closeRefusedClaim(deps.ledger, m, refusal, now);
  }
  if (transient !== undefined) throw new IntakeRetryableError(`could not enqueue every route: ${transient}`);
}

/**
 * Registers the events of ordered routes with their entity before they are put on the queue, so that a later
 * event of the entity, received first, waits for them. Idempotent: a retried intake registers again harmlessly.
 */
async function registerOrdered(
  messages: readonly RetryMessage[],
  now: Date,
  deps: IntakeDeps,
): Promise<void> {
  const ordered = messages.filter((m) => m.order !== undefined);
  if (ordered.length === 0) return;
  const orders = deps.orders;
  if (!orders)
    throw new Error('a route is ordered per entity, but the intake was given no entity order store');
  await Promise.all(
    ordered.map((m) =>
      orders.register({ route: m.route ?? m.webhookId, entity: m.order?.entity ?? '' }, m.eventKey, {
        atMs: Date.parse(m.order?.at ?? ''),
        arrivedMs: now.getTime(),
      }),
    ),
  );
}

function record(
  deliveryId: string,
  reason: string,
  raw: unknown,
  deps: IntakeDeps,
): Promise<'new' | 'duplicate'> {
  let text: string;
  try {
    text = JSON.stringify(raw) ?? String(raw);
  } catch {
    text = String(raw);
  }
  return deps.ledger.recordInvalid({ webhookId: EVENTBRIDGE_LEDGER_ID, deliveryId, reason, raw: text });
}

import { type ExpectedOrigin, originRefusal } from './event-origin';
import { genesysRetryMessage, readGenesysEvent } from './genesys-event';
import type { RetryMessage } from './retry-message';
import { routeSchema } from './routes';

/**
 * What an EventBridge rule puts on the retry queue: `{"route": <the rule's route, or null>, "event": <the whole
 * EventBridge event>}` (its input transformer, lib/constructs/eventbridge-source.ts), and how the redeliverer
 * takes one in. The message it derives is a pure function of the body and SQS's send time, so every receive of
 * the same SQS message derives the same message, and a repeat of the content (a new EventBridge id) the same
 * event key. Pure.
 */
/** The `webhookId` under which events no route takes, or that are not Genesys's shape, are filed in the ledger. */
export const EVENTBRIDGE_LEDGER_ID = 'eventbridge';

export interface EventEnvelope {
  readonly route: unknown;
  readonly event: unknown;
}

/** The body as an envelope, or undefined when it is not one (a retry message has `v`, an envelope has not). */
export function asEventEnvelope(json: unknown): EventEnvelope | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  if ('v' in json || !('route' in json) || !('event' in json)) return undefined;
  return json as EventEnvelope;
}

export type TakenEvent =
  /** A Genesys event for one of the stack's routes: its retry message. */
  | { readonly kind: 'message'; readonly message: RetryMessage }
  /** A Genesys event of this stack's source that no route takes (the catch-all rule): recorded, counted. */
  | { readonly kind: 'unmatched'; readonly deliveryId: string; readonly reason: string }
  /** Not Genesys's shape, or from another partner source or account: recorded, counted. */
  | { readonly kind: 'refused'; readonly deliveryId: string; readonly reason: string }
  /** The rule's input is not what the stack's rules send: a wiring bug, dead-lettered. */
  | { readonly kind: 'malformed'; readonly reason: string };

export interface TakeOptions {
  readonly forwardCredentials: boolean;
  /** When SQS accepted the message (its SentTimestamp): the message's `enqueuedAt`. */
  readonly sentAt: Date;
  /** The partner source and account events must name; others are refused. @default - any */
  readonly origin?: ExpectedOrigin;
}

/** Takes in one envelope: the retry message it stands for, or why it stands for none. */
export function takeEnvelope(envelope: EventEnvelope, options: TakeOptions): TakenEvent {
  const route = envelope.route === null ? null : routeSchema.safeParse(envelope.route);
  if (route !== null && !route.success) {
    const issue = route.error.issues[0];
    const where = issue && issue.path.length > 0 ? `route.${issue.path.join('.')}` : 'route';
    return { kind: 'malformed', reason: `rule input ${where}: ${issue?.message ?? 'not a route'}` };
  }
  if (route?.data.order !== undefined) {
    // Ordered routes register each event with its entity before it is queued: their rules invoke the intake.
    return {
      kind: 'malformed',
      reason: `route ${route.data.name} is ordered per entity: its rule must invoke the intake`,
    };
  }
  const read = readGenesysEvent(envelope.event);
  if (!read.ok) return { kind: 'refused', deliveryId: read.id, reason: read.reason };
  const { event } = read;
  const refused = originRefusal(event, options.origin ?? {});
  if (refused !== undefined) return { kind: 'refused', deliveryId: event.id, reason: refused };
  if (route === null) {
    return { kind: 'unmatched', deliveryId: event.id, reason: `no route matches topic ${event.topicName}` };
  }
  const message = genesysRetryMessage(event, route.data, {
    forwardCredentials: options.forwardCredentials,
    now: options.sentAt,
  });
  return { kind: 'message', message };
}

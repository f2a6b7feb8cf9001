import { createHash } from 'node:crypto';
import { filterHeaders } from './headers';
import type { RetryMessage } from './retry-message';
import type { Route } from './routes';
import { entityOf } from './topic-match';

/**
 * Genesys Cloud events as the Amazon EventBridge integration delivers them, and how one becomes a retry
 * message for one route. Pure: time is passed in.
 */

/** What this project needs of an EventBridge event from Genesys Cloud. */
export interface GenesysEvent {
  /** EventBridge's id of this event; a duplicate that Genesys sends again may carry a new one. */
  readonly id: string;
  readonly source: string;
  /** The AWS account the event names (EventBridge sets it), or undefined when it names none. */
  readonly account: string | undefined;
  /** When Genesys published it (ISO-8601), or undefined when the event does not say. */
  readonly time: string | undefined;
  readonly topicName: string;
  /** The Genesys notification: `topicName`, `version`, `eventBody`, `metadata`, `timestamp`. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export type ReadGenesysEvent =
  | { readonly ok: true; readonly event: GenesysEvent }
  | { readonly ok: false; readonly id: string; readonly reason: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads an EventBridge event (as a JSON value); never throws, so every refusal can be recorded. */
export function readGenesysEvent(value: unknown): ReadGenesysEvent {
  if (!isRecord(value)) return { ok: false, id: 'unknown', reason: 'event is not an object' };
  const id = typeof value.id === 'string' && value.id.length > 0 ? value.id : 'unknown';
  const refuse = (reason: string): ReadGenesysEvent => ({ ok: false, id, reason });
  if (id === 'unknown') return refuse('event has no id');
  if (typeof value.source !== 'string') return refuse('event has no source');
  if (!isRecord(value.detail)) return refuse('event has no detail object');
  const topicName = value.detail.topicName;
  if (typeof topicName !== 'string' || topicName.length === 0) return refuse('detail has no topicName');
  const parsed = typeof value.time === 'string' ? new Date(value.time) : undefined;
  const time = parsed && !Number.isNaN(parsed.getTime()) ? parsed.toISOString() : undefined;
  const account = typeof value.account === 'string' ? value.account : undefined;
  return { ok: true, event: { id, source: value.source, account, time, topicName, detail: value.detail } };
}

/** JSON with object keys sorted at every level, so the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The Idempotency-Key of an EventBridge event for one route: SHA-256 over the source name, the route's name
 * and URL, and the whole `detail` (topicName, version, eventBody, metadata with its CorrelationId, timestamp)
 * in canonical JSON. The EventBridge `id`, `time` and the partner source name are left out, so a duplicate
 * that Genesys sends again with a new id has the same key; the route is in, so each route gets its own key.
 */
export function genesysEventKey(route: Pick<Route, 'name' | 'url'>, detail: unknown): string {
  return createHash('sha256')
    .update('eventbridge')
    .update('\u0000')
    .update(route.name)
    .update('\u0000')
    .update(route.url)
    .update('\u0000')
    .update(canonicalJson(detail))
    .digest('hex');
}

/** The `webhookId` of EventBridge messages: the ledger and CLI file them under their route. */
export function routeWebhookId(routeName: string): string {
  return `eventbridge:${routeName}`;
}

/**
 * The retry message that delivers `event` to `route`: the body is `detail` as JSON, Content-Type
 * application/json, the route's headers (credential headers only when the operator opted in; the settings check
 * refuses them otherwise). There was no failed attempt before this one, so `originalStatus` is null and
 * `failedAt` is when Genesys published the event.
 */
export function genesysRetryMessage(
  event: GenesysEvent,
  route: Route,
  options: { readonly forwardCredentials: boolean; readonly now: Date },
): RetryMessage {
  const { headers, stripped } = filterHeaders(route.headers ?? {}, {
    forwardCredentials: options.forwardCredentials,
  });
  // The body is JSON whatever the route says: its Content-Type is this project's to set.
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-type') delete headers[name];
  const now = options.now.toISOString();
  return {
    v: 1,
    eventKey: genesysEventKey(route, event.detail),
    deliveryId: event.id,
    webhookId: routeWebhookId(route.name),
    targetUrl: route.url,
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify(event.detail),
    contentType: 'application/json',
    originalStatus: null,
    failedAt: event.time ?? now,
    enqueuedAt: now,
    strippedHeaders: stripped,
    source: 'eventbridge',
    route: route.name,
    ...orderOf(event, route),
  };
}

/** The order fields of an event on a route ordered per entity; none on other routes. */
function orderOf(event: GenesysEvent, route: Route): Pick<RetryMessage, 'order'> {
  if (route.order !== 'per-entity') return {};
  const entity = entityOf(route, event.topicName);
  if (entity === undefined) return {};
  // Genesys's own time of the event orders it; EventBridge's time is the fallback, then none (the epoch).
  const stamp = event.detail.timestamp;
  const parsed = typeof stamp === 'string' ? new Date(stamp) : undefined;
  const at =
    parsed && !Number.isNaN(parsed.getTime())
      ? parsed.toISOString()
      : (event.time ?? new Date(0).toISOString());
  return {
    order: {
      entity: entity.slice(0, 256),
      at,
      ...(route.latestOnly === true ? { latestOnly: true as const } : {}),
    },
  };
}

import { asEventEnvelope, type TakeOptions, takeEnvelope } from '../shared/domain/event-envelope';
import { type RetryMessage, retryMessageSchema } from '../shared/domain/retry-message';

export type ReadRetryRecord =
  | { readonly ok: true; readonly message: RetryMessage }
  | {
      readonly ok: false;
      /** Why it is not a retry message; names paths and expected forms, never a value. */
      readonly reason: string;
      /** The webhook id, when the body has a usable one, so the ledger can file the refusal near its kin. */
      readonly webhookId?: string;
      /** The body with every header value replaced, safe to keep in the ledger. */
      readonly redactedBody: string;
    };

/**
 * Reads an SQS record's body as a retry message. A body that is not one is described without echoing any
 * value: header values may hold credentials the operator opted to forward.
 */
export function readRetryRecord(body: string): ReadRetryRecord {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON', redactedBody: body };
  }
  return readRetryJson(json);
}

/** What one SQS record of the retry queue is: a retry message, an EventBridge event a rule put there, or neither. */
export type ReadQueuedRecord =
  | (ReadRetryRecord & { readonly ok: true; readonly fromEvent: boolean })
  | (ReadRetryRecord & { readonly ok: false })
  | {
      readonly ok: 'not-routed';
      /** unmatched: no route takes its topic; refused: not Genesys's shape, or another source or account. */
      readonly kind: 'unmatched' | 'refused';
      readonly deliveryId: string;
      readonly reason: string;
      /** The EventBridge event as JSON, kept in the ledger with the reason (it has no headers of ours). */
      readonly raw: string;
    };

/**
 * Reads a record of the retry queue. The poller, the intake and the redeliverer's own re-sent copies put retry
 * messages there; the EventBridge rules of unordered routes put the event itself, in an envelope with the rule's
 * route (lambdas/shared/domain/event-envelope.ts), which is turned into its retry message here.
 */
export function readQueuedRecord(body: string, options: TakeOptions): ReadQueuedRecord {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON', redactedBody: body };
  }
  const envelope = asEventEnvelope(json);
  if (envelope === undefined) {
    const read = readRetryJson(json);
    return read.ok ? { ...read, fromEvent: false } : read;
  }
  const taken = takeEnvelope(envelope, options);
  switch (taken.kind) {
    case 'message':
      return { ok: true, message: taken.message, fromEvent: true };
    case 'malformed':
      return { ok: false, reason: taken.reason, webhookId: 'eventbridge', redactedBody: redactRoute(json) };
    default:
      return {
        ok: 'not-routed',
        kind: taken.kind,
        deliveryId: taken.deliveryId,
        reason: taken.reason,
        raw: JSON.stringify(envelope.event) ?? 'undefined',
      };
  }
}

/** A malformed envelope's body with its route's header values replaced (they may be credentials). */
function redactRoute(json: unknown): string {
  if (!isObject(json) || !isObject(json.route)) return JSON.stringify(json);
  return JSON.stringify({ ...json, route: JSON.parse(redactHeaderValues(json.route)) });
}

function readRetryJson(json: unknown): ReadRetryRecord {
  const result = retryMessageSchema.safeParse(json);
  if (result.success) return { ok: true, message: result.data };
  // Zod's messages name the path and the expected form, not the value.
  const reason = result.error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
  const webhookId = webhookIdOf(json);
  return {
    ok: false,
    reason: `not a retry message: ${reason}`,
    ...(webhookId !== undefined ? { webhookId } : {}),
    redactedBody: redactHeaderValues(json),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function webhookIdOf(json: unknown): string | undefined {
  if (!isObject(json) || typeof json.webhookId !== 'string') return undefined;
  return json.webhookId.slice(0, 128) || undefined;
}

function redactHeaderValues(json: unknown): string {
  if (!isObject(json) || !('headers' in json)) return JSON.stringify(json);
  const headers = isObject(json.headers)
    ? Object.fromEntries(Object.keys(json.headers).map((name) => [name, '[redacted]']))
    : '[redacted]';
  return JSON.stringify({ ...json, headers });
}

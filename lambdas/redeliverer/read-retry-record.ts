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

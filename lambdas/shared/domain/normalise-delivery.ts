import { serialiseBody } from './body';
import { eventKey } from './event-key';
import { filterHeaders } from './headers';
import { type RetryMessage, toQueueBody } from './retry-message';
import { type TargetPolicy, targetRefusal } from './target';

/** SQS's largest message, less headroom for the attributes SQS counts against it. */
export const MAX_MESSAGE_BYTES = 1_048_576 - 1_024;

export interface NormaliseOptions {
  readonly webhookId: string;
  readonly forwardCredentials: boolean;
  /** EXTRA_CREDENTIAL_HEADERS. @default [] */
  readonly extraCredentialHeaders?: readonly string[];
  /** Which targets may be called; the parsed settings fit as they are. */
  readonly targets: TargetPolicy;
  readonly now: Date;
}

export type Normalised =
  | { readonly ok: true; readonly message: RetryMessage }
  | { readonly ok: false; readonly deliveryId: string; readonly reason: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isoOrUndefined(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return undefined;
  const iso = d.toISOString();
  // Years past 9999 serialise as "+010000-…", which no ISO-8601 reader downstream accepts.
  return /^\d{4}-/.test(iso) ? iso : undefined;
}

/**
 * Turns one delivery-log entry (any JSON value) into a retry message, or into a reason it cannot be one.
 * Never throws: the caller records every refusal, so nothing is dropped silently.
 */
export function normaliseDelivery(entry: unknown, options: NormaliseOptions): Normalised {
  if (!isRecord(entry)) return { ok: false, deliveryId: 'unknown', reason: 'entry is not an object' };
  const deliveryId = typeof entry.id === 'string' && entry.id.length > 0 ? entry.id : undefined;
  if (!deliveryId) return { ok: false, deliveryId: 'unknown', reason: 'entry has no id' };
  const refuse = (reason: string): Normalised => ({ ok: false, deliveryId, reason });

  if (entry.webhookId !== undefined && entry.webhookId !== options.webhookId) {
    return refuse(`entry belongs to webhook ${JSON.stringify(entry.webhookId)}, not ${options.webhookId}`);
  }
  if (entry.status !== 'failed') return refuse(`status is ${JSON.stringify(entry.status)}, not "failed"`);
  const refusal = targetRefusal(entry.webhookUrl, options.targets);
  if (refusal) return refuse(refusal);
  const targetUrl = entry.webhookUrl as string;
  const failedAt = isoOrUndefined(entry.dateCreated);
  if (!failedAt) return refuse('dateCreated is missing or not a date');
  if (entry.headers !== undefined && !isRecord(entry.headers)) return refuse('headers is not an object');
  if (entry.body === undefined) return refuse('entry has no body');

  const { headers, stripped, conflict } = filterHeaders(entry.headers ?? {}, {
    forwardCredentials: options.forwardCredentials,
    extraCredentialHeaders: options.extraCredentialHeaders ?? [],
  });
  if (conflict) return refuse(conflict);
  const { text, contentType } = serialiseBody(entry.body, headers);
  // A lone surrogate has no UTF-8 form: sending it would silently replace it with U+FFFD.
  if (!text.isWellFormed())
    return refuse('body is not well-formed Unicode (a lone surrogate): it cannot be sent byte for byte');
  const status = entry.httpStatusCode;
  const message: RetryMessage = {
    v: 1,
    eventKey: eventKey(options.webhookId, targetUrl, text),
    deliveryId,
    webhookId: options.webhookId,
    targetUrl,
    headers,
    body: text,
    contentType,
    originalStatus: typeof status === 'number' && Number.isInteger(status) ? status : null,
    ...(typeof entry.errorMessage === 'string' ? { originalError: entry.errorMessage.slice(0, 2_000) } : {}),
    failedAt,
    enqueuedAt: options.now.toISOString(),
    strippedHeaders: stripped,
  };
  const bytes = Buffer.byteLength(toQueueBody(message), 'utf8');
  if (bytes > MAX_MESSAGE_BYTES) {
    return refuse(`retry message would be ${bytes} bytes, over the SQS limit of ${MAX_MESSAGE_BYTES}`);
  }
  return { ok: true, message };
}

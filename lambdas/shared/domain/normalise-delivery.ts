import { createHash } from 'node:crypto';
import { MAX_BODY_DEPTH, nestedDeeperThan, serialiseBody } from './body';
import { eventKey } from './event-key';
import { filterHeaders } from './headers';
import { type RetryMessage, toQueueBody } from './retry-message';
import { type TargetPolicy, targetRefusal } from './target';

/** SQS's largest message, less headroom for the attributes SQS counts against it. */
export const MAX_MESSAGE_BYTES = 1_048_576 - 1_024;

/** Longest delivery id accepted: ids are ledger keys, and DynamoDB keys hold at most 2,048 bytes. */
export const MAX_DELIVERY_ID_CHARS = 256;
/**
 * Longest target URL accepted. The URL is stored on the ledger's event item (DynamoDB's items hold at most
 * 400 KB) and sent on every attempt; real webhook URLs are far shorter, and most servers refuse longer ones.
 */
export const MAX_TARGET_URL_CHARS = 8_192;
/** Longest quotation of an input value inside a refusal reason. */
const MAX_QUOTED_CHARS = 80;

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

/** A value as a short JSON quotation for a reason: never long, never throwing (deep or odd values included). */
export function quote(value: unknown): string {
  let text: string;
  try {
    text =
      typeof value === 'object' && value !== null
        ? Array.isArray(value)
          ? `an array of ${value.length}`
          : 'an object'
        : (JSON.stringify(value) ?? String(value));
  } catch {
    text = typeof value;
  }
  return text.length > MAX_QUOTED_CHARS
    ? `${text.slice(0, MAX_QUOTED_CHARS).toWellFormed()}… (${text.length} characters)`
    : text;
}

/** An id too long to be a key, shortened to a recognisable prefix and a hash of the whole. */
export function shortId(id: string): string {
  if (id.length <= MAX_DELIVERY_ID_CHARS) return id;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 32);
  return `${id.slice(0, 64).toWellFormed()}…sha256:${hash}`;
}

/**
 * Turns one delivery-log entry (any JSON value) into a retry message, or into a reason it cannot be one.
 * Never throws: the caller records every refusal, so nothing is dropped silently.
 */
export function normaliseDelivery(entry: unknown, options: NormaliseOptions): Normalised {
  try {
    return normalise(entry, options);
  } catch (error) {
    // Unreachable by design; kept so that an input nothing anticipated is refused, never a stopped page.
    const id =
      isRecord(entry) && typeof entry.id === 'string' && entry.id.length > 0 ? shortId(entry.id) : 'unknown';
    return {
      ok: false,
      deliveryId: id,
      reason: `entry could not be read: ${quote(error instanceof Error ? error.message : error)}`,
    };
  }
}

function normalise(entry: unknown, options: NormaliseOptions): Normalised {
  if (!isRecord(entry)) return { ok: false, deliveryId: 'unknown', reason: 'entry is not an object' };
  const deliveryId = typeof entry.id === 'string' && entry.id.length > 0 ? entry.id : undefined;
  if (!deliveryId) return { ok: false, deliveryId: 'unknown', reason: 'entry has no id' };
  const refuse = (reason: string): Normalised => ({ ok: false, deliveryId: shortId(deliveryId), reason });
  if (deliveryId.length > MAX_DELIVERY_ID_CHARS)
    return refuse(`id is ${deliveryId.length} characters, over ${MAX_DELIVERY_ID_CHARS}`);

  if (entry.webhookId !== undefined && entry.webhookId !== options.webhookId) {
    return refuse(`entry belongs to webhook ${quote(entry.webhookId)}, not ${options.webhookId}`);
  }
  if (entry.status !== 'failed') return refuse(`status is ${quote(entry.status)}, not "failed"`);
  if (typeof entry.webhookUrl === 'string' && entry.webhookUrl.length > MAX_TARGET_URL_CHARS)
    return refuse(`webhookUrl is ${entry.webhookUrl.length} characters, over ${MAX_TARGET_URL_CHARS}`);
  const refusal = targetRefusal(entry.webhookUrl, options.targets);
  if (refusal) return refuse(refusal);
  const targetUrl = entry.webhookUrl as string;
  const failedAt = isoOrUndefined(entry.dateCreated);
  if (!failedAt) return refuse('dateCreated is missing or not a date');
  if (entry.headers !== undefined && !isRecord(entry.headers)) return refuse('headers is not an object');
  if (entry.body === undefined) return refuse('entry has no body');
  if (nestedDeeperThan(entry.body, MAX_BODY_DEPTH))
    return refuse(`body nests more than ${MAX_BODY_DEPTH} levels deep: it cannot be serialised safely`);

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

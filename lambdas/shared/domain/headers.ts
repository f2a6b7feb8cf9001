/** Headers that describe one connection, not the message; never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

/**
 * Header names that carry credentials, compared without case. Stripped before anything is stored unless the
 * operator opts in (FORWARD_CREDENTIAL_HEADERS), redacted in stored raw copies, never logged. Documented in
 * docs/reliability.md ("Security"); EXTRA_CREDENTIAL_HEADERS adds names.
 */
export const CREDENTIAL_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'apikey',
  'x-auth-token',
  'x-access-token',
  'x-amz-security-token',
  'x-csrf-token',
  'x-xsrf-token',
  'x-functions-key',
  'ocp-apim-subscription-key',
  'private-token',
  'x-hub-signature',
  'x-hub-signature-256',
  'x-signature',
  'signature',
  'webhook-signature',
];

/**
 * Words that make a header name a credential wherever they stand between dashes, dots or underscores
 * (`X-Partner-Token`, `X-Webhook-Secret`, `X-Slack-Signature`, `X-Session-Id`): partners invent such names faster
 * than any list can follow.
 */
export const CREDENTIAL_WORDS: readonly string[] = [
  'auth',
  'authorization',
  'apikey',
  'credential',
  'credentials',
  'hmac',
  'jwt',
  'passwd',
  'password',
  'secret',
  'session',
  'signature',
  'token',
];

/**
 * Last words that make a header name a credential (`X-Partner-Key`, `Subscription-Key`, `Access-Key`,
 * `X-Signing-Key`, `X-Session-Token`): a name that ends in one names the value as a key, token, secret or signature.
 */
export const CREDENTIAL_LAST_WORDS: readonly string[] = ['key', 'token', 'secret', 'signature'];

/** Names that end in `-key` yet carry no secret: this project's own Idempotency-Key. */
const NOT_CREDENTIALS = new Set(['idempotency-key']);

const CREDENTIAL_NAMES = new Set(CREDENTIAL_HEADERS);
const CREDENTIAL_WORD_SET = new Set(CREDENTIAL_WORDS);
const CREDENTIAL_LAST_WORD_SET = new Set(CREDENTIAL_LAST_WORDS);
/** The `auth…` family as a word: auth, authn, authz, authorization, authentication, authtoken, … but not author. */
const AUTH_WORD = /^auth(?!or)/;

/** Headers this project sets itself on every redelivery. */
const OWN = new Set(['idempotency-key']);

/** A header name as RFC 9110 allows it (a token); anything else fails at send time. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A field value: visible ASCII, tabs, spaces and obs-text; anything else fails at send time. */
const FIELD_VALUE = /^[\t\x20-\x7E\x80-\xFF]*$/;

/**
 * The stack's ExtraCredentialHeaders output when EXTRA_CREDENTIAL_HEADERS is empty: a CloudFormation output
 * cannot be empty, and no header name has parentheses.
 */
export const NO_EXTRA_CREDENTIAL_HEADERS = '(none)';

/** The names of the stack's ExtraCredentialHeaders output. */
export function extraCredentialHeadersFromOutput(value: string | undefined): string[] {
  if (value === undefined || value === NO_EXTRA_CREDENTIAL_HEADERS) return [];
  return value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
}

/** What stands in for a credential's value in a stored copy. */
export const REDACTED = '[redacted]';

export interface FilteredHeaders {
  /** The headers to forward; a map without a prototype, so no name is special. */
  readonly headers: Record<string, string>;
  /** Names not forwarded: connection-level, credentials (unless opted in), invalid, or `__proto__`. */
  readonly stripped: string[];
  /** Set when two kept names differ only in case and carry different values: the entry cannot be sent as is. */
  readonly conflict?: string;
}

export interface CredentialOptions {
  /** FORWARD_CREDENTIAL_HEADERS: keep credential headers in what is enqueued. */
  readonly forwardCredentials: boolean;
  /** EXTRA_CREDENTIAL_HEADERS: names counted as credentials on top of the built-in list. */
  readonly extraCredentialHeaders?: readonly string[];
}

/** True for a header that describes one connection (hop-by-hop, Host, Content-Length, Proxy-*): never forwarded. */
export function isHopByHopHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return HOP_BY_HOP.has(lower) || lower.startsWith('proxy-');
}

/**
 * True for a header whose value is a credential: never logged, never stored unless forwarding is opted into,
 * masked when shown. `extra` is EXTRA_CREDENTIAL_HEADERS (compared without case).
 */
export function isCredentialHeader(name: string, extra: readonly string[] = []): boolean {
  const lower = name.toLowerCase();
  if (extra.some((e) => e.toLowerCase() === lower)) return true;
  if (NOT_CREDENTIALS.has(lower)) return false;
  if (CREDENTIAL_NAMES.has(lower)) return true;
  if (lower.includes('api-key') || lower.includes('api_key')) return true;
  const words = lower.split(/[-_.]/);
  if (words.some((word) => CREDENTIAL_WORD_SET.has(word) || AUTH_WORD.test(word))) return true;
  return CREDENTIAL_LAST_WORD_SET.has(words.at(-1) ?? '');
}

/**
 * A copy of a delivery-log entry safe to store: every credential header's value replaced by `[redacted]` (names
 * kept, so an operator sees they were there), and a `headers` field that is not a name→value object replaced
 * whole, since nothing in it can be told apart. Anything else is returned as is. Pure; never throws.
 */
export function redactCredentialHeaders(entry: unknown, extra: readonly string[] = []): unknown {
  if (!isRecord(entry) || !Object.hasOwn(entry, 'headers')) return entry;
  const headers = entry.headers;
  let redacted: unknown;
  if (headers === undefined || headers === null) redacted = headers;
  else if (!isRecord(headers)) redacted = REDACTED;
  else {
    redacted = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [
        name,
        isCredentialHeader(name, extra) ? REDACTED : value,
      ]),
    );
  }
  // fromEntries defines properties, so a `__proto__` field of the entry stays data, as JSON.parse made it.
  return Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, k === 'headers' ? redacted : v]));
}

/**
 * Keeps the headers Genesys sent that still make sense on a new connection. Names keep their original case;
 * values must be strings (anything else is dropped and named in `stripped`). `__proto__` is named in
 * `stripped` rather than lost to an object's prototype; names that differ only in case are merged when their
 * values agree, and reported as a `conflict` when they do not (a target would get one of them, the ledger might
 * record the other).
 */
export function filterHeaders(original: unknown, options: CredentialOptions): FilteredHeaders {
  const headers: Record<string, string> = Object.create(null);
  const stripped: string[] = [];
  if (!isRecord(original)) return { headers, stripped };
  const extra = options.extraCredentialHeaders ?? [];
  const kept = new Map<string, string>();
  let conflict: string | undefined;
  for (const [name, value] of Object.entries(original)) {
    const lower = name.toLowerCase();
    const drop =
      lower === '__proto__' ||
      isHopByHopHeader(name) ||
      OWN.has(lower) ||
      (!options.forwardCredentials && isCredentialHeader(name, extra)) ||
      typeof value !== 'string' ||
      !TOKEN.test(name) ||
      !FIELD_VALUE.test(value);
    if (drop) {
      stripped.push(name);
      continue;
    }
    const first = kept.get(lower);
    if (first === undefined) {
      kept.set(lower, name);
      headers[name] = value;
    } else if (headers[first] !== value) {
      conflict ??= `headers ${JSON.stringify(first)} and ${JSON.stringify(name)} differ only in case and carry different values`;
    }
  }
  return conflict !== undefined ? { headers, stripped, conflict } : { headers, stripped };
}

/** Case-insensitive header lookup. */
export function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/**
 * Why a header map cannot be sent as it stands, or undefined: a `__proto__` name (objects would lose it), or
 * names that differ only in case (node would send the last, the ledger would show the first).
 */
export function headerMapProblem(headers: unknown): string | undefined {
  if (!isRecord(headers)) return undefined;
  const seen = new Set<string>();
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (lower === '__proto__') return 'a header is named __proto__';
    if (seen.has(lower)) return `header names differ only in case (${JSON.stringify(name)})`;
    seen.add(lower);
  }
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

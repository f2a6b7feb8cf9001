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

/** Headers that carry credentials; stripped before enqueueing unless the operator opts in. */
const CREDENTIALS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** Headers this project sets itself on every redelivery. */
const OWN = new Set(['idempotency-key']);

export interface FilteredHeaders {
  readonly headers: Record<string, string>;
  readonly stripped: string[];
}

/** True for a header that describes one connection (hop-by-hop, Host, Content-Length, Proxy-*): never forwarded. */
export function isHopByHopHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return HOP_BY_HOP.has(lower) || lower.startsWith('proxy-');
}

/** True for a header whose value must never be written to a log. */
export function isCredentialHeader(name: string): boolean {
  return CREDENTIALS.has(name.toLowerCase());
}

/**
 * Keeps the headers Genesys sent that still make sense on a new connection. Names keep their original case;
 * values must be strings (anything else is dropped and named in `stripped`).
 */
export function filterHeaders(original: unknown, options: { forwardCredentials: boolean }): FilteredHeaders {
  const headers: Record<string, string> = {};
  const stripped: string[] = [];
  if (typeof original !== 'object' || original === null || Array.isArray(original))
    return { headers, stripped };
  for (const [name, value] of Object.entries(original)) {
    const lower = name.toLowerCase();
    const drop =
      HOP_BY_HOP.has(lower) ||
      lower.startsWith('proxy-') ||
      OWN.has(lower) ||
      (CREDENTIALS.has(lower) && !options.forwardCredentials) ||
      typeof value !== 'string' ||
      !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) ||
      // A field value is visible ASCII, tabs, spaces and obs-text; anything else fails at send time.
      !/^[\t\x20-\x7E\x80-\xFF]*$/.test(value);
    if (drop) stripped.push(name);
    else headers[name] = value;
  }
  return { headers, stripped };
}

/** Case-insensitive header lookup. */
export function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

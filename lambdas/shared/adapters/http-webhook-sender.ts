import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent, type Dispatcher, request } from 'undici';
import { isHopByHopHeader } from '../domain/headers';
import { isLinkLocalOrMetadata } from '../domain/target';
import { PermanentDeliveryError, RetryableDeliveryError } from '../errors';
import type { SendResult, WebhookSender } from '../ports';

/** How much of a target's response body is read (and thrown away) so the connection can be reused. */
const MAX_DISCARDED_BODY_BYTES = 64 * 1024;

/** Undici codes for a request that can never be sent as it stands (bad header, bad URL): retrying cannot help. */
const PERMANENT_CODES = new Set(['UND_ERR_INVALID_ARG', 'ERR_INVALID_URL', 'ERR_INVALID_ARG_TYPE']);

export interface HttpWebhookSenderOptions {
  /** Limit for the whole request: connect, headers and body. */
  readonly timeoutSeconds: number;
  /**
   * Open connections per target origin; further requests queue, so a batch cannot flood one target.
   * @default 10
   */
  readonly connectionsPerOrigin?: number;
  /**
   * A dispatcher to send through instead of the sender's own keep-alive agent (a proxy, a mock). The sender
   * does not close a dispatcher it was given, and the resolved-address check is then the dispatcher's business.
   * @default - an undici Agent owned by this sender
   */
  readonly dispatcher?: Dispatcher;
  /**
   * The resolver whose answers are checked before connecting; injectable so tests can resolve a name to a
   * metadata address.
   * @default - node:dns lookup
   */
  readonly lookup?: LookupFunction;
}

/**
 * Sends redeliveries with undici. One instance holds one keep-alive pool, so connections are shared across the
 * records of a batch and across warm invocations. Redirects are never followed (a 3xx is returned as is), and a
 * target whose name resolves to a link-local or metadata address is refused before any byte is sent.
 */
export class HttpWebhookSender implements WebhookSender {
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #timeoutMs: number;

  constructor(options: HttpWebhookSenderOptions) {
    this.#timeoutMs = options.timeoutSeconds * 1000;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher =
      options.dispatcher ??
      new Agent({
        connections: options.connectionsPerOrigin ?? 10,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        connect: { timeout: this.#timeoutMs, lookup: guardedLookup(options.lookup ?? dnsLookup) },
      });
  }

  async send(req: {
    url: string;
    headers: Readonly<Record<string, string>>;
    body: string;
  }): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const response = await request(req.url, {
        method: 'POST',
        headers: forwardable(req.headers),
        body: req.body,
        dispatcher: this.#dispatcher,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      // The status is the answer; the body only has to be drained so the socket goes back to the pool. A body
      // that is too large or too slow costs the connection, not the result.
      await response.body.dump({ limit: MAX_DISCARDED_BODY_BYTES }).catch(() => undefined);
      const retryAfter = firstValue(response.headers['retry-after']);
      return {
        status: response.statusCode,
        ...(retryAfter !== undefined ? { retryAfter } : {}),
        durationMs: elapsed(),
      };
    } catch (error) {
      throw toDeliveryError(error, req.url, elapsed());
    }
  }

  /** Closes the keep-alive pool (when the sender owns it); for tests and local mode shutdown. */
  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }
}

/** Drops connection-level headers even if a hand-made or old message carries them: undici sets its own. */
function forwardable(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!isHopByHopHeader(name) && name.toLowerCase() !== 'expect') out[name] = value;
  }
  return out;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Wraps a resolver so a name that resolves to a link-local or metadata address is never connected to. */
function guardedLookup(resolve: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options, (error, address, family) => {
      if (error) return callback(error, address, family);
      const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
      const refused = addresses.find((a) => isLinkLocalOrMetadata(a));
      if (refused !== undefined) {
        return callback(
          new PermanentDeliveryError(
            `target host ${hostname} resolves to ${refused}, a link-local or cloud metadata address`,
          ),
          address,
          family,
        );
      }
      callback(null, address, family);
    });
  };
}

/** Walks the cause chain: undici and net wrap the error that matters. */
function* causes(error: unknown): Generator<unknown> {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    yield current;
    current = current instanceof Error ? current.cause : undefined;
  }
}

function errorCode(error: unknown): string {
  for (const e of causes(error)) {
    if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
    if (e instanceof Error && e.name === 'TimeoutError') return 'TIMEOUT';
    if (e instanceof Error && e.name === 'AbortError') return 'ABORTED';
  }
  return 'UNKNOWN';
}

/**
 * Maps a failed request to the project's errors. The message names the host and the error code only: never a
 * header value, nor the URL's path or query, which may carry a token.
 */
function toDeliveryError(error: unknown, url: string, durationMs: number): Error {
  for (const e of causes(error)) if (e instanceof PermanentDeliveryError) return e;
  const host = hostOf(url);
  const code = errorCode(error);
  if (PERMANENT_CODES.has(code)) {
    return new PermanentDeliveryError(`request to ${host} cannot be sent: ${code}`, { cause: error });
  }
  return new RetryableDeliveryError(`request to ${host} failed after ${durationMs} ms: ${code}`, undefined, {
    cause: error,
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}

import { lookup as dnsLookup } from 'node:dns';
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { isHopByHopHeader } from '../domain/headers';
import { addressRefusal, PUBLIC_TARGETS_ONLY, type TargetPolicy } from '../domain/target';
import { PermanentDeliveryError, RetryableDeliveryError, TargetUnreachableError } from '../errors';
import type { SendResult, WebhookSender } from '../ports';

/** How much of a target's response body is read (and thrown away) so the connection can be reused. */
const MAX_DISCARDED_BODY_BYTES = 64 * 1024;

/**
 * How long an idle pooled connection is kept. Shorter than the idle timeouts of common servers (Node 5 s,
 * Apache 5 s, ALB 60 s, nginx 75 s) so the pool drops a connection before the server does; a server's own
 * `Keep-Alive: timeout=N` hint lowers it further (Node subtracts a one-second margin from the hint).
 */
const IDLE_SOCKET_TIMEOUT_MS = 4_000;

/** Codes for a request that can never be sent as it stands (bad header, bad URL): retrying cannot help. */
const PERMANENT_CODES = new Set([
  'ERR_INVALID_URL',
  'ERR_INVALID_CHAR',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_INVALID_PROTOCOL',
  'ERR_UNESCAPED_CHARACTERS',
]);

/**
 * Codes for a host that took no connection at all: its failure, never the event's (the target gate holds it).
 * ENOTFOUND is not among them: a name that does not exist is more often a wrong URL than an outage.
 */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ETIMEDOUT',
  'CONNECT_TIMEOUT',
]);

/**
 * Codes with which a pooled connection that the server closed while idle fails the next request written on it.
 * The server never saw that request, so it is sent again, once, on a new connection.
 */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

export interface HttpWebhookSenderOptions {
  /** Limit for the whole request: connect, headers and body. */
  readonly timeoutSeconds: number;
  /**
   * Open connections per target origin; further requests queue, so a batch cannot flood one target.
   * @default 10
   */
  readonly connectionsPerOrigin?: number;
  /**
   * The resolver whose answers are checked before connecting; injectable so tests can resolve a name to a
   * metadata address.
   * @default - node:dns lookup
   */
  readonly lookup?: LookupFunction;
  /**
   * Which addresses may be connected to, checked for IP literals and for every address a name resolves to.
   * @default - public addresses only (PUBLIC_TARGETS_ONLY): the deployed stack's default
   */
  readonly targets?: TargetPolicy;
}

/** What one exchange learnt from the target. */
interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
}

/** A request that failed before any response arrived, with whether its connection came from the pool. */
class ExchangeFailure extends Error {
  constructor(
    readonly reusedSocket: boolean,
    cause: unknown,
  ) {
    super('exchange failed', { cause });
  }
}

/**
 * Sends redeliveries with node:http and node:https (no HTTP library in the bundle, for cold start). One instance
 * holds one keep-alive pool per scheme, so connections are shared across the records of a batch and across warm
 * invocations. Redirects are never followed (a 3xx is returned as is), and a target whose name is, or resolves
 * to, an address its TargetPolicy refuses (loopback, private, link-local, metadata …) is refused before any byte
 * is sent. Every send settles by its deadline, whatever the target does.
 */
export class HttpWebhookSender implements WebhookSender {
  readonly #http: HttpAgent;
  readonly #https: HttpsAgent;
  readonly #lookup: LookupFunction;
  readonly #timeoutMs: number;
  readonly #targets: TargetPolicy;
  readonly #targetsByUrl = new Map<string, Target>();

  constructor(options: HttpWebhookSenderOptions) {
    this.#timeoutMs = options.timeoutSeconds * 1000;
    this.#targets = options.targets ?? PUBLIC_TARGETS_ONLY;
    this.#lookup = options.lookup ?? dnsLookup;
    const pool = {
      keepAlive: true,
      maxSockets: options.connectionsPerOrigin ?? 10,
      // For a free socket this is its idle lifetime (the agent destroys it); for a busy one it only emits a
      // 'timeout' event nobody acts on, so it does not cut a slow answer short: #timeoutMs does that.
      timeout: IDLE_SOCKET_TIMEOUT_MS,
    };
    this.#http = new HttpAgent(pool);
    this.#https = new HttpsAgent(pool);
  }

  async send(req: {
    url: string;
    headers: Readonly<Record<string, string>>;
    body: string;
  }): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const deadline = new Deadline();
    // One timer for the whole send, a stale-connection retry included.
    const timer = setTimeout(
      () => deadline.expire(new DOMException(`no answer within ${this.#timeoutMs} ms`, 'TimeoutError')),
      this.#timeoutMs,
    );
    try {
      const headers = forwardable(req.headers);
      // Set here, not left to node, so the target gets the length of exactly these bytes and no chunking. The
      // body goes as the string (node encodes it as UTF-8, these bytes), so head and body leave in one write.
      headers['Content-Length'] = String(Buffer.byteLength(req.body, 'utf8'));
      const options = { ...this.#target(req.url), headers };
      let answer: Answer;
      try {
        answer = await exchange(options, req.body, deadline);
      } catch (error) {
        // A pooled connection the server closed while idle (the race the idle timeout narrows but cannot
        // close): the request never reached the server, so send it once more on a connection of its own.
        if (!isStaleSocketFailure(error)) throw error;
        answer = await exchange({ ...options, agent: false }, req.body, deadline);
      }
      return {
        status: answer.status,
        ...(answer.retryAfter !== undefined ? { retryAfter: answer.retryAfter } : {}),
        durationMs: elapsed(),
      };
    } catch (error) {
      throw toDeliveryError(error, req.url, elapsed());
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the keep-alive pools; for tests and local mode shutdown. */
  async close(): Promise<void> {
    this.#http.destroy();
    this.#https.destroy();
  }

  /**
   * Where a request to `url` goes, worked out once per URL (a warm instance sends to few of them): the URL is
   * parsed and an IP literal checked against the policy once, not on every send. A URL that cannot be sent is
   * not kept, and fails each time it is tried.
   */
  #target(url: string): Target {
    let target = this.#targetsByUrl.get(url);
    if (target === undefined) {
      target = this.#requestTarget(url);
      // A cache, not a registry: a warm instance that has seen many URLs starts again.
      if (this.#targetsByUrl.size >= MAX_CACHED_TARGETS) this.#targetsByUrl.clear();
      this.#targetsByUrl.set(url, target);
    }
    return target;
  }

  /**
   * The request options for `url`, built field by field rather than from the URL so user info in it is never
   * turned into an Authorization header.
   */
  #requestTarget(url: string): Target {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (error) {
      throw new PermanentDeliveryError('request to an invalid URL cannot be sent: ERR_INVALID_URL', {
        cause: error,
      });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new PermanentDeliveryError(
        `request to ${parsed.host} cannot be sent: scheme ${parsed.protocol.replace(/:$/, '')} is not supported`,
      );
    }
    const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
    // The guarded lookup only sees names: node connects to an IP literal without resolving it.
    const refusal = addressRefusal(hostname, this.#targets, hostname, parsed.port);
    if (refusal) throw new PermanentDeliveryError(refusal);
    const secure = parsed.protocol === 'https:';
    return {
      secure,
      protocol: parsed.protocol,
      hostname,
      ...(parsed.port !== '' ? { port: Number(parsed.port) } : {}),
      path: `${parsed.pathname}${parsed.search}`,
      method: 'POST',
      agent: secure ? this.#https : this.#http,
      lookup: guardedLookup(this.#lookup, this.#targets, parsed.port),
    };
  }
}

/** The request options of one URL, all but the headers. */
type Target = Omit<RequestOptions, 'headers'> & { readonly secure: boolean };

/** URLs whose request options one sender keeps. */
const MAX_CACHED_TARGETS = 1_000;

/**
 * The deadline of one send: expires once, with its reason, and tells the exchange in flight (at most one at a
 * time: the stale-connection retry starts after the first exchange settled). A plain object rather than an
 * AbortController: an AbortSignal's EventTarget costs more per send than the rest of this wrapper.
 */
class Deadline {
  expired = false;
  reason: Error | undefined;
  onExpire: (() => void) | undefined;

  expire(reason: Error): void {
    if (this.expired) return;
    this.expired = true;
    this.reason = reason;
    this.onExpire?.();
  }
}

/** A failure the target caused without a socket error of its own; `code` names it in the delivery error. */
class TargetMisbehaved extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One request and its answer. Resolves once the status is known and the body is drained (or given up on: a body
 * that is too large, too slow or cut short costs the connection, not the result); rejects with an
 * ExchangeFailure when no answer came. Settles exactly once, by the deadline at the latest, whatever the target
 * does: the deadline settles the promise itself instead of trusting destroy() to emit an event (a request node
 * has already destroyed, as after an unrequested 101, emits nothing more), and a request that closes without an
 * answer or an error is a failure.
 */
function exchange(
  options: RequestOptions & { secure: boolean },
  body: string,
  deadline: Deadline,
): Promise<Answer> {
  const { secure, ...requestOptions } = options;
  return new Promise<Answer>((resolve, reject) => {
    if (deadline.expired) return reject(new ExchangeFailure(false, deadline.reason));
    let req: ClientRequest;
    try {
      // Throws at once for a header name or value that cannot be sent.
      req = secure ? httpsRequest(requestOptions) : httpRequest(requestOptions);
    } catch (error) {
      return reject(new ExchangeFailure(false, error));
    }
    let res: IncomingMessage | undefined;
    let answer: Answer | undefined;
    let settled = false;
    const settle = (outcome: Answer | ExchangeFailure) => {
      if (settled) return;
      settled = true;
      deadline.onExpire = undefined;
      if (outcome instanceof ExchangeFailure) reject(outcome);
      else resolve(outcome);
    };
    const fail = (cause: unknown) => settle(new ExchangeFailure(req.reusedSocket, cause));
    const onDeadline = () => {
      // A socket still connecting at the deadline is the host taking no connection, not a stuck path (a request
      // still waiting for a pooled socket has none yet).
      const reason = req.socket?.connecting
        ? Object.assign(new Error('no connection within the delivery timeout'), { code: 'CONNECT_TIMEOUT' })
        : deadline.reason instanceof Error
          ? deadline.reason
          : new Error('deadline passed');
      // Before the answer the request fails with the deadline's reason; after it, only the draining stops.
      if (answer) settle(answer);
      else fail(reason);
      if (res) res.destroy();
      else req.destroy(reason);
    };
    deadline.onExpire = onDeadline;

    // Stays attached for the request's life: a socket error after the answer must not go unhandled.
    req.on('error', (error) => {
      if (!answer) fail(error);
    });
    // Listening is what stops node from destroying the socket silently; a POST that asked for no upgrade gets
    // a 101 only from a broken or hostile target, so the connection is dropped and the attempt counts as failed.
    req.on('upgrade', (_response, socket) => {
      socket.destroy();
      fail(new TargetMisbehaved('UNREQUESTED_UPGRADE', 'target answered 101 Switching Protocols unasked'));
    });
    // The last word: closed with neither an answer nor an error (node's 1xx and upgrade paths can end so).
    req.on('close', () => {
      if (!res) fail(new TargetMisbehaved('ECONNRESET', 'connection closed without an answer'));
    });
    req.on('response', (response) => {
      res = response;
      const status = response.statusCode;
      if (status === undefined || status < 200) {
        // A 1xx is never a final answer (node passes a 101 without Upgrade header on as one): the connection
        // is in no known state, so it is dropped and the attempt counts as failed, not as the target's verdict.
        fail(new TargetMisbehaved('INFORMATIONAL_ANSWER', `target ended on a ${status ?? 'missing'} status`));
        response.destroy();
        return;
      }
      answer = { status, retryAfter: firstValue(response.headers['retry-after']) };
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        // Destroying an unfinished response closes its socket, so the connection is never reused mid-body.
        if (read > MAX_DISCARDED_BODY_BYTES) response.destroy();
      });
      response.on('error', () => undefined);
      // 'close' follows 'end' (the socket then goes back to the pool) as well as a destroy.
      const known = answer;
      response.on('close', () => settle(known));
    });
    req.end(body);
  });
}

/** True when a pooled connection turned out to be closed by the server before the request got an answer. */
function isStaleSocketFailure(error: unknown): boolean {
  return error instanceof ExchangeFailure && error.reusedSocket && STALE_SOCKET_CODES.has(errorCode(error));
}

/** Drops connection-level headers even if a hand-made or old message carries them: node sets its own. */
function forwardable(headers: Readonly<Record<string, string>>): Record<string, string> {
  // No prototype: every name is plain data, `__proto__` included.
  const out: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(headers)) {
    // Expect: 100-continue would make node hold the body back until the target says to go on.
    if (!isHopByHopHeader(name) && name.toLowerCase() !== 'expect') out[name] = value;
  }
  return out;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Wraps a resolver so a name is connected to only when every address it resolves to is allowed: node connects to
 * one of exactly these, so the address checked is the address used. A mixed answer (public and private) is
 * refused whole rather than filtered: a name that points inside is not a public target.
 */
export function guardedLookup(resolve: LookupFunction, targets: TargetPolicy, port = ''): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options, (error, address, family) => {
      if (error) return callback(error, address, family);
      const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
      for (const a of addresses) {
        const refusal = addressRefusal(a, targets, hostname, port);
        if (refusal) return callback(new PermanentDeliveryError(refusal), address, family);
      }
      callback(null, address, family);
    });
  };
}

/** Walks the cause chain: the sender and net wrap the error that matters. */
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
  if (PERMANENT_CODES.has(code) || code.startsWith('ERR_INVALID_ARG_')) {
    return new PermanentDeliveryError(`request to ${host} cannot be sent: ${code}`, { cause: error });
  }
  const message = `request to ${host} failed after ${durationMs} ms: ${code}`;
  if (CONNECT_CODES.has(code)) return new TargetUnreachableError(message, undefined, { cause: error });
  return new RetryableDeliveryError(message, undefined, { cause: error });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}

import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { headerValue } from '../domain/headers';
import { parseSigningSecret, parseTargetVersions, SIGNING_KEY_PREFIX } from '../domain/signing-secret';
import { targetKeys } from '../domain/target-signing-key';
import { DeliveryNotSentError, PermanentDeliveryError } from '../errors';
import type { SendResult, WebhookSender } from '../ports';

/** The headers Standard Webhooks defines; any copy of them in the original request is replaced. */
const SIGNATURE_HEADERS = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature']);

/** After a failed read of the secret, how long the keys read before are used without asking again. */
const RETRY_READ_AFTER_MS = 30_000;

/** How long a sender without any key asks the message to wait before its next try. */
const RETRY_WITHOUT_KEY_SECONDS = 60;

export interface SigningWebhookSenderOptions {
  /** The sender that calls the targets (with its circuit breaker). */
  readonly sender: WebhookSender;
  /** Reads the signing secret's text (see parseSigningSecret for its forms): in Lambda, GetSecretValue. */
  readonly secret: () => Promise<string | undefined>;
  /**
   * How long keys read are used before the secret is read again: how long a rotation takes to reach a warm
   * instance.
   * @default 0 - read before every send (for a `secret` that caches, or returns a constant)
   */
  readonly maxAgeSeconds?: number;
  /** Where the secret comes from (its name or ARN, or a variable name), for error messages. */
  readonly secretSource: string;
  /**
   * Told when a read of the secret failed and the keys read before are used meanwhile (at most once per
   * {@link RETRY_READ_AFTER_MS}). The error never contains the secret.
   * @default - nothing is told
   */
  readonly onReadError?: (error: Error) => void;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

interface Keys {
  readonly text: string;
  /** The secret's keys, newest first; each target's keys are derived from them. */
  readonly secretKeys: readonly string[];
  readonly versions: Readonly<Record<string, readonly number[]>>;
  /** Per target, its derived keys: HKDF once per target and secret value, not per request. */
  readonly signers: Map<string, readonly KeyObject[]>;
}

/**
 * A Standard Webhooks key (`whsec_`, optional, then base64) as a KeyObject: imported once, an HMAC with it costs
 * a fifth of one given the key's bytes.
 */
function signingKey(key: string): KeyObject {
  const base64 = key.startsWith(SIGNING_KEY_PREFIX) ? key.slice(SIGNING_KEY_PREFIX.length) : key;
  return createSecretKey(Buffer.from(base64, 'base64'));
}

/**
 * The `webhook-signature` value: one `v1,<base64>` HMAC-SHA256 of `id.timestamp.body` (UTF-8, the timestamp in
 * whole seconds) per key, separated by spaces: the specification's scheme, computed with node:crypto's HMAC
 * (OpenSSL). The tests verify it with the `standardwebhooks` package, the specification's reference
 * implementation, whose pure-JavaScript SHA-256 took 12 µs of CPU per 1 KB redelivery against 3 µs here.
 */
export function signatureHeader(
  keys: readonly (string | KeyObject)[],
  id: string,
  at: Date,
  body: string,
): string {
  const signed = `${id}.${Math.floor(at.getTime() / 1000)}.${body}`;
  return keys
    .map(
      (k) =>
        `v1,${createHmac('sha256', typeof k === 'string' ? signingKey(k) : k)
          .update(signed, 'utf8')
          .digest('base64')}`,
    )
    .join(' ');
}

/**
 * Signs every request following Standard Webhooks before handing it to the wrapped sender: `webhook-id` is the
 * event's Idempotency-Key (stable across attempts and redrives, so a target can dedupe on it), `webhook-timestamp`
 * the second of this attempt, and `webhook-signature` one `v1,<base64>` HMAC-SHA256 of `id.timestamp.body` per
 * key, separated by spaces, so during a rotation a target that knows either key accepts. Each target (route or
 * webhook, the request's `signingTarget`) has its own keys, derived from the secret's (deriveTargetKey): a target
 * cannot sign a request that another target accepts. The body signed is the
 * string the HTTP sender encodes as UTF-8, the same bytes it sends. The signature is node:crypto's HMAC-SHA256
 * (signatureHeader); the tests check it with the `standardwebhooks` package, the specification's reference
 * implementation, as a target would verify it.
 */
export class SigningWebhookSender implements WebhookSender {
  readonly #options: SigningWebhookSenderOptions;
  readonly #now: () => Date;
  #keys: Keys | undefined;
  #reading: Promise<Keys> | undefined;
  #lastError: Error | undefined;
  #retryReadAt = 0;
  #readAt = 0;

  constructor(options: SigningWebhookSenderOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
  }

  async send(request: {
    url: string;
    headers: Readonly<Record<string, string>>;
    body: string;
    signingTarget?: string;
  }): Promise<SendResult> {
    const id = headerValue(request.headers, 'idempotency-key');
    if (id === undefined || id === '') {
      throw new PermanentDeliveryError(
        'cannot sign a redelivery without an Idempotency-Key header (it is the webhook-id)',
      );
    }
    const target = request.signingTarget;
    if (target === undefined || target === '') {
      throw new PermanentDeliveryError('cannot sign a redelivery without its target (route or webhook)');
    }
    const signers = signersFor(await this.#keysNow(), target);
    const at = this.#now();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (!SIGNATURE_HEADERS.has(name.toLowerCase())) headers[name] = value;
    }
    headers['webhook-id'] = id;
    headers['webhook-timestamp'] = String(Math.floor(at.getTime() / 1000));
    headers['webhook-signature'] = signatureHeader(signers, id, at, request.body);
    return this.#options.sender.send({ url: request.url, headers, body: request.body });
  }

  /** Closes the wrapped sender's connections, if it has any. */
  async close(): Promise<void> {
    const inner = this.#options.sender as WebhookSender & { close?: () => Promise<void> };
    await inner.close?.();
  }

  /** The keys to sign with; concurrent sends share one read. */
  #keysNow(): Promise<Keys> {
    const now = this.#now().getTime();
    const fresh = now < this.#readAt + (this.#options.maxAgeSeconds ?? 0) * 1000;
    if (this.#keys && (fresh || now < this.#retryReadAt)) return Promise.resolve(this.#keys);
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #read(): Promise<Keys> {
    if (!this.#keys && this.#lastError && this.#now().getTime() < this.#retryReadAt)
      throw this.#unavailable();
    try {
      const text = (await this.#options.secret()) ?? '';
      this.#readAt = this.#now().getTime();
      if (this.#keys?.text === text) return this.#keys;
      const source = this.#options.secretSource;
      const secretKeys = parseSigningSecret(text, source);
      const versions = parseTargetVersions(text, source);
      this.#keys = { text, secretKeys, versions, signers: new Map() };
      this.#lastError = undefined;
      return this.#keys;
    } catch (error) {
      this.#lastError = error instanceof Error ? error : new Error(String(error));
      this.#retryReadAt = this.#now().getTime() + RETRY_READ_AFTER_MS;
      if (!this.#keys) throw this.#unavailable();
      // A rotation needs overlap anyway, so the keys read before still verify at the targets for a while.
      this.#options.onReadError?.(this.#lastError);
      return this.#keys;
    }
  }

  #unavailable(): DeliveryNotSentError {
    const reason = this.#lastError ? `${this.#lastError.name}: ${this.#lastError.message}` : 'unknown';
    return new DeliveryNotSentError(
      `not calling the target: the signing secret ${this.#options.secretSource} could not be read (${reason})`,
      RETRY_WITHOUT_KEY_SECONDS,
      { cause: this.#lastError },
    );
  }
}

function signersFor(keys: Keys, target: string): readonly KeyObject[] {
  let signers = keys.signers.get(target);
  if (signers === undefined) {
    signers = targetKeys(keys.secretKeys, target, keys.versions).map(signingKey);
    // Bounded by the routes and webhooks of one stack; a new secret value starts a new map.
    keys.signers.set(target, signers);
  }
  return signers;
}

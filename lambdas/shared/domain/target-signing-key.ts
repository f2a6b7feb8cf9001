import { hkdfSync } from 'node:crypto';
import { ConfigError } from '../errors';
import { SIGNING_KEY_PREFIX } from './signing-secret';

/** HKDF's salt: fixed, so that a key derived here is never the same as one derived for another purpose. */
const SALT = 'genesys-webhook-recovery/webhook-signing/v1';

/** Bytes of a derived key: 32, as the specification suggests (it allows 24 to 64). */
const KEY_BYTES = 32;

/** A route's or a webhook's name as it stands in a signing target: anything but white space. */
const NAME = /^\S{1,256}$/;

/**
 * Which target a redelivery is signed for: `route:<name>` for an EventBridge route (ROUTES), `webhook:<id>` for a
 * Genesys webhook of the delivery log. Each has its own key, so no target can sign a request another accepts.
 */
export function signingTargetOf(message: {
  readonly route?: string | undefined;
  readonly webhookId: string;
}): string {
  return message.route !== undefined ? `route:${message.route}` : `webhook:${message.webhookId}`;
}

/** Reads a signing target as an operator writes it (`route:orders`, `webhook:abc`); throws a ConfigError. */
export function parseSigningTarget(text: string): string {
  const match = /^(route|webhook):(.*)$/.exec(text);
  if (!match || !NAME.test(match[2] ?? '')) {
    throw new ConfigError(
      `a signing target is route:<name> or webhook:<id> (got ${JSON.stringify(text.slice(0, 80))})`,
    );
  }
  return text;
}

/**
 * The key one target verifies with: HKDF-SHA256 (RFC 5869) of the signing secret's key, over the target
 * (`route:<name>` or `webhook:<id>`), and `#<version>` from version 2 on, as `whsec_<base64>`. Deterministic:
 * the redeliverer and the CLI's `signing-key` derive the same key, and nothing but the one secret is stored.
 * Knowing one target's key tells nothing about another's, nor about the secret. Pure.
 */
export function deriveTargetKey(secretKey: string, target: string, version = 1): string {
  if (!Number.isInteger(version) || version < 1) {
    throw new ConfigError(`a signing key version is a whole number from 1 (got ${version})`);
  }
  const ikm = Buffer.from(secretKey.replace(SIGNING_KEY_PREFIX, ''), 'base64');
  const info = version === 1 ? target : `${target}#${version}`;
  const key = Buffer.from(hkdfSync('sha256', ikm, SALT, info, KEY_BYTES));
  return `${SIGNING_KEY_PREFIX}${key.toString('base64')}`;
}

/**
 * The keys a request to `target` is signed with, newest first: for each key of the secret (two during a rotation
 * of the secret), each version the secret lists for this target (two during a rotation of this target's key), or
 * version 1 alone.
 */
export function targetKeys(
  secretKeys: readonly string[],
  target: string,
  versions: Readonly<Record<string, readonly number[]>>,
): string[] {
  const listed = versions[target] ?? [1];
  return secretKeys.flatMap((key) => listed.map((version) => deriveTargetKey(key, target, version)));
}

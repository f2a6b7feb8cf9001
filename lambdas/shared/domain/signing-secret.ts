import { ConfigError } from '../errors';

/**
 * The Standard Webhooks key prefix: a key is `whsec_` followed by the base64 of its bytes.
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#symmetric-signatures
 */
export const SIGNING_KEY_PREFIX = 'whsec_';

/** The specification asks for keys of 24 to 64 random bytes. */
export const MIN_KEY_BYTES = 24;
export const MAX_KEY_BYTES = 64;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const FORMS =
  'a key ("whsec_<base64>"), keys separated by spaces (newest first), or JSON {"current":"whsec_…","previous":"whsec_…"}';

/**
 * Reads the signing secret's text into the keys to sign with, newest first, each as `whsec_<base64>`.
 *
 * Accepted forms: one key; several keys separated by white space (during a rotation); or JSON
 * `{"current": key, "previous": key}` with `previous` optional. A key may omit the `whsec_` prefix: the secret the
 * stack generates is 48 letters and digits, which CloudFormation can generate and which is itself valid base64
 * (36 bytes). Every key must decode to 24–64 bytes. Errors name `source` and the rule broken, never the text.
 */
export function parseSigningSecret(text: string | undefined, source: string): readonly string[] {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') throw new ConfigError(`Signing secret ${source} is empty; it must hold ${FORMS}`);
  const candidates = trimmed.startsWith('{') ? fromJson(trimmed, source) : trimmed.split(/\s+/);
  const keys = candidates.map((key, i) => normaliseKey(key, `${source} (key ${i + 1})`));
  return [...new Set(keys)];
}

function fromJson(text: string, source: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(
      `Signing secret ${source} starts with "{" but is not valid JSON; it must hold ${FORMS}`,
    );
  }
  const value = json as { current?: unknown; previous?: unknown };
  if (typeof value.current !== 'string' || value.current.trim() === '') {
    throw new ConfigError(`Signing secret ${source} must hold "current" (the key to sign with) as a string`);
  }
  if (value.previous !== undefined && value.previous !== null && typeof value.previous !== 'string') {
    throw new ConfigError(`Signing secret ${source}: "previous" must be a string (the key being retired)`);
  }
  const previous = typeof value.previous === 'string' ? value.previous.trim() : '';
  return previous === '' ? [value.current.trim()] : [value.current.trim(), previous];
}

function normaliseKey(key: string, where: string): string {
  const base64 = key.startsWith(SIGNING_KEY_PREFIX) ? key.slice(SIGNING_KEY_PREFIX.length) : key;
  if (!BASE64.test(base64) || base64 === '') {
    throw new ConfigError(
      `Signing secret ${where} must be "whsec_" followed by base64 (A-Z a-z 0-9 + /, padded with = to a multiple of 4 characters)`,
    );
  }
  const bytes = (base64.length / 4) * 3 - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0);
  if (bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES) {
    throw new ConfigError(
      `Signing secret ${where} must decode to ${MIN_KEY_BYTES}–${MAX_KEY_BYTES} bytes (it decodes to ${bytes})`,
    );
  }
  return `${SIGNING_KEY_PREFIX}${base64}`;
}

/**
 * The key versions the signing secret lists per target, newest first: the JSON form's optional `"targets"`, e.g.
 * `{"current": "whsec_…", "targets": {"route:orders": [2, 1]}}` while route `orders` moves from version 1 to 2
 * (each request to it is then signed with both). A target not listed uses version 1. Errors name `source` and the
 * rule broken, never the text.
 */
export function parseTargetVersions(
  text: string | undefined,
  source: string,
): Readonly<Record<string, readonly number[]>> {
  const trimmed = (text ?? '').trim();
  if (!trimmed.startsWith('{')) return {};
  let targets: unknown;
  try {
    targets = (JSON.parse(trimmed) as { targets?: unknown }).targets;
  } catch {
    return {}; // parseSigningSecret names this error.
  }
  if (targets === undefined || targets === null) return {};
  const rule = `Signing secret ${source}: "targets" maps a target (route:<name> or webhook:<id>) to its key versions, newest first, e.g. {"route:orders": [2, 1]}`;
  if (typeof targets !== 'object' || Array.isArray(targets)) throw new ConfigError(rule);
  const out: Record<string, readonly number[]> = Object.create(null);
  for (const [target, versions] of Object.entries(targets)) {
    const ok =
      /^(route|webhook):\S+$/.test(target) &&
      Array.isArray(versions) &&
      versions.length >= 1 &&
      versions.length <= 4 &&
      versions.every((v) => Number.isInteger(v) && v >= 1 && v <= 1_000_000) &&
      new Set(versions).size === versions.length;
    if (!ok) throw new ConfigError(`${rule} (check ${JSON.stringify(target.slice(0, 80))})`);
    out[target] = versions as number[];
  }
  return out;
}

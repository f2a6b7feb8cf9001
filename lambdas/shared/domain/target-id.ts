import { createHash } from 'node:crypto';

/** Hex characters of the path hash: 48 bits, so two paths of one host collide about once in 16 million pairs. */
const HASH_CHARS = 12;

/**
 * A target's name wherever it is written down for more than one delivery (log lines, metric dimensions, the
 * dashboard, alarms, rule descriptions, stored reasons): its origin, then `/~` and the first 12 hex characters
 * of the SHA-256 of its path and query, e.g. `https://hooks.slack.com/~3f2a9c0d1b7e`.
 *
 * Slack, Discord, Zapier and Make put the credential in the path (`/services/T…/B…/<secret>`), others in the
 * query; CloudWatch keeps a dimension value 15 months and cannot delete it. The origin says which host, the hash
 * tells a host's targets apart and stays the same for the same URL. User info is never part of an origin. The
 * full URL is shown only where an operator asks for one delivery (`dlq show`). Pure.
 */
export function targetId(url: string): string {
  let id = known.get(url);
  if (id === undefined) {
    id = computeTargetId(url);
    // A warm redeliverer names the same few URLs several times per record: each is hashed once.
    if (known.size >= MAX_KNOWN) known.clear();
    known.set(url, id);
  }
  return id;
}

/** URLs whose id is remembered (a cache: the id is a pure function of the URL). */
const MAX_KNOWN = 1_000;
const known = new Map<string, string>();

function computeTargetId(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `(not a URL)/~${hashOf(url)}`;
  }
  // An opaque origin ("null", e.g. a data: URL) says nothing: keep the scheme.
  const origin = parsed.origin === 'null' ? `${parsed.protocol}` : parsed.origin;
  return `${origin}/~${hashOf(`${parsed.pathname}${parsed.search}`)}`;
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, HASH_CHARS);
}

import { headerValue } from './headers';

export interface SerialisedBody {
  readonly text: string;
  readonly contentType: string;
}

function looksLikeJson(text: string): boolean {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('[') || t.startsWith('"'))) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

/**
 * Turns the logged body into the exact text to send. A string is kept byte for byte; anything else is
 * JSON-serialised once. Content-Type comes from the original headers, else is inferred.
 */
export function serialiseBody(body: unknown, headers: Readonly<Record<string, string>>): SerialisedBody {
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? null);
  const declared = headerValue(headers, 'content-type');
  if (declared) return { text, contentType: declared };
  const json = typeof body !== 'string' || looksLikeJson(text);
  return { text, contentType: json ? 'application/json' : 'text/plain; charset=utf-8' };
}

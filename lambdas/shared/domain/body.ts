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
 * Deepest nesting of arrays and objects a body may have. JSON.stringify recurses, so a body nested a few
 * thousand levels deep overflows the stack; no webhook payload comes near this.
 */
export const MAX_BODY_DEPTH = 256;

/** True when `value` nests arrays or objects more than `max` levels deep. Iterative: it cannot overflow itself. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [v, depth] = item;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
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

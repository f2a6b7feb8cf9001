/**
 * A small EventBridge event-pattern evaluator for the operators the stack emits (exact string, `prefix`,
 * `wildcard`, `anything-but` with `wildcard`), written from the EventBridge documentation, so tests can run the
 * synthesized rule patterns against the same events as the domain matcher. An unknown operator throws: the
 * stack must not start using one this evaluator cannot check.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 */
export function patternMatches(pattern: unknown, event: unknown): boolean {
  if (!isRecord(pattern)) throw new Error('a pattern is an object');
  if (!isRecord(event)) return false;
  return Object.entries(pattern).every(([field, rule]) => {
    const value = event[field];
    if (Array.isArray(rule)) return value !== undefined && rule.some((r) => leafMatches(r, value));
    if (isRecord(rule)) return patternMatches(rule, value);
    throw new Error(`pattern field ${field} is neither an array nor an object`);
  });
}

function leafMatches(rule: unknown, value: unknown): boolean {
  if (typeof rule === 'string') return value === rule;
  if (!isRecord(rule)) throw new Error(`unsupported pattern value ${JSON.stringify(rule)}`);
  if (typeof value !== 'string') return false;
  if (typeof rule.prefix === 'string') return value.startsWith(rule.prefix);
  if (typeof rule.wildcard === 'string') return wildcardMatches(rule.wildcard, value);
  const but = rule['anything-but'];
  if (isRecord(but) && Array.isArray(but.wildcard)) {
    return but.wildcard.every((w) => typeof w === 'string' && !wildcardMatches(w, value));
  }
  throw new Error(`unsupported pattern operator ${JSON.stringify(rule)}`);
}

/** EventBridge's wildcard, written independently of the domain's matcher: `*` is any run of characters. */
function wildcardMatches(wildcard: string, value: string): boolean {
  const source = wildcard
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's').test(value);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

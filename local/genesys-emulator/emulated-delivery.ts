import { readFile } from 'node:fs/promises';
// A namespace import lets esbuild drop what is unused, zod's 40-odd locales among them (~360 KB).
import * as z from 'zod';
import { ConfigError } from '../../lambdas/shared/errors';

/** One entry of the emulated delivery log, as the emulator stores it. */
export interface EmulatedDelivery {
  id: string;
  webhookId: string;
  status: 'failed' | 'succeeded';
  httpStatusCode: number | null;
  errorMessage?: string;
  /** The payload Genesys sent: an object, or a string holding JSON text or plain text, returned as given. */
  body: unknown;
  headers: Record<string, string>;
  webhookUrl: string;
  /** ISO-8601 instant of the attempt. */
  dateCreated: string;
  /** When it first appears in listings; default dateCreated. Models Genesys listing entries late. */
  listedAt?: string;
}

const isoInstant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 date-time');

/** Validates one delivery given to the emulator (from a file or from code). */
export const emulatedDeliverySchema = z.object({
  id: z.string().min(1),
  webhookId: z.string().min(1),
  status: z.enum(['failed', 'succeeded']),
  httpStatusCode: z.number().int().min(100).max(599).nullable(),
  errorMessage: z.string().optional(),
  body: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown()), z.string()]),
  headers: z.record(z.string(), z.string()),
  webhookUrl: z.string().min(1),
  dateCreated: isoInstant,
  listedAt: isoInstant.optional(),
}) satisfies z.ZodType<EmulatedDelivery>;

/** What each field of a file entry must hold, in words, for error messages. */
const EXPECTED: Record<string, string> = {
  id: 'a non-empty string',
  webhookId: 'a non-empty string',
  status: '"failed" or "succeeded"',
  httpStatusCode: 'an HTTP status from 100 to 599, or null when there was no answer',
  errorMessage: 'a string',
  body: 'an object, an array or a string',
  headers: 'an object of header names to string values',
  webhookUrl: 'the target URL, a non-empty string',
  dateCreated: 'an ISO-8601 date-time, or an age such as "-10m", "-2h", "-1d"',
  listedAt: 'an ISO-8601 date-time, or a time relative to now such as "+15s" or "-1m"',
};

/** An age relative to the time of loading: "now", "-90s", "-10m", "+15s", "-2h", "-1d". */
const RELATIVE = /^(?:now|([+-])(\d+(?:\.\d+)?)\s*(s|m|h|d))$/i;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Resolves a relative time against `now`; ISO-8601 text (and anything else) is returned as it is. */
export function resolveRelativeTime(value: unknown, now: Date): unknown {
  if (typeof value !== 'string') return value;
  const m = RELATIVE.exec(value.trim());
  if (!m) return value;
  if (m[1] === undefined) return now.toISOString();
  const ms = Number(m[2]) * (UNIT_MS[(m[3] ?? 's').toLowerCase()] ?? 1_000);
  return new Date(now.getTime() + (m[1] === '-' ? -ms : ms)).toISOString();
}

/** `position 11 (line 2 column 10)` of a JSON.parse error, as line and column (computed when V8 gives none). */
function jsonPosition(message: string, text: string): string {
  const lineCol = /line (\d+) column (\d+)/.exec(message);
  if (lineCol) return `line ${lineCol[1]}, column ${lineCol[2]}`;
  const pos = /position (\d+)/.exec(message);
  const at = pos ? Number(pos[1]) : text.length;
  const before = text.slice(0, at).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/** One phrase per problem, naming the field and what it must hold: "httpStatusCode is missing (…)". */
function describeIssue(issue: z.core.$ZodIssue, entry: unknown): string {
  const field = issue.path.map(String).join('.') || 'entry';
  const top = String(issue.path[0] ?? '');
  const expected = EXPECTED[top];
  const value =
    typeof entry === 'object' && entry !== null && issue.path.length > 0
      ? (entry as Record<string, unknown>)[top]
      : entry;
  if (issue.path.length === 1 && value === undefined)
    return `${field} is missing (${expected ?? 'required'})`;
  if (expected && issue.path.length === 1)
    return `${field} must be ${expected} (got ${JSON.stringify(value)})`;
  return `${field}: ${issue.message}`;
}

/**
 * Reads a JSON array of deliveries for the emulator. Times may be ISO-8601 or relative to `now` ("-10m", "+15s"),
 * so a file keeps working on any date. A bad file fails with one or two lines naming the file, and for a bad
 * entry its index, its id and each field at fault; broken JSON with the line and column.
 */
export async function loadDeliveriesFile(path: string, now: Date = new Date()): Promise<EmulatedDelivery[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    throw new ConfigError(
      `Cannot read deliveries file ${path}${code === 'ENOENT' ? ': no such file' : code ? ` (${code})` : ''}`,
      { cause },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError(
      `Deliveries file ${path} is not valid JSON at ${jsonPosition(message, text)}: ${message.replace(/ in JSON at position.*$/, '')}`,
      { cause },
    );
  }
  if (!Array.isArray(json)) {
    throw new ConfigError(`Deliveries file ${path} must hold a JSON array of deliveries`);
  }
  return json.map((entry: unknown, index) => {
    const resolved =
      typeof entry === 'object' && entry !== null && !Array.isArray(entry)
        ? {
            ...entry,
            ...('dateCreated' in entry ? { dateCreated: resolveRelativeTime(entry.dateCreated, now) } : {}),
            ...('listedAt' in entry ? { listedAt: resolveRelativeTime(entry.listedAt, now) } : {}),
          }
        : entry;
    const parsed = emulatedDeliverySchema.safeParse(resolved);
    if (parsed.success) return parsed.data;
    const id =
      typeof entry === 'object' && entry !== null && 'id' in entry && typeof entry.id === 'string'
        ? ` (id ${JSON.stringify(entry.id)})`
        : '';
    const problems = parsed.error.issues.map((i) => describeIssue(i, entry));
    throw new ConfigError(
      `Deliveries file ${path}: entry ${index}${id} is invalid:\n  ${problems.join('; ')}`,
      { cause: parsed.error },
    );
  });
}

/** How the dates of a deliveries file were moved to fall within the lookback. */
export interface Rebase {
  readonly shiftMs: number;
  readonly newestWas: string;
}

/**
 * Moves every time of a saved delivery log forward by one amount, so that its newest entry is one minute old,
 * when its oldest entry is older than `maxAgeMs` (the lookback cap): the log keeps its spacing and works on
 * any date. Returns the deliveries unchanged when they already fall within it.
 */
export function rebaseDeliveries(
  deliveries: readonly EmulatedDelivery[],
  now: Date,
  maxAgeMs: number,
): { deliveries: EmulatedDelivery[]; rebase?: Rebase } {
  if (deliveries.length === 0) return { deliveries: [...deliveries] };
  const times = deliveries.map((d) => Date.parse(d.dateCreated));
  const oldest = Math.min(...times);
  const newest = Math.max(...times);
  if (now.getTime() - oldest <= maxAgeMs) return { deliveries: [...deliveries] };
  const shiftMs = now.getTime() - 60_000 - newest;
  const shift = (iso: string) => new Date(Date.parse(iso) + shiftMs).toISOString();
  return {
    deliveries: deliveries.map((d) => ({
      ...d,
      dateCreated: shift(d.dateCreated),
      ...(d.listedAt !== undefined ? { listedAt: shift(d.listedAt) } : {}),
    })),
    rebase: { shiftMs, newestWas: new Date(newest).toISOString() },
  };
}

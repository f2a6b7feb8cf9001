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

/**
 * Reads a JSON array of deliveries for the emulator. A bad file fails with one error naming the file and,
 * for a bad entry, its index and what is wrong, so a hand-edited seed file is quick to fix.
 */
export async function loadDeliveriesFile(path: string): Promise<EmulatedDelivery[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`Cannot read deliveries file ${path}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`Deliveries file ${path} is not valid JSON`, { cause });
  }
  if (!Array.isArray(json)) {
    throw new ConfigError(`Deliveries file ${path} must hold a JSON array of deliveries`);
  }
  return json.map((entry: unknown, index) => {
    const parsed = emulatedDeliverySchema.safeParse(entry);
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues
      .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'entry'}: ${i.message}`)
      .join('; ');
    throw new ConfigError(`Deliveries file ${path}: entry ${index} is invalid: ${problems}`, {
      cause: parsed.error,
    });
  });
}

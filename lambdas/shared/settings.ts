import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
// zod/mini, imported as a namespace, lets esbuild drop all that is unused: the redeliverer bundle keeps ~20 KB
// of zod instead of ~450 KB (classic zod's methods and its 40-odd locales).
import * as z from 'zod/mini';
import { ConfigError } from './errors';

/**
 * The one source of truth for pipeline settings. The CDK stack, both Lambda handlers and local mode parse the
 * same variables with this schema, so a value that deploys is a value that runs, and a bad value is rejected
 * with the variable's name and the expected form before anything starts.
 */

/** `preprocess` of classic zod: the mini API spells it as a pipe from a transform. */
const before = <T extends z.ZodMiniType>(fn: (v: unknown) => unknown, schema: T) =>
  z.pipe(z.transform(fn), schema);

const int = (name: string, def: number, min: number, max: number, unit: string) => {
  const error = `${name} must be a whole number of ${unit} from ${min} to ${max}`;
  return before(
    (v) => (v === undefined || v === '' ? def : v),
    z.coerce.number({ error }).check(z.int({ error }), z.minimum(min, { error }), z.maximum(max, { error })),
  );
};

const bool = (name: string, def: boolean) =>
  z.pipe(
    before(
      (v) => (v === undefined || v === '' ? String(def) : String(v).trim().toLowerCase()),
      z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: `${name} must be true or false` }),
    ),
    z.transform((v: 'true' | 'false' | '1' | '0' | 'yes' | 'no') => v === 'true' || v === '1' || v === 'yes'),
  );

const csv = (name: string, form: string, item: z.ZodMiniType<string>) =>
  before(
    (v) =>
      v === undefined
        ? []
        : typeof v === 'string'
          ? v
              .split(',')
              .map((s) => s.trim())
              .filter((s) => s.length > 0)
          : v,
    z.array(item, { error: `${name} must be ${form}` }),
  );

const webhookId = z
  .string()
  .check(
    z.regex(
      /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
      'WEBHOOK_ID must be a comma-separated list of webhook ids (letters, digits, - _ . :)',
    ),
  );

const hostname = z
  .string()
  .check(
    z.regex(
      /^(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/,
      'TARGET_ALLOWED_HOSTS must be a comma-separated list of host names such as hooks.example.com or *.example.com',
    ),
  );

const optionalText = (schema: z.ZodMiniType<string>) =>
  before((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.optional(schema));

// Poller catch-up and late entries (issue 10).
/** Genesys lists a failed attempt up to this long after its dateCreated (the delivery-log contract). */
export const LATE_LISTING_SECONDS = 300;
/** How far Genesys Cloud's clock (which dates entries) may be behind ours (which windows them). */
export const CLOCK_SKEW_ALLOWANCE_SECONDS = 60;
/** The least re-read overlap that still finds every late entry: the contract's 300 s plus the skew allowance. */
export const MIN_POLL_OVERLAP_SECONDS = LATE_LISTING_SECONDS + CLOCK_SKEW_ALLOWANCE_SECONDS;
/** The default overlap: the minimum plus another minute, so a slow listing is not lost at the exact edge. */
export const DEFAULT_POLL_OVERLAP_SECONDS = MIN_POLL_OVERLAP_SECONDS + 60;

/** Settings shared by the stack, the handlers and local mode. */
export const pipelineSettingsSchema = z
  .object({
    GENESYS_CLOUD_REGION: optionalText(z.string().check(z.trim())),
    WEBHOOK_ID: csv('WEBHOOK_ID', 'a comma-separated list of webhook ids', webhookId),
    POLL_INTERVAL_SECONDS: int('POLL_INTERVAL_SECONDS', 60, 1, 86_400, 'seconds'),
    LOOKBACK_HOURS: int('LOOKBACK_HOURS', 1, 0, 336, 'hours'),
    POLL_OVERLAP_SECONDS: int(
      'POLL_OVERLAP_SECONDS',
      DEFAULT_POLL_OVERLAP_SECONDS,
      MIN_POLL_OVERLAP_SECONDS,
      3_600,
      'seconds',
    ),
    MAX_RETRIES: int('MAX_RETRIES', 3, 1, 1_000, 'attempts'),
    RETRY_DELAY_SECONDS: int('RETRY_DELAY_SECONDS', 5, 1, 43_200, 'seconds'),
    MAX_RETRY_DELAY_SECONDS: int('MAX_RETRY_DELAY_SECONDS', 3_600, 1, 43_200, 'seconds'),
    DELIVERY_TIMEOUT_SECONDS: int('DELIVERY_TIMEOUT_SECONDS', 10, 1, 120, 'seconds'),
    BATCH_SIZE: int('BATCH_SIZE', 10, 1, 100, 'messages'),
    MAX_CONCURRENCY: int('MAX_CONCURRENCY', 5, 2, 1_000, 'concurrent batches'),
    FORWARD_CREDENTIAL_HEADERS: bool('FORWARD_CREDENTIAL_HEADERS', false),
    TARGET_ALLOWED_HOSTS: csv('TARGET_ALLOWED_HOSTS', 'a comma-separated list of host names', hostname),
    LEDGER_TTL_DAYS: int('LEDGER_TTL_DAYS', 30, 1, 3_650, 'days'),
  })
  .check(
    z.superRefine((s, ctx) => {
      if (s.MAX_RETRY_DELAY_SECONDS < s.RETRY_DELAY_SECONDS) {
        ctx.addIssue({
          code: 'custom',
          path: ['MAX_RETRY_DELAY_SECONDS'],
          message: `MAX_RETRY_DELAY_SECONDS (${s.MAX_RETRY_DELAY_SECONDS}) must be at least RETRY_DELAY_SECONDS (${s.RETRY_DELAY_SECONDS})`,
        });
      }
    }),
  );

export type PipelineSettings = z.output<typeof pipelineSettingsSchema>;

/** Where the running code finds its resources (set by the stack, or by local mode). */
const runtimeSchema = z.object({
  RETRY_QUEUE_URL: z.url('RETRY_QUEUE_URL must be the URL of the SQS retry queue'),
  LEDGER_TABLE_NAME: z
    .string()
    .check(
      z.regex(
        /^[A-Za-z0-9_.-]{3,255}$/,
        'LEDGER_TABLE_NAME must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)',
      ),
    ),
});
export type RuntimeSettings = z.output<typeof runtimeSchema>;

const required = (error: string) => z.string({ error }).check(z.trim(), z.minLength(1, error));

/** Genesys Cloud credentials: from Secrets Manager in AWS, from the environment (or `.env`) locally. */
const credentialsFromEnvSchema = z.object({
  GENESYS_CLOUD_CLIENT_ID: required('GENESYS_CLOUD_CLIENT_ID must be the OAuth client id'),
  GENESYS_CLOUD_CLIENT_SECRET: z
    .string({ error: 'GENESYS_CLOUD_CLIENT_SECRET must be the OAuth client secret' })
    .check(z.minLength(1, 'GENESYS_CLOUD_CLIENT_SECRET must be the OAuth client secret')),
});

/** The JSON shape of the Genesys credentials secret in Secrets Manager. */
export const genesysSecretSchema = z.object({
  clientId: required('the secret must hold "clientId" (the OAuth client id)'),
  clientSecret: z
    .string({ error: 'the secret must hold "clientSecret" (the OAuth client secret)' })
    .check(z.minLength(1, 'the secret must hold "clientSecret" (the OAuth client secret)')),
});
export type GenesysCredentials = z.output<typeof genesysSecretSchema>;

type Env = Readonly<Record<string, string | undefined>>;

function parseOrThrow<S extends z.ZodMiniType>(schema: S, env: unknown, what: string): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => {
    const name = i.path.join('.');
    const got =
      name && typeof env === 'object' && env !== null ? (env as Record<string, unknown>)[name] : undefined;
    // Never echo a secret back; echo other bad values so the operator sees what was read.
    const shown = got === undefined || /SECRET/i.test(name) ? '' : ` (got ${JSON.stringify(got)})`;
    return `  - ${i.message.startsWith(name) ? i.message : `${name}: ${i.message}`}${shown}`;
  });
  throw new ConfigError(`Invalid ${what}:\n${lines.join('\n')}`);
}

/** Parses pipeline settings from an environment-like record; throws one ConfigError naming every bad variable. */
export function parsePipelineSettings(env: Env): PipelineSettings {
  const settings = parseOrThrow(pipelineSettingsSchema, env, 'settings');
  if (settings.WEBHOOK_ID.length === 0) {
    throw new ConfigError(
      'Invalid settings:\n  - WEBHOOK_ID must be one webhook id or a comma-separated list of them (it is empty)',
    );
  }
  return settings;
}

/** Parses the resource wiring the handlers need. */
export function parseRuntimeSettings(env: Env): RuntimeSettings {
  return parseOrThrow(runtimeSchema, env, 'runtime settings');
}

/** Parses Genesys credentials given as environment variables (local mode). */
export function parseCredentialsFromEnv(env: Env): GenesysCredentials {
  const c = parseOrThrow(credentialsFromEnvSchema, env, 'Genesys Cloud credentials');
  return { clientId: c.GENESYS_CLOUD_CLIENT_ID, clientSecret: c.GENESYS_CLOUD_CLIENT_SECRET };
}

/** Parses the Secrets Manager secret string; the message never contains the secret's text. */
export function parseGenesysSecret(secretString: string | undefined, secretId: string): GenesysCredentials {
  let json: unknown;
  try {
    json = JSON.parse(secretString ?? '');
  } catch {
    throw new ConfigError(
      `Secret ${secretId} must be JSON of the form {"clientId":"…","clientSecret":"…"} (it is not valid JSON)`,
    );
  }
  const result = genesysSecretSchema.safeParse(json);
  if (!result.success) {
    throw new ConfigError(
      `Secret ${secretId} must be JSON of the form {"clientId":"…","clientSecret":"…"}: ${result.error.issues.map((i) => i.message).join('; ')}`,
    );
  }
  return result.data;
}

/** The name of the variable that tells a Lambda which secret holds the Genesys credentials. */
export const GENESYS_SECRET_ENV = 'GENESYS_CREDENTIALS_SECRET_ID';

/**
 * The process environment, read once. This module is the only place that touches `process.env`, so every
 * setting has one reader and tests pass plain records instead.
 */
export function processEnvironment(): Env {
  return process.env;
}

/** Settings of local mode only (ports of the emulators it starts). */
const localSchema = z.object({
  LOCAL_SQS_PORT: int('LOCAL_SQS_PORT', 4566, 0, 65_535, 'port number'),
  LOCAL_DYNAMODB_PORT: int('LOCAL_DYNAMODB_PORT', 4567, 0, 65_535, 'port number'),
  LOCAL_GENESYS_PORT: int('LOCAL_GENESYS_PORT', 9000, 0, 65_535, 'port number'),
  LOCAL_DEMO_TARGETS_PORT: int('LOCAL_DEMO_TARGETS_PORT', 0, 0, 65_535, 'port number'),
  /** A JSON array of delivery-log entries to seed the emulator with instead of the demo's. */
  LOCAL_DELIVERIES_FILE: optionalText(z.string()),
});
export type LocalSettings = z.output<typeof localSchema>;

/** Parses local-mode settings. */
export function parseLocalSettings(env: Env): LocalSettings {
  return parseOrThrow(localSchema, env, 'local settings');
}

/**
 * The environment of local mode: `.env` (if present) under the process environment, which wins. The file is
 * parsed, never loaded into `process.env`, so nothing else can come to depend on it.
 */
export function localEnvironment(dotenvPath: string): Env {
  let fromFile: Record<string, string> = {};
  if (existsSync(dotenvPath)) {
    try {
      fromFile = parseDotenv(readFileSync(dotenvPath, 'utf8'));
    } catch (error) {
      throw new ConfigError(
        `Could not read ${dotenvPath}: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
  }
  return { ...fromFile, ...process.env };
}

/**
 * What the operator CLI reads from the environment: endpoint overrides (the SDK honours them too; the CLI needs
 * them to tell local mode from AWS) and the local-mode resource overrides.
 */
const cliSchema = z.object({
  AWS_ENDPOINT_URL: optionalText(z.url()),
  AWS_ENDPOINT_URL_SQS: optionalText(z.url()),
  AWS_ENDPOINT_URL_DYNAMODB: optionalText(z.url()),
  RETRY_QUEUE_URL: optionalText(z.url()),
  DLQ_URL: optionalText(z.url()),
  LEDGER_TABLE_NAME: optionalText(z.string()),
  GENESYS_SECRET_ARN: optionalText(z.string()),
});
export type CliEnvironment = z.output<typeof cliSchema>;

/** Parses the operator CLI's environment. */
export function parseCliEnvironment(env: Env): CliEnvironment {
  return parseOrThrow(cliSchema, env, 'CLI environment');
}

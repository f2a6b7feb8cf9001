import { readFileSync } from 'node:fs';
// zod/mini, imported as a namespace, lets esbuild drop all that is unused: the redeliverer bundle keeps ~20 KB
// of zod instead of ~450 KB (classic zod's methods and its 40-odd locales).
import * as z from 'zod/mini';
import { isCredentialHeader, isHopByHopHeader } from './domain/headers';
import { routesSchema } from './domain/routes';
import { targetRefusal } from './domain/target';
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

// EventBridge source: ROUTES is a JSON array (text in the environment, or an array in cdk.json).
const routesSetting = before((v) => {
  if (v === undefined || (typeof v === 'string' && v.trim() === '')) return [];
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v; // not an array: the schema's message names the expected form
  }
}, routesSchema);
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
    MAX_RETRIES: int('MAX_RETRIES', 3, 1, 995, 'attempts'),
    RETRY_DELAY_SECONDS: int('RETRY_DELAY_SECONDS', 5, 1, 43_200, 'seconds'),
    MAX_RETRY_DELAY_SECONDS: int('MAX_RETRY_DELAY_SECONDS', 3_600, 1, 43_200, 'seconds'),
    DELIVERY_TIMEOUT_SECONDS: int('DELIVERY_TIMEOUT_SECONDS', 10, 1, 120, 'seconds'),
    BATCH_SIZE: int('BATCH_SIZE', 10, 1, 100, 'messages'),
    MAX_CONCURRENCY: int('MAX_CONCURRENCY', 5, 2, 1_000, 'concurrent batches'),
    FORWARD_CREDENTIAL_HEADERS: bool('FORWARD_CREDENTIAL_HEADERS', false),
    TARGET_ALLOWED_HOSTS: csv('TARGET_ALLOWED_HOSTS', 'a comma-separated list of host names', hostname),
    LEDGER_TTL_DAYS: int('LEDGER_TTL_DAYS', 30, 1, 3_650, 'days'),
    // Target backpressure and outage ride-out (docs/reliability.md).
    MAX_HOLD_SECONDS: int('MAX_HOLD_SECONDS', 86_400, 10, 950_400, 'seconds'),
    // Hostile input (issue 11): targets on this host or its network, and headers that count as credentials.
    /** Allow 127/8, ::1 and localhost targets: local mode and tests only (in Lambda it is the Runtime API). */
    TARGET_ALLOW_LOOPBACK: bool('TARGET_ALLOW_LOOPBACK', false),
    /** Allow private, CGNAT, ULA and NAT64 targets for any host; TARGET_ALLOWED_HOSTS allows named ones. */
    TARGET_ALLOW_PRIVATE: bool('TARGET_ALLOW_PRIVATE', false),
    /** Header names treated as credentials on top of the built-in list (domain/headers.ts). */
    EXTRA_CREDENTIAL_HEADERS: csv(
      'EXTRA_CREDENTIAL_HEADERS',
      'a comma-separated list of header names',
      z
        .string()
        .check(
          z.regex(
            /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/,
            'EXTRA_CREDENTIAL_HEADERS must be a comma-separated list of header names such as X-Tenant-Ref',
          ),
        ),
    ),
    // EventBridge source: routes from Genesys topics to HTTP targets, inline or in a file.
    ROUTES: routesSetting,
    ROUTES_FILE: optionalText(z.string()),
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
      // EventBridge source: a route must be deliverable, or every event of its topics would be refused later.
      for (const [i, route] of s.ROUTES.entries()) {
        const refusal = targetRefusal(route.url, s);
        if (refusal) ctx.addIssue({ code: 'custom', path: ['ROUTES', i, 'url'], message: refusal });
        for (const name of Object.keys(route.headers ?? {})) {
          const why = isHopByHopHeader(name)
            ? 'describes one connection and is never forwarded'
            : isCredentialHeader(name, s.EXTRA_CREDENTIAL_HEADERS) && !s.FORWARD_CREDENTIAL_HEADERS
              ? 'is a credential: set FORWARD_CREDENTIAL_HEADERS=true to send it (it is then stored in the stack template and in each queued message)'
              : name.toLowerCase() === 'idempotency-key'
                ? 'is set by this project on every delivery'
                : undefined;
          if (why) {
            ctx.addIssue({
              code: 'custom',
              path: ['ROUTES', i, 'headers', name],
              message: `header ${name} of route ${route.name} ${why}`,
            });
          }
        }
      }
    }),
  );

export type PipelineSettings = z.output<typeof pipelineSettingsSchema>;

/** Where the running code finds its resources (set by the stack, or by local mode). */
const runtimeSchema = z.object({
  RETRY_QUEUE_URL: z.url('RETRY_QUEUE_URL must be the URL of the SQS retry queue'),
  /** The intake: the one partner event source it takes events from (the stack sets it). */
  GENESYS_EVENT_SOURCE: optionalText(
    z
      .string()
      .check(
        z.regex(
          /^aws\.partner\/genesys\.com\/cloud\/\S+$/,
          'GENESYS_EVENT_SOURCE must be a Genesys partner event source, aws.partner/genesys.com/cloud/<orgId>/<suffix>',
        ),
      ),
  ),
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

/** An environment-like record: `process.env`, a parsed `.env`, or a test's plain object. */
export type Env = Readonly<Record<string, string | undefined>>;

function parseOrThrow<S extends z.ZodMiniType>(schema: S, env: unknown, what: string): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => {
    const name = i.path.join('.');
    const got =
      name && typeof env === 'object' && env !== null ? (env as Record<string, unknown>)[name] : undefined;
    // Never echo a secret back; echo other bad values so the operator sees what was read.
    // ROUTES may hold header values (credentials, when opted in): never echoed either.
    const shown = got === undefined || /SECRET|^ROUTES/i.test(name) ? '' : ` (got ${JSON.stringify(got)})`;
    return `  - ${i.message.startsWith(name) ? i.message : `${name}: ${i.message}`}${shown}`;
  });
  throw new ConfigError(`Invalid ${what}:\n${lines.join('\n')}`);
}

/**
 * Parses pipeline settings from an environment-like record; throws one ConfigError naming every bad variable.
 * ROUTES_FILE, when given, is read here (and ROUTES then must be empty). With `requireSource` (the default) at
 * least one source must be configured: WEBHOOK_ID for the delivery log, or routes for EventBridge. Functions
 * that serve either source (the redeliverer) pass `requireSource: false`: the stack gives them neither list.
 */
export function parsePipelineSettings(
  env: Readonly<Record<string, unknown>>,
  options: { readonly requireSource?: boolean } = {},
): PipelineSettings {
  const settings = parseOrThrow(pipelineSettingsSchema, withRoutesFile(env), 'settings');
  if (options.requireSource !== false && settings.WEBHOOK_ID.length === 0 && settings.ROUTES.length === 0) {
    throw new ConfigError(
      'Invalid settings:\n  - WEBHOOK_ID must be one webhook id or a comma-separated list of them (it is empty), or give ROUTES or ROUTES_FILE for the EventBridge source',
    );
  }
  return settings;
}

/** Puts the contents of ROUTES_FILE in ROUTES, so both forms go through one schema. */
function withRoutesFile(env: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const file = typeof env.ROUTES_FILE === 'string' ? env.ROUTES_FILE.trim() : '';
  if (!file) return env;
  const inline = env.ROUTES;
  if (inline !== undefined && !(typeof inline === 'string' && inline.trim() === '')) {
    throw new ConfigError('Invalid settings:\n  - ROUTES and ROUTES_FILE: give one of them, not both');
  }
  try {
    return { ...env, ROUTES: readFileSync(file, 'utf8') };
  } catch (error) {
    throw new ConfigError(
      `Invalid settings:\n  - ROUTES_FILE: could not read ${file}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
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

// Signed redeliveries (Standard Webhooks signatures, issue 15)
/** Whether and with what the redeliverer signs; the secret itself never travels in an environment variable in AWS. */
const signingSchema = z.object({
  SIGN_REDELIVERIES: bool('SIGN_REDELIVERIES', true),
  /** In Lambda: the Secrets Manager secret (ARN or name) holding the signing key(s). */
  SIGNING_SECRET_ID: optionalText(z.string().check(z.trim())),
  /** In local mode: the signing key(s) themselves, from `.env`; a key is generated when unset. */
  SIGNING_SECRET: optionalText(z.string().check(z.trim())),
});
export type SigningSettings = z.output<typeof signingSchema>;

/** The name of the variable that tells the redeliverer which secret holds the signing key(s). */
export const SIGNING_SECRET_ENV = 'SIGNING_SECRET_ID';

/** Parses the signing settings; values of SIGNING_SECRET are never echoed in errors. */
export function parseSigningSettings(env: Env): SigningSettings {
  return parseOrThrow(signingSchema, env, 'signing settings');
}

/**
 * The process environment, read once. This module is the only place that touches `process.env`, so every
 * setting has one reader and tests pass plain records instead.
 */
export function processEnvironment(): Env {
  return process.env;
}

/** A TCP port setting, 0 for any free one. */
const port = (name: string, def: number) => {
  const error = `${name} must be a port number from 0 to 65535 (0 picks a free port)`;
  return before(
    (v) => (v === undefined || v === '' ? def : v),
    z.coerce.number({ error }).check(z.int({ error }), z.minimum(0, { error }), z.maximum(65_535, { error })),
  );
};

/** Settings of local mode only (ports of the emulators it starts). */
const localSchema = z.object({
  LOCAL_SQS_PORT: port('LOCAL_SQS_PORT', 4566),
  LOCAL_DYNAMODB_PORT: port('LOCAL_DYNAMODB_PORT', 4567),
  LOCAL_GENESYS_PORT: port('LOCAL_GENESYS_PORT', 9000),
  LOCAL_DEMO_TARGETS_PORT: port('LOCAL_DEMO_TARGETS_PORT', 0),
  // EventBridge source: the local PutEvents endpoint.
  LOCAL_EVENTBRIDGE_PORT: port('LOCAL_EVENTBRIDGE_PORT', 4568),
  /** A JSON array of delivery-log entries to seed the emulator with instead of the demo's. */
  LOCAL_DELIVERIES_FILE: optionalText(z.string()),
});
export type LocalSettings = z.output<typeof localSchema>;

/** Parses local-mode settings. */
export function parseLocalSettings(env: Env): LocalSettings {
  return parseOrThrow(localSchema, env, 'local settings');
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
  /** Masked by the CLI too; against a stack, added to the stack's own (its ExtraCredentialHeaders output). */
  EXTRA_CREDENTIAL_HEADERS: pipelineSettingsSchema.shape.EXTRA_CREDENTIAL_HEADERS,
});
export type CliEnvironment = z.output<typeof cliSchema>;

/** Parses the operator CLI's environment. */
export function parseCliEnvironment(env: Env): CliEnvironment {
  return parseOrThrow(cliSchema, env, 'CLI environment');
}

/**
 * Every variable local mode or the operator CLI reads from `.env`, so that a misspelt one can be named rather
 * than ignored. A function, so that the Lambda bundles (which never read `.env`) leave it out.
 */
export function dotenvSettingNames(): string[] {
  return [
    ...Object.keys(pipelineSettingsSchema.shape),
    ...Object.keys(localSchema.shape),
    ...Object.keys(signingSchema.shape).filter((n) => n !== 'SIGNING_SECRET_ID'),
    ...Object.keys(credentialsFromEnvSchema.shape),
    ...Object.keys(cliSchema.shape),
  ];
}

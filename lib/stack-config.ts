import { genesysRegionHosts } from '../lambdas/shared/adapters/genesys-delivery-source';
import {
  cleartextGatewayProblem,
  resolveGenesysEnvironment,
} from '../lambdas/shared/adapters/genesys-region';
import { closestName } from '../lambdas/shared/closest-name';
import { RECEIVE_HEADROOM } from '../lambdas/shared/derived-settings';
import { ConfigError } from '../lambdas/shared/errors';
import {
  type PipelineSettings,
  parsePipelineSettings,
  pipelineSettingsSchema,
} from '../lambdas/shared/settings';
import type { GenesysEventBus } from './constructs/eventbridge-source';
import { nameLengthProblems, physicalNames } from './physical-names';
import { MAX_RETRY_RETENTION_SECONDS, type PipelineTiming, pipelineTiming } from './pipeline-timing';
import { kmsKeyProblems, SECRET_ARN, SECRET_NAME, signingProblems } from './secret-settings';

/** Where the Genesys credentials secret comes from. */
export type SecretSource =
  | { readonly kind: 'create' }
  | { readonly kind: 'name'; readonly secretName: string }
  | { readonly kind: 'arn'; readonly secretArn: string };

/** Everything the stack needs, validated once from CDK context. */
export interface StackConfig {
  /** The parsed pipeline settings (the same schema the handlers use). */
  readonly settings: PipelineSettings;
  /** Durations derived from the settings (see pipelineTiming for the formulas). */
  readonly timing: PipelineTiming;
  /**
   * Every pipeline setting as the environment variable the handlers read, normalised (lists comma-joined,
   * booleans `true`/`false`) so both functions parse exactly the values that were validated here.
   */
  readonly pipelineEnvironment: Readonly<Record<string, string>>;
  readonly secret: SecretSource;
  /** Where the redeliverer's signing secret comes from, or `off` (`-c signRedeliveries=false`). */
  readonly signing: SecretSource | { readonly kind: 'off' };
  /**
   * The customer-managed KMS key the Genesys credentials secret is encrypted with (secretKmsKeyArn); its readers
   * get kms:Decrypt on it. @default - the secret uses the AWS-managed key aws/secretsmanager
   */
  readonly secretKmsKeyArn?: string;
  /** The same for the signing secret (signingSecretKmsKeyArn). @default - aws/secretsmanager */
  readonly signingSecretKmsKeyArn?: string;
  /** @default - no e-mail subscription on the alarm topic */
  readonly alarmEmail?: string;
  readonly stackName: string;
  /** Reserve a concurrency of 1 for the poller (opt-in; the poll lease already keeps polls from overlapping). */
  readonly reservePollerConcurrency: boolean;
  /** Reserve MAX_CONCURRENCY for the redeliverer, so that Lambda throttling cannot spend retry budget (opt-in). */
  readonly reserveRedelivererConcurrency: boolean;
  /** Create the CloudWatch dashboard (US$3 a month beyond an account's first three; `-c dashboard=false`). */
  readonly dashboard: boolean;
  /**
   * The EventBridge source: the bus Genesys events arrive on (settings.ROUTES holds the routes).
   * @default - no EventBridge source (the delivery-log poller alone)
   */
  readonly eventBus?: GenesysEventBus;
}

/** The pipeline setting names: context keys equal to the environment variable names. */
export const PIPELINE_SETTING_NAMES: readonly string[] = Object.keys(pipelineSettingsSchema.shape);

/** Stack-only context keys (the construct's props map onto these too, see lib/genesys-webhook-recovery.ts). */
export const STACK_KEYS = [
  'stackName',
  'secretName',
  'secretArn',
  'alarmEmail',
  'reservePollerConcurrency',
  'reserveRedelivererConcurrency',
  'dashboard',
  'signRedeliveries',
  'signingSecretName',
  'signingSecretArn',
  'secretKmsKeyArn',
  'signingSecretKmsKeyArn',
  'eventSource',
  'eventBusName',
] as const;

/** Default CloudFormation stack name. */
export const DEFAULT_STACK_NAME = 'GenesysWebhookRecovery';

/** Credentials must never travel through context: they would be written into the template in clear text. */
const FORBIDDEN_KEYS = ['GENESYS_CLOUD_CLIENT_ID', 'GENESYS_CLOUD_CLIENT_SECRET'];

// Physical names are derived from the stack name (lib/physical-names.ts); each is checked against its own limit
// too, so 60 is the most any name takes (SQS queue names hold 80, and `-eventbridge-failures` is 21 long).
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,59}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// EventBridge source: the partner event source Genesys creates, and event bus names.
const GENESYS_EVENT_SOURCE = /^aws\.partner\/genesys\.com\/cloud\/[A-Za-z0-9-]+\/[A-Za-z0-9._-]{1,64}$/;
const EVENT_BUS_NAME = /^[A-Za-z0-9._\-/]{1,256}$/;

/** Settings the stack turns into resources rather than handing to the functions (Lambda allows 4 KB of environment). */
const STACK_ONLY_SETTINGS = new Set(['ROUTES', 'ROUTES_FILE']);

/** Renders a context value (string from `-c`, or any JSON from cdk.json) as an environment-variable string. */
function asText(key: string, value: unknown, problems: string[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(',');
  problems.push(
    `  - ${key} must be a string, number, boolean or list of strings (got ${JSON.stringify(value)})`,
  );
  return undefined;
}

function envString(value: PipelineSettings[keyof PipelineSettings]): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.join(',');
  return String(value);
}

/**
 * Builds the validated stack configuration from CDK context (`-c KEY=value` or cdk.json). Pipeline settings use
 * the handlers' variable names and go through `parsePipelineSettings`; stack-only rules are checked here.
 * Throws one ConfigError listing every bad value, one line each.
 */
export function stackConfigFromContext(context: Readonly<Record<string, unknown>>): StackConfig {
  const problems: string[] = [];
  const env: Record<string, string | undefined> = {};
  for (const name of PIPELINE_SETTING_NAMES) {
    // ROUTES may be a JSON array in cdk.json, or its text with -c ROUTES='[…]'.
    const value = context[name];
    env[name] =
      name === 'ROUTES' && typeof value === 'object' && value !== null
        ? JSON.stringify(value)
        : asText(name, value, problems);
  }
  const stack: Partial<Record<(typeof STACK_KEYS)[number], string>> = {};
  for (const key of STACK_KEYS) stack[key] = asText(key, context[key], problems)?.trim() || undefined;

  for (const key of FORBIDDEN_KEYS) {
    if (context[key] !== undefined) {
      problems.push(
        `  - ${key} must not be given as context (it would be stored in the template); put the credentials in the Secrets Manager secret instead`,
      );
    }
  }
  // Upper-case keys are meant as settings; a typo would otherwise be ignored silently.
  for (const key of Object.keys(context)) {
    if (
      /^[A-Z][A-Z0-9_]*$/.test(key) &&
      !PIPELINE_SETTING_NAMES.includes(key) &&
      !FORBIDDEN_KEYS.includes(key)
    ) {
      const guess = closestName(key, PIPELINE_SETTING_NAMES);
      problems.push(
        `  - ${key} is not a known setting (${guess ? `did you mean ${guess}?` : `known: ${PIPELINE_SETTING_NAMES.join(', ')}`})`,
      );
    }
  }

  const hasRoutes = Boolean(env.ROUTES?.trim() || env.ROUTES_FILE?.trim());
  const hasWebhooks = Boolean(env.WEBHOOK_ID?.replace(/[\s,]/g, ''));
  if (!hasWebhooks && !hasRoutes) {
    problems.push(
      '  - WEBHOOK_ID is required: the Genesys Cloud webhook id(s) to watch, e.g. -c WEBHOOK_ID=abc123 (or give ROUTES with -c eventSource=… for the EventBridge source)',
    );
  }
  if (hasWebhooks && !env.GENESYS_CLOUD_REGION?.trim()) {
    problems.push(
      '  - GENESYS_CLOUD_REGION is required: your Genesys Cloud region, e.g. -c GENESYS_CLOUD_REGION=us-east-1',
    );
  } else if (env.GENESYS_CLOUD_REGION?.trim()) {
    // Resolved against the SDK's own region table, so a typo fails the synth rather than every poll.
    try {
      const environment = resolveGenesysEnvironment(env.GENESYS_CLOUD_REGION, genesysRegionHosts);
      const cleartext = cleartextGatewayProblem(environment);
      if (cleartext) problems.push(`  - ${cleartext}`);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(`  - ${error.message.replace(/\n\s*/g, ' ')}`);
    }
  }

  let settings: PipelineSettings | undefined;
  try {
    settings = parsePipelineSettings(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Keep the schema's own lines, minus duplicates of the "required" lines above.
    for (const line of error.message.split('\n').slice(1)) {
      if (line.includes('WEBHOOK_ID') && !hasWebhooks) continue;
      problems.push(line);
    }
  }

  // Loopback targets are for local mode and tests: in Lambda, 127.0.0.1:9001 is the Runtime API of the function.
  if (settings?.TARGET_ALLOW_LOOPBACK) {
    problems.push(
      "  - TARGET_ALLOW_LOOPBACK must not be true in the stack: it is for local mode and tests only (in Lambda, 127.0.0.1:9001 is the function's own Runtime API)",
    );
  }
  // Checked on its own, so this line appears even when other settings are also wrong.
  const interval = pipelineSettingsSchema.shape.POLL_INTERVAL_SECONDS.safeParse(env.POLL_INTERVAL_SECONDS);
  if (interval.success && (interval.data < 60 || interval.data % 60 !== 0)) {
    problems.push(
      `  - POLL_INTERVAL_SECONDS must be a multiple of 60 and at least 60 in AWS (EventBridge Scheduler runs at most once a minute, in whole minutes) (got ${interval.data})`,
    );
  }
  const timing = settings ? pipelineTiming(settings) : undefined;
  if (settings && timing && timing.worstCaseRetry.toSeconds() + 86_400 > MAX_RETRY_RETENTION_SECONDS) {
    problems.push(
      `  - MAX_HOLD_SECONDS + MAX_RETRIES × (MAX_RETRY_DELAY_SECONDS + redeliverer timeout) + ${RECEIVE_HEADROOM} × visibility timeout must stay under 12 days, or messages could expire in the retry queue before reaching the DLQ (got ${settings.MAX_HOLD_SECONDS} + ${settings.MAX_RETRIES} × (${settings.MAX_RETRY_DELAY_SECONDS} + ${timing.redelivererTimeout.toSeconds()}) + ${RECEIVE_HEADROOM} × ${timing.retryVisibilityTimeout.toSeconds()} s = ${timing.worstCaseRetry.toSeconds()} s); lower one of them`,
    );
  }
  const stackName = stack.stackName ?? DEFAULT_STACK_NAME;
  if (!STACK_NAME.test(stackName)) {
    problems.push(
      `  - stackName must start with a letter and hold at most 60 letters, digits or hyphens (got ${JSON.stringify(stackName)})`,
    );
  }
  if (stack.secretKmsKeyArn && !hasWebhooks) {
    problems.push(
      '  - secretKmsKeyArn is the key of the Genesys credentials secret, which only the delivery log (WEBHOOK_ID) uses: drop it',
    );
  }
  if (stack.secretName && stack.secretArn) {
    problems.push('  - secretName and secretArn: give one of them, not both');
  }
  if (stack.secretName && !SECRET_NAME.test(stack.secretName)) {
    problems.push(
      `  - secretName must be a Secrets Manager secret name (letters, digits, / _ + = . @ -) (got ${JSON.stringify(stack.secretName)})`,
    );
  }
  if (stack.secretArn && !SECRET_ARN.test(stack.secretArn)) {
    problems.push(
      `  - secretArn must be a Secrets Manager secret ARN, arn:aws:secretsmanager:<region>:<account>:secret:<name> (got ${JSON.stringify(stack.secretArn)})`,
    );
  }
  if (stack.alarmEmail && !EMAIL.test(stack.alarmEmail)) {
    problems.push(`  - alarmEmail must be an e-mail address (got ${JSON.stringify(stack.alarmEmail)})`);
  }
  problems.push(...signingProblems(stack), ...kmsKeyProblems(stack));
  // Off by default: a new account's concurrency quota of 10 leaves nothing to reserve, and any reservation would
  // fail its first deploy. The poll lease keeps polls from overlapping without one.
  const reserve = { reservePollerConcurrency: false, reserveRedelivererConcurrency: false };
  for (const key of ['reservePollerConcurrency', 'reserveRedelivererConcurrency'] as const) {
    const value = (stack[key] ?? 'false').toLowerCase();
    if (value !== 'true' && value !== 'false') {
      problems.push(`  - ${key} must be true or false (got ${JSON.stringify(value)})`);
    }
    reserve[key] = value === 'true';
  }
  const dashboardText = (stack.dashboard ?? 'true').toLowerCase();
  if (dashboardText !== 'true' && dashboardText !== 'false') {
    problems.push(`  - dashboard must be true or false (got ${JSON.stringify(stack.dashboard)})`);
  }

  const eventBus = eventBusFromContext(stack.eventSource, stack.eventBusName, hasRoutes, problems);
  if (STACK_NAME.test(stackName)) {
    const names = physicalNames(stackName, { eventBridge: eventBus !== undefined, deliveryLog: hasWebhooks });
    problems.push(...nameLengthProblems('stackName', stackName, names));
  }

  if (problems.length > 0 || !settings || !timing) {
    throw new ConfigError(`Invalid stack configuration:\n${problems.join('\n')}`);
  }

  const pipelineEnvironment: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings)) {
    if (STACK_ONLY_SETTINGS.has(name)) continue;
    const text = envString(value as PipelineSettings[keyof PipelineSettings]);
    if (text !== undefined) pipelineEnvironment[name] = text;
  }

  const secret: SecretSource = stack.secretArn
    ? { kind: 'arn', secretArn: stack.secretArn }
    : stack.secretName
      ? { kind: 'name', secretName: stack.secretName }
      : { kind: 'create' };

  const signing: StackConfig['signing'] =
    stack.signRedeliveries?.toLowerCase() === 'false'
      ? { kind: 'off' }
      : stack.signingSecretArn
        ? { kind: 'arn', secretArn: stack.signingSecretArn }
        : stack.signingSecretName
          ? { kind: 'name', secretName: stack.signingSecretName }
          : { kind: 'create' };

  return {
    settings,
    timing,
    pipelineEnvironment,
    secret,
    signing,
    ...(stack.secretKmsKeyArn ? { secretKmsKeyArn: stack.secretKmsKeyArn } : {}),
    ...(stack.signingSecretKmsKeyArn && signing.kind !== 'off'
      ? { signingSecretKmsKeyArn: stack.signingSecretKmsKeyArn }
      : {}),
    ...(stack.alarmEmail ? { alarmEmail: stack.alarmEmail } : {}),
    stackName,
    ...reserve,
    dashboard: dashboardText !== 'false',
    ...(eventBus ? { eventBus } : {}),
  };
}

/**
 * The EventBridge source's bus: `eventSource` alone, a partner source to associate with a new bus; or
 * `eventBusName`, a bus that exists, with `eventSource` the partner source whose events it carries (which may be
 * left out when the bus bears the partner source's name, as a partner bus does).
 */
function eventBusFromContext(
  eventSource: string | undefined,
  eventBusName: string | undefined,
  hasRoutes: boolean,
  problems: string[],
): GenesysEventBus | undefined {
  const partnerName = eventBusName !== undefined && GENESYS_EVENT_SOURCE.test(eventBusName);
  if (eventBusName && !eventSource && !partnerName) {
    problems.push(
      `  - eventBusName ${JSON.stringify(eventBusName)} needs eventSource: the Genesys partner event source whose events it carries, aws.partner/genesys.com/cloud/<orgId>/<suffix> (the rules take that source only)`,
    );
  }
  if (eventSource && !GENESYS_EVENT_SOURCE.test(eventSource)) {
    problems.push(
      `  - eventSource must be the Genesys partner event source, aws.partner/genesys.com/cloud/<orgId>/<suffix> (got ${JSON.stringify(eventSource)})`,
    );
  }
  if (eventBusName && !EVENT_BUS_NAME.test(eventBusName)) {
    problems.push(
      `  - eventBusName must be an event bus name (letters, digits, . _ - /) (got ${JSON.stringify(eventBusName)})`,
    );
  }
  const source = eventSource ?? (partnerName ? eventBusName : undefined);
  const bus: GenesysEventBus | undefined = eventBusName
    ? source !== undefined
      ? { kind: 'name', eventBusName, eventSource: source }
      : undefined
    : eventSource
      ? { kind: 'source', eventSource }
      : undefined;
  if (bus && !hasRoutes) {
    problems.push(
      `  - ${bus.kind === 'source' ? 'eventSource' : 'eventBusName'} needs ROUTES (or ROUTES_FILE): which Genesys topics go to which URL`,
    );
  }
  if (!bus && hasRoutes && !eventBusName) {
    problems.push(
      '  - ROUTES needs the bus the Genesys events arrive on: -c eventSource=aws.partner/genesys.com/cloud/<orgId>/<suffix> (or -c eventBusName=… for a bus that exists)',
    );
  }
  return bus;
}

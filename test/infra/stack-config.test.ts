import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambdas/shared/errors';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { pipelineTiming } from '../../lib/pipeline-timing';
import { PIPELINE_SETTING_NAMES, stackConfigFromContext } from '../../lib/stack-config';

const base = { WEBHOOK_ID: 'hook-1', GENESYS_CLOUD_REGION: 'us-east-1' };

/** The error's lines, minus the header, so each bad value can be checked on its own line. */
function problemLines(context: Record<string, unknown>): string[] {
  try {
    stackConfigFromContext(context);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const [header, ...lines] = (error as ConfigError).message.split('\n');
    expect(header).toBe('Invalid stack configuration:');
    return lines;
  }
  throw new Error('expected a ConfigError');
}

describe('stackConfigFromContext', () => {
  it('applies the schema defaults and creates a secret when none is named', () => {
    const config = stackConfigFromContext(base);
    expect(config.settings.MAX_RETRIES).toBe(3);
    expect(config.settings.WEBHOOK_ID).toEqual(['hook-1']);
    expect(config.secret).toEqual({ kind: 'create' });
    expect(config.stackName).toBe('GenesysWebhookRecovery');
    // Opt-in: any reservation fails the first deploy into a new account (concurrency quota 10).
    expect(config.reservePollerConcurrency).toBe(false);
    expect(config.reserveRedelivererConcurrency).toBe(false);
    expect(config.alarmEmail).toBeUndefined();
  });

  it('renders every setting as the environment variable the handlers parse back to the same values', () => {
    const config = stackConfigFromContext({
      ...base,
      WEBHOOK_ID: ' a , b ',
      TARGET_ALLOWED_HOSTS: 'hooks.example.com,*.example.org',
      FORWARD_CREDENTIAL_HEADERS: 'yes',
      EXTRA_CREDENTIAL_HEADERS: 'X-Partner-Key',
      MAX_RETRIES: 7,
    });
    expect(config.pipelineEnvironment.WEBHOOK_ID).toBe('a,b');
    expect(config.pipelineEnvironment.FORWARD_CREDENTIAL_HEADERS).toBe('true');
    expect(config.pipelineEnvironment.MAX_RETRIES).toBe('7');
    expect(parsePipelineSettings(config.pipelineEnvironment)).toEqual(config.settings);
    // Every setting except an empty list and the routes (which become rules, not environment) reaches the functions.
    expect(Object.keys(config.pipelineEnvironment).sort()).toEqual(
      PIPELINE_SETTING_NAMES.filter((n) => n !== 'ROUTES' && n !== 'ROUTES_FILE').sort(),
    );
  });

  it('accepts JSON values from cdk.json: numbers, booleans and lists', () => {
    const config = stackConfigFromContext({ ...base, WEBHOOK_ID: ['x', 'y'], BATCH_SIZE: 20 });
    expect(config.settings.WEBHOOK_ID).toEqual(['x', 'y']);
    expect(config.settings.BATCH_SIZE).toBe(20);
  });

  it('requires a source (WEBHOOK_ID, or ROUTES), and GENESYS_CLOUD_REGION with WEBHOOK_ID, one line each', () => {
    const lines = problemLines({});
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ {2}- WEBHOOK_ID is required.*or give ROUTES/);
    const withWebhook = problemLines({ WEBHOOK_ID: 'hook-1' });
    expect(withWebhook).toHaveLength(1);
    expect(withWebhook[0]).toMatch(/^ {2}- GENESYS_CLOUD_REGION is required/);
  });

  it('resolves GENESYS_CLOUD_REGION against the SDK region table at synth, naming a typo', () => {
    const lines = problemLines({ ...base, GENESYS_CLOUD_REGION: 'us-east-9' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/GENESYS_CLOUD_REGION/);
    expect(lines[0]).toMatch(/us-east-9/);
    for (const ok of [
      'us_east_1',
      'eu-west-1',
      'mypurecloud.ie',
      'https://genesys-proxy.example.com/genesys',
    ]) {
      expect(
        stackConfigFromContext({ ...base, GENESYS_CLOUD_REGION: ok }).settings.GENESYS_CLOUD_REGION,
      ).toBe(ok);
    }
  });

  it('refuses an http:// Genesys gateway: the deployed poller would send the OAuth secret in clear', () => {
    for (const url of ['http://127.0.0.1:9000', 'http://genesys-proxy.example.com']) {
      const lines = problemLines({ ...base, GENESYS_CLOUD_REGION: url });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^ {2}- GENESYS_CLOUD_REGION is an http:\/\/ URL \(.+\): the OAuth client secret would cross the network in clear; use https:\/\//,
      );
    }
  });

  it('reports every bad value on its own line, with what was read', () => {
    const lines = problemLines({
      ...base,
      MAX_RETRIES: '0',
      BATCH_SIZE: 'ten',
      alarmEmail: 'not-an-address',
    });
    expect(lines).toHaveLength(3);
    expect(lines.join('\n')).toContain(
      'MAX_RETRIES must be a whole number of attempts from 1 to 995 (got "0")',
    );
    expect(lines.join('\n')).toContain('BATCH_SIZE must be a whole number');
    expect(lines.join('\n')).toContain('alarmEmail must be an e-mail address (got "not-an-address")');
  });

  it.each([30, 90, 61])(
    'rejects POLL_INTERVAL_SECONDS=%i, which EventBridge Scheduler cannot run',
    (interval) => {
      const lines = problemLines({ ...base, POLL_INTERVAL_SECONDS: String(interval) });
      expect(lines).toEqual([expect.stringContaining('POLL_INTERVAL_SECONDS must be a multiple of 60')]);
    },
  );

  it('accepts whole minutes', () => {
    expect(
      stackConfigFromContext({ ...base, POLL_INTERVAL_SECONDS: '300' }).timing.pollInterval.toMinutes(),
    ).toBe(5);
  });

  it('refuses credentials in context, without echoing them', () => {
    const lines = problemLines({ ...base, GENESYS_CLOUD_CLIENT_SECRET: 's3cr3t' });
    expect(lines).toEqual([
      expect.stringContaining('GENESYS_CLOUD_CLIENT_SECRET must not be given as context'),
    ]);
    expect(lines.join('\n')).not.toContain('s3cr3t');
  });

  it('flags an upper-case key that is not a setting (a typo would otherwise be ignored)', () => {
    expect(problemLines({ ...base, MAX_RETRY: '5' })).toEqual([
      expect.stringContaining('MAX_RETRY is not a known setting'),
    ]);
  });

  it('references an existing secret by name or by ARN, but not both', () => {
    expect(stackConfigFromContext({ ...base, secretName: 'genesys/creds' }).secret).toEqual({
      kind: 'name',
      secretName: 'genesys/creds',
    });
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:genesys-AbCdEf';
    expect(stackConfigFromContext({ ...base, secretArn: arn }).secret).toEqual({
      kind: 'arn',
      secretArn: arn,
    });
    expect(problemLines({ ...base, secretName: 'a', secretArn: arn })).toEqual([
      expect.stringContaining('give one of them, not both'),
    ]);
    expect(problemLines({ ...base, secretArn: 'genesys' })).toEqual([
      expect.stringContaining('secretArn must be a Secrets Manager secret ARN'),
    ]);
  });

  it('signs by default with a created secret; takes a signing secret by name or ARN, or signing off', () => {
    expect(stackConfigFromContext(base).signing).toEqual({ kind: 'create' });
    expect(stackConfigFromContext({ ...base, signRedeliveries: 'false' }).signing).toEqual({ kind: 'off' });
    expect(stackConfigFromContext({ ...base, signRedeliveries: false }).signing).toEqual({ kind: 'off' });
    expect(stackConfigFromContext({ ...base, signingSecretName: 'hooks/signing' }).signing).toEqual({
      kind: 'name',
      secretName: 'hooks/signing',
    });
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hooks-AbCdEf';
    expect(stackConfigFromContext({ ...base, signingSecretArn: arn }).signing).toEqual({
      kind: 'arn',
      secretArn: arn,
    });
  });

  it('names each bad signing option', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hooks-AbCdEf';
    expect(problemLines({ ...base, signRedeliveries: 'maybe' })).toEqual([
      expect.stringContaining('signRedeliveries must be true or false (got "maybe")'),
    ]);
    expect(problemLines({ ...base, signingSecretName: 'a', signingSecretArn: arn })).toEqual([
      expect.stringContaining('signingSecretName and signingSecretArn: give one of them, not both'),
    ]);
    expect(problemLines({ ...base, signRedeliveries: 'false', signingSecretName: 'a' })).toEqual([
      expect.stringContaining('signRedeliveries=false turns signing off'),
    ]);
    expect(problemLines({ ...base, signingSecretArn: 'hooks' })).toEqual([
      expect.stringContaining('signingSecretArn must be a Secrets Manager secret ARN'),
    ]);
    expect(problemLines({ ...base, signingSecretName: 'bad name!' })).toEqual([
      expect.stringContaining('signingSecretName must be a Secrets Manager secret name'),
    ]);
  });

  it('rejects a retry budget the retry queue could not keep until the DLQ', () => {
    const lines = problemLines({ ...base, MAX_RETRIES: '300', MAX_RETRY_DELAY_SECONDS: '43200' });
    expect(lines).toEqual([expect.stringContaining('must stay under 12 days')]);
  });

  it('validates the stack name and the concurrency switches', () => {
    expect(problemLines({ ...base, stackName: '1-bad name' })).toEqual([
      expect.stringContaining('stackName must start with a letter'),
    ]);
    expect(problemLines({ ...base, reservePollerConcurrency: 'maybe' })).toEqual([
      expect.stringContaining('reservePollerConcurrency must be true or false'),
    ]);
    expect(stackConfigFromContext({ ...base, reservePollerConcurrency: true }).reservePollerConcurrency).toBe(
      true,
    );
    expect(problemLines({ ...base, reserveRedelivererConcurrency: 'yes' })).toEqual([
      '  - reserveRedelivererConcurrency must be true or false (got "yes")',
    ]);
    const on = stackConfigFromContext({ ...base, reserveRedelivererConcurrency: 'TRUE' });
    expect([on.reserveRedelivererConcurrency, on.reservePollerConcurrency]).toEqual([true, false]);
  });
});

describe('pipelineTiming', () => {
  const timing = (env: Record<string, string> = {}) =>
    pipelineTiming(parsePipelineSettings({ ...base, ...env }));

  it('derives the redeliverer timeout and a visibility timeout of at least 6 times it', () => {
    const t = timing({ DELIVERY_TIMEOUT_SECONDS: '30' });
    expect(t.redelivererTimeout.toSeconds()).toBe(45);
    expect(t.retryVisibilityTimeout.toSeconds()).toBeGreaterThanOrEqual(6 * 45);
  });

  it('keeps the DLQ retention longer than the retry queue retention', () => {
    for (const env of [{}, { MAX_RETRIES: '200', MAX_RETRY_DELAY_SECONDS: '3600' }] as Record<
      string,
      string
    >[]) {
      const t = timing(env);
      expect(t.dlqRetention.toDays()).toBe(14);
      expect(t.retryRetention.toSeconds()).toBeLessThan(t.dlqRetention.toSeconds());
      expect(t.retryRetention.toSeconds()).toBeGreaterThan(t.worstCaseRetry.toSeconds());
    }
  });

  it('ends a poll before the next one and allows a few intervals before a missed poll alarms', () => {
    const t = timing({ POLL_INTERVAL_SECONDS: '120' });
    expect(t.pollerTimeout.toSeconds()).toBeLessThan(120);
    expect(t.missedPollPeriod.toSeconds()).toBe(360);
    expect(timing({ POLL_INTERVAL_SECONDS: '86400' }).missedPollPeriod.toSeconds()).toBe(86_400);
  });
});

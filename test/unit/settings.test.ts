import { describe, expect, it } from 'vitest';
import { deriveSettings } from '../../lambdas/shared/derived-settings';
import { ConfigError } from '../../lambdas/shared/errors';
import {
  parseGenesysSecret,
  parsePipelineSettings,
  parseRuntimeSettings,
} from '../../lambdas/shared/settings';

const minimal = { WEBHOOK_ID: 'wh-1' };

describe('parsePipelineSettings', () => {
  it('applies the documented defaults', () => {
    const s = parsePipelineSettings(minimal);
    expect(s).toMatchObject({
      WEBHOOK_ID: ['wh-1'],
      POLL_INTERVAL_SECONDS: 60,
      LOOKBACK_HOURS: 1,
      MAX_RETRIES: 3,
      RETRY_DELAY_SECONDS: 5,
      MAX_RETRY_DELAY_SECONDS: 3600,
      DELIVERY_TIMEOUT_SECONDS: 10,
      FORWARD_CREDENTIAL_HEADERS: false,
      TARGET_ALLOWED_HOSTS: [],
      // The deployed stack refuses loopback and private targets unless told otherwise.
      TARGET_ALLOW_LOOPBACK: false,
      TARGET_ALLOW_PRIVATE: false,
      EXTRA_CREDENTIAL_HEADERS: [],
    });
  });

  it('splits a comma-separated WEBHOOK_ID list and trims it', () => {
    expect(parsePipelineSettings({ WEBHOOK_ID: ' a-1, b_2 ,,c.3 ' }).WEBHOOK_ID).toEqual([
      'a-1',
      'b_2',
      'c.3',
    ]);
  });

  it.each([
    ['MAX_RETRIES', '0', /MAX_RETRIES must be a whole number of attempts from 1 to 995 \(got "0"\)/],
    ['MAX_RETRIES', 'three', /MAX_RETRIES must be a whole number/],
    ['RETRY_DELAY_SECONDS', '1.5', /RETRY_DELAY_SECONDS must be a whole number of seconds/],
    [
      'MAX_RETRY_DELAY_SECONDS',
      '43201',
      /MAX_RETRY_DELAY_SECONDS must be a whole number of seconds from 1 to 43200/,
    ],
    ['DELIVERY_TIMEOUT_SECONDS', '-1', /DELIVERY_TIMEOUT_SECONDS/],
    ['POLL_INTERVAL_SECONDS', '0', /POLL_INTERVAL_SECONDS/],
    ['LOOKBACK_HOURS', '1000', /LOOKBACK_HOURS/],
    ['FORWARD_CREDENTIAL_HEADERS', 'maybe', /FORWARD_CREDENTIAL_HEADERS must be true or false/],
    ['WEBHOOK_ID', 'has space', /WEBHOOK_ID must be a comma-separated list of webhook ids/],
    ['TARGET_ALLOWED_HOSTS', 'http://x', /TARGET_ALLOWED_HOSTS must be a comma-separated list of host names/],
    ['TARGET_ALLOW_LOOPBACK', 'sometimes', /TARGET_ALLOW_LOOPBACK must be true or false/],
    ['TARGET_ALLOW_PRIVATE', 'y', /TARGET_ALLOW_PRIVATE must be true or false/],
    [
      'EXTRA_CREDENTIAL_HEADERS',
      'X-Key, bad name',
      /EXTRA_CREDENTIAL_HEADERS must be a comma-separated list of header names/,
    ],
  ])('rejects %s=%s with a message naming it', (name, value, message) => {
    expect(() => parsePipelineSettings({ ...minimal, [name]: value })).toThrow(ConfigError);
    expect(() => parsePipelineSettings({ ...minimal, [name]: value })).toThrow(message);
  });

  it('requires WEBHOOK_ID', () => {
    expect(() => parsePipelineSettings({})).toThrow(/WEBHOOK_ID/);
    expect(() => parsePipelineSettings({ WEBHOOK_ID: ' , ' })).toThrow(/WEBHOOK_ID .*empty/);
  });

  it('names every bad variable at once', () => {
    const error = (() => {
      try {
        parsePipelineSettings({ WEBHOOK_ID: 'x', MAX_RETRIES: '0', RETRY_DELAY_SECONDS: 'soon' });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error?.message).toMatch(/MAX_RETRIES/);
    expect(error?.message).toMatch(/RETRY_DELAY_SECONDS/);
  });

  it('rejects a cap below the base delay', () => {
    expect(() =>
      parsePipelineSettings({ ...minimal, RETRY_DELAY_SECONDS: '60', MAX_RETRY_DELAY_SECONDS: '30' }),
    ).toThrow(/MAX_RETRY_DELAY_SECONDS \(30\) must be at least RETRY_DELAY_SECONDS \(60\)/);
  });
});

describe('parseRuntimeSettings', () => {
  it('names a missing queue URL', () => {
    expect(() => parseRuntimeSettings({ LEDGER_TABLE_NAME: 'tbl' })).toThrow(/RETRY_QUEUE_URL/);
  });
});

describe('parseGenesysSecret', () => {
  it('reads the documented JSON shape', () => {
    expect(parseGenesysSecret('{"clientId":"id","clientSecret":"s3cr3t"}', 'arn:x')).toEqual({
      clientId: 'id',
      clientSecret: 's3cr3t',
    });
  });

  it('never echoes the secret text in its error', () => {
    const attempt = () => parseGenesysSecret('clientSecret=hunter2-value', 'my-secret');
    expect(attempt).toThrow(/Secret my-secret must be JSON/);
    try {
      attempt();
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('hunter2');
    }
  });

  it('names the missing field', () => {
    expect(() => parseGenesysSecret('{"clientId":"id"}', 'my-secret')).toThrow(/clientSecret/);
  });
});

describe('deriveSettings', () => {
  it('keeps the retry queue visibility at 6 × the redeliverer timeout plus the batching window, retention under the DLQ', () => {
    const d = deriveSettings(parsePipelineSettings(minimal));
    expect(d.retryQueueVisibilitySeconds).toBe(6 * d.redelivererTimeoutSeconds + d.batchingWindowSeconds);
    expect(d.retryQueueRetentionSeconds).toBeLessThan(d.dlqRetentionSeconds);
    const long = deriveSettings(
      parsePipelineSettings({ ...minimal, MAX_RETRIES: '995', MAX_RETRY_DELAY_SECONDS: '43200' }),
    );
    expect(long.retryQueueRetentionSeconds).toBeLessThan(long.dlqRetentionSeconds);
  });
});

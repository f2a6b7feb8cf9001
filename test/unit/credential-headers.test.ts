import { describe, expect, it } from 'vitest';
import { redeliver } from '../../lambdas/redeliverer/redeliver';
import {
  filterHeaders,
  headerMapProblem,
  isCredentialHeader,
  REDACTED,
  redactCredentialHeaders,
} from '../../lambdas/shared/domain/headers';
import { normaliseDelivery } from '../../lambdas/shared/domain/normalise-delivery';
import { retryMessageSchema, toQueueBody } from '../../lambdas/shared/domain/retry-message';
import { PUBLIC_TARGETS_ONLY } from '../../lambdas/shared/domain/target';
import { FakeSender, fakeDeps, sqsInput } from './redeliver-fakes';

describe('isCredentialHeader', () => {
  it.each([
    'Authorization',
    'proxy-authorization',
    'Cookie',
    'Set-Cookie',
    'X-Api-Key',
    'x-apikey',
    'Api-Key',
    'X-Goog-Api-Key',
    'X-Auth-Token',
    'X-Access-Token',
    'X-Amz-Security-Token',
    'X-CSRF-Token',
    'X-Functions-Key',
    'Ocp-Apim-Subscription-Key',
    'Private-Token',
    'X-Hub-Signature-256',
    'X-Slack-Signature',
    'Stripe-Signature',
    'Webhook-Signature',
    'X-Genesys-Signature',
    'X-Partner-Token',
    'X-Webhook-Secret',
    'X-Client-Password',
    'X-Session-Id',
    'X-Shopify-Hmac-Sha256',
    'X_Auth_Key',
    // Names ending in -key, -token, -secret or -signature, and the auth… family (issue 21).
    'X-Partner-Key',
    'Subscription-Key',
    'Access-Key',
    'Authentication',
    'X-Signing-Key',
    'X-Authn',
    'X-Authtoken',
    'Client.Secret',
    'X-Request-Signature',
  ])('%s is a credential', (name) => {
    expect(isCredentialHeader(name)).toBe(true);
  });

  it.each([
    'Content-Type',
    'User-Agent',
    'X-Trace',
    'X-Request-Id',
    'Accept',
    'X-Author',
    'X-Tokenizer-Version',
    'X-Authority-Region',
    'Idempotency-Key',
    'X-Key-Id',
    'X-Monkey',
  ])('%s is not', (name) => {
    expect(isCredentialHeader(name)).toBe(false);
  });

  it('adds EXTRA_CREDENTIAL_HEADERS names, without case', () => {
    expect(isCredentialHeader('X-Tenant-Ref')).toBe(false);
    expect(isCredentialHeader('x-tenant-REF', ['X-Tenant-Ref'])).toBe(true);
  });
});

describe('redactCredentialHeaders', () => {
  const entry = {
    id: 'd-1',
    headers: { Authorization: 'Bearer s3cr3t', 'X-Partner-Key': 'pk-1', 'X-Trace': 't-1' },
    body: { a: 1 },
  };

  it('replaces credential values, keeps their names and every other field, and leaves the entry alone', () => {
    const before = structuredClone(entry);
    expect(redactCredentialHeaders(entry, ['X-Partner-Key'])).toEqual({
      id: 'd-1',
      headers: { Authorization: REDACTED, 'X-Partner-Key': REDACTED, 'X-Trace': 't-1' },
      body: { a: 1 },
    });
    expect(entry).toEqual(before);
  });

  it.each([
    ['a string', 'Authorization: Bearer s3cr3t'],
    ['an array of pairs', [['Authorization', 'Bearer s3cr3t']]],
    ['a number', 42],
  ])('replaces whole a headers field that is %s (nothing in it can be told apart)', (_kind, headers) => {
    expect(redactCredentialHeaders({ id: 'd', headers })).toEqual({ id: 'd', headers: REDACTED });
  });

  it.each([null, 'text', 7, [1, 2], { id: 'no headers' }])('returns %j as it is', (value) => {
    expect(redactCredentialHeaders(value)).toEqual(value);
  });

  it('keeps a __proto__ field as data', () => {
    const parsed = JSON.parse('{"id":"d","headers":{"__proto__":"x","Cookie":"c=1"}}');
    const out = JSON.stringify(redactCredentialHeaders(parsed));
    expect(JSON.parse(out)).toEqual(
      JSON.parse('{"id":"d","headers":{"__proto__":"x","Cookie":"[redacted]"}}'),
    );
  });
});

describe('filterHeaders: credentials, __proto__ and names that differ only in case', () => {
  it('strips every credential-like header unless forwarding is opted into', () => {
    const original = { 'X-Api-Key': 'k', 'X-Partner-Token': 't', 'X-Partner-Key': 'p', 'X-Trace': 'x' };
    const off = filterHeaders(original, {
      forwardCredentials: false,
      extraCredentialHeaders: ['x-partner-key'],
    });
    expect({ ...off.headers }).toEqual({ 'X-Trace': 'x' });
    expect(off.stripped).toEqual(['X-Api-Key', 'X-Partner-Token', 'X-Partner-Key']);
    const on = filterHeaders(original, {
      forwardCredentials: true,
      extraCredentialHeaders: ['x-partner-key'],
    });
    expect({ ...on.headers }).toEqual(original);
  });

  it('names a __proto__ header in stripped instead of losing it, and builds a map without a prototype', () => {
    const original = JSON.parse('{"__proto__":"polluted","X-Trace":"t"}');
    const { headers, stripped } = filterHeaders(original, { forwardCredentials: false });
    expect(stripped).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(headers)).toBeNull();
    expect(Object.keys(headers)).toEqual(['X-Trace']);
  });

  it('merges names that differ only in case when their values agree', () => {
    const { headers, conflict } = filterHeaders(
      { 'Content-Type': 'application/json', 'content-type': 'application/json' },
      { forwardCredentials: false },
    );
    expect(conflict).toBeUndefined();
    expect(Object.entries(headers)).toEqual([['Content-Type', 'application/json']]);
  });

  it('reports names that differ only in case and disagree', () => {
    const { conflict } = filterHeaders(
      { 'Content-Type': 'application/json', 'content-type': 'text/html' },
      { forwardCredentials: false },
    );
    expect(conflict).toMatch(/"Content-Type" and "content-type" differ only in case/);
  });
});

describe('normaliseDelivery with hostile header maps', () => {
  const options = {
    webhookId: 'wh-1',
    forwardCredentials: false,
    targets: PUBLIC_TARGETS_ONLY,
    now: new Date('2026-11-28T13:00:00.000Z'),
  };
  const entry = (headers: unknown) => ({
    id: 'd-1',
    webhookId: 'wh-1',
    status: 'failed',
    body: '<p>hello</p>',
    headers,
    webhookUrl: 'https://hooks.example.com/in',
    dateCreated: '2026-11-28T12:59:00.000Z',
  });

  it('refuses, with a reason, an entry whose Content-Type headers disagree', () => {
    const n = normaliseDelivery(
      entry({ 'Content-Type': 'application/json', 'content-type': 'text/html' }),
      options,
    );
    expect(n).toMatchObject({ ok: false, deliveryId: 'd-1' });
    if (!n.ok) expect(n.reason).toMatch(/differ only in case and carry different values/);
  });

  it('records a __proto__ header as stripped, and the message survives the queue and the schema', () => {
    const n = normaliseDelivery(entry(JSON.parse('{"__proto__":"x","Content-Type":"text/html"}')), options);
    expect(n.ok).toBe(true);
    if (!n.ok) return;
    expect(n.message.strippedHeaders).toEqual(['__proto__']);
    const read = retryMessageSchema.parse(JSON.parse(toQueueBody(n.message)));
    expect(read.headers).toEqual({ 'Content-Type': 'text/html' });
  });

  it('sends the Content-Type it records, once', async () => {
    const n = normaliseDelivery(entry({ 'Content-Type': 'text/html', 'content-type': 'text/html' }), options);
    if (!n.ok) throw new Error(n.reason);
    const sender = new FakeSender();
    const { deps } = fakeDeps(sender);
    await redeliver(sqsInput(JSON.parse(toQueueBody(n.message))), deps);
    const sent = Object.entries(sender.requests[0]?.headers ?? {}).filter(
      ([name]) => name.toLowerCase() === 'content-type',
    );
    expect(sent).toEqual([['Content-Type', n.message.contentType]]);
  });
});

describe('retryMessageSchema: hand-made header maps', () => {
  it.each([
    ['{"__proto__":"x"}', /__proto__/],
    ['{"Content-Type":"a","content-type":"b"}', /differ only in case/],
  ])('refuses headers %s with a reason instead of dropping one silently', (headers, reason) => {
    expect(headerMapProblem(JSON.parse(headers))).toMatch(reason);
    const n = normaliseDelivery(
      {
        id: 'd',
        status: 'failed',
        body: 'x',
        webhookUrl: 'https://hooks.example.com/x',
        dateCreated: '2026-11-28T12:00:00.000Z',
      },
      { webhookId: 'w', forwardCredentials: false, targets: PUBLIC_TARGETS_ONLY, now: new Date() },
    );
    if (!n.ok) throw new Error(n.reason);
    const body = JSON.stringify(n.message).replace('"headers":{}', `"headers":${headers}`);
    const result = retryMessageSchema.safeParse(JSON.parse(body));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(reason);
  });
});

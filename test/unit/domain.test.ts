import { describe, expect, it } from 'vitest';
import { backoffSeconds } from '../../lambdas/shared/domain/backoff';
import { serialiseBody } from '../../lambdas/shared/domain/body';
import { classifyStatus, parseRetryAfter } from '../../lambdas/shared/domain/classify';
import { eventKey } from '../../lambdas/shared/domain/event-key';
import { filterHeaders } from '../../lambdas/shared/domain/headers';
import { PUBLIC_TARGETS_ONLY, targetRefusal } from '../../lambdas/shared/domain/target';

describe('classifyStatus', () => {
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [299, 'delivered'],
    [301, 'permanent'],
    [304, 'permanent'],
    [400, 'permanent'],
    [401, 'permanent'],
    [404, 'permanent'],
    [408, 'retryable'],
    [410, 'permanent'],
    [422, 'permanent'],
    [425, 'retryable'],
    [429, 'retryable'],
    [500, 'retryable'],
    [503, 'retryable'],
    [599, 'retryable'],
  ] as const)('%i is %s', (status, outcome) => {
    expect(classifyStatus(status)).toBe(outcome);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-11-28T12:00:00.000Z');
  it.each([
    [undefined, undefined],
    ['120', 120],
    [' 7 ', 7],
    ['Sat, 28 Nov 2026 12:01:00 GMT', 60],
    ['Sat, 28 Nov 2026 11:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
  ])('%s → %s', (value, seconds) => {
    expect(parseRetryAfter(value, now)).toBe(seconds);
  });
});

describe('backoffSeconds', () => {
  const base = { baseSeconds: 5, capSeconds: 3600 };
  it.each([
    // attempt, random, expected: random(0, min(cap, base·2^(n−1))) with a floor of 1 s
    [1, 0.999, 4],
    [2, 0.999, 9],
    [3, 0.5, 10],
    [4, 0.999, 39],
    [20, 0.999, 3596],
    [1, 0, 1],
  ])('attempt %i with random %f → %i s', (attempt, r, expected) => {
    expect(backoffSeconds({ ...base, attempt, random: () => r })).toBe(expected);
  });

  it('lets Retry-After win, capped and at least 1 s', () => {
    expect(backoffSeconds({ ...base, attempt: 1, retryAfterSeconds: 120, random: () => 0 })).toBe(120);
    expect(backoffSeconds({ ...base, attempt: 1, retryAfterSeconds: 99_999, random: () => 0 })).toBe(3600);
    expect(backoffSeconds({ ...base, attempt: 1, retryAfterSeconds: 0, random: () => 0.9 })).toBe(1);
  });

  it('never exceeds SQS visibility limit even with a larger cap', () => {
    expect(
      backoffSeconds({ baseSeconds: 40_000, capSeconds: 100_000, attempt: 5, random: () => 0.999 }),
    ).toBeLessThanOrEqual(43_200);
  });
});

describe('filterHeaders', () => {
  const original = {
    'Content-Type': 'application/json',
    Authorization: 'Bearer secret',
    Cookie: 'a=b',
    'Proxy-Authorization': 'Basic x',
    Connection: 'keep-alive',
    'Keep-Alive': 'timeout=5',
    'Transfer-Encoding': 'chunked',
    Host: 'example.com',
    'Content-Length': '12',
    'X-Custom': 'kept',
    'Idempotency-Key': 'from-genesys',
    'Bad Name': 'x',
    'X-Injected': 'a\r\nb',
  };
  it('drops hop-by-hop, Host, Content-Length, credentials and malformed headers', () => {
    const { headers, stripped } = filterHeaders(original, { forwardCredentials: false });
    expect(headers).toEqual({ 'Content-Type': 'application/json', 'X-Custom': 'kept' });
    expect(stripped).toEqual(
      expect.arrayContaining([
        'Authorization',
        'Cookie',
        'Proxy-Authorization',
        'Host',
        'Bad Name',
        'X-Injected',
      ]),
    );
  });

  it('forwards credentials only when the operator opts in', () => {
    const { headers } = filterHeaders(original, { forwardCredentials: true });
    expect(headers.Authorization).toBe('Bearer secret');
    expect(headers.Cookie).toBe('a=b');
    expect(headers['Proxy-Authorization']).toBeUndefined();
  });

  it('accepts anything as input without throwing', () => {
    for (const v of [null, 1, 'x', [], [['a', 'b']]])
      expect(filterHeaders(v, { forwardCredentials: false }).headers).toEqual({});
  });
});

describe('serialiseBody', () => {
  it.each([
    [{ a: 1 }, {}, '{"a":1}', 'application/json'],
    ['{"a": 1}', {}, '{"a": 1}', 'application/json'],
    ['plain words', {}, 'plain words', 'text/plain; charset=utf-8'],
    ['{not json', {}, '{not json', 'text/plain; charset=utf-8'],
    ['<x/>', { 'content-type': 'application/xml' }, '<x/>', 'application/xml'],
    [[1, 2], {}, '[1,2]', 'application/json'],
    [null, {}, 'null', 'application/json'],
  ])('%j → exact text and content type', (body, headers, text, contentType) => {
    expect(serialiseBody(body, headers)).toEqual({ text, contentType });
  });
});

describe('eventKey', () => {
  it('is the same for the same webhook, URL and body and differs otherwise', () => {
    const k = eventKey('w', 'http://a/x', 'body');
    expect(k).toMatch(/^[a-f0-9]{64}$/);
    expect(eventKey('w', 'http://a/x', 'body')).toBe(k);
    expect(eventKey('w2', 'http://a/x', 'body')).not.toBe(k);
    expect(eventKey('w', 'http://a/y', 'body')).not.toBe(k);
    expect(eventKey('w', 'http://a/x', 'body ')).not.toBe(k);
  });
});

describe('targetRefusal', () => {
  it.each([
    ['https://hooks.example.com/x', [], undefined],
    ['http://127.0.0.1:8080/x', [], /loopback/],
    [undefined, [], /no target URL/],
    ['', [], /no target URL/],
    ['not a url', [], /not a valid URL/],
    ['ftp://example.com/x', [], /scheme ftp is not allowed/],
    ['file:///etc/passwd', [], /scheme file/],
    ['http://169.254.169.254/latest/meta-data', [], /link-local or cloud metadata/],
    ['http://[fd00:ec2::254]/', [], /link-local or cloud metadata/],
    ['http://[::ffff:169.254.169.254]/', [], /link-local or cloud metadata/],
    ['http://metadata.google.internal/', [], /metadata/],
    ['https://hooks.example.com/x', ['hooks.example.com'], undefined],
    ['https://a.hooks.example.com/x', ['*.hooks.example.com'], undefined],
    ['https://evil.com/x', ['hooks.example.com'], /not in TARGET_ALLOWED_HOSTS/],
    ['https://hooks.example.com:8443/x', ['hooks.example.com:443'], /not in TARGET_ALLOWED_HOSTS/],
  ])('%s with allow-list %j', (url, allowed, expected) => {
    const refusal = targetRefusal(url, { ...PUBLIC_TARGETS_ONLY, TARGET_ALLOWED_HOSTS: allowed });
    if (expected === undefined) expect(refusal).toBeUndefined();
    else expect(refusal).toMatch(expected);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseDelivery } from '../../lambdas/shared/domain/normalise-delivery';
import { retryMessageSchema, toQueueBody } from '../../lambdas/shared/domain/retry-message';
import { PUBLIC_TARGETS_ONLY } from '../../lambdas/shared/domain/target';

const options = {
  webhookId: 'wh-1',
  forwardCredentials: false,
  targets: PUBLIC_TARGETS_ONLY,
  now: new Date('2026-11-28T13:00:00.000Z'),
};
const entry = {
  id: 'dlv-1',
  webhookId: 'wh-1',
  status: 'failed',
  httpStatusCode: 503,
  errorMessage: 'Service Unavailable',
  body: { a: 1 },
  headers: { 'Content-Type': 'application/json', Authorization: 'Bearer t', 'X-Trace': 'abc' },
  webhookUrl: 'https://hooks.example.com/in',
  dateCreated: '2026-11-28T12:59:00.123Z',
};

describe('normaliseDelivery', () => {
  it('builds a valid retry message carrying everything an operator needs', () => {
    const result = normaliseDelivery(entry, options);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(retryMessageSchema.parse(result.message)).toEqual(result.message);
    expect(result.message).toMatchObject({
      deliveryId: 'dlv-1',
      webhookId: 'wh-1',
      targetUrl: 'https://hooks.example.com/in',
      body: '{"a":1}',
      contentType: 'application/json',
      originalStatus: 503,
      originalError: 'Service Unavailable',
      failedAt: '2026-11-28T12:59:00.123Z',
      headers: { 'Content-Type': 'application/json', 'X-Trace': 'abc' },
      strippedHeaders: ['Authorization'],
    });
  });

  it('gives repeated attempts of one event the same key', () => {
    const a = normaliseDelivery(entry, options);
    const b = normaliseDelivery({ ...entry, id: 'dlv-2', dateCreated: '2026-11-28T12:59:30.000Z' }, options);
    expect(a.ok && b.ok && a.message.eventKey === b.message.eventKey).toBe(true);
  });

  it.each([
    [null, /not an object/],
    [[1], /not an object/],
    [{ ...entry, id: undefined }, /no id/],
    [{ ...entry, status: 'succeeded' }, /status is "succeeded"/],
    [{ ...entry, webhookUrl: undefined }, /no target URL/],
    [{ ...entry, webhookUrl: 'ftp://x/y' }, /scheme ftp/],
    [{ ...entry, dateCreated: 'yesterday' }, /dateCreated/],
    [{ ...entry, body: undefined }, /no body/],
    [{ ...entry, headers: 'x' }, /headers is not an object/],
    [{ ...entry, webhookId: 'other' }, /belongs to webhook "other"/],
    [{ ...entry, body: 'x'.repeat(1_100_000) }, /over the SQS limit/],
  ])('refuses %#: with a reason', (input, reason) => {
    const result = normaliseDelivery(input, options);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('never throws and always yields a valid message or a reason, whatever the entry', () => {
    const arbitraryEntry = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          id: fc.oneof(fc.string(), fc.jsonValue()),
          webhookId: fc.constantFrom('wh-1', 'wh-2'),
          status: fc.constantFrom('failed', 'succeeded', 'weird'),
          httpStatusCode: fc.oneof(fc.integer(), fc.constant(null), fc.jsonValue()),
          body: fc.jsonValue(),
          headers: fc.oneof(
            fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.jsonValue())),
            fc.jsonValue(),
          ),
          webhookUrl: fc.oneof(fc.webUrl(), fc.string(), fc.constant('http://127.0.0.1:1/x')),
          dateCreated: fc.oneof(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            fc.string(),
          ),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(arbitraryEntry, (value) => {
        const result = normaliseDelivery(value, options);
        if (result.ok) expect(retryMessageSchema.safeParse(result.message).success).toBe(true);
        else expect(result.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('toQueueBody', () => {
  it('round-trips any well-formed body and holds only characters every SQS implementation accepts', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), (text, binary) => {
        for (const body of [text, binary.isWellFormed() ? binary : text]) {
          const result = normaliseDelivery({ ...entry, body }, options);
          if (!result.ok) return;
          const queued = toQueueBody(result.message);
          expect(/^[\t\n\r\x20-\uD7FF\uE000-\uFFFD]*$/.test(queued)).toBe(true);
          expect(JSON.parse(queued).body).toBe(body);
        }
      }),
      { numRuns: 300 },
    );
  });
});

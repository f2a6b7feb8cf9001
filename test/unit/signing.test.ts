import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { SigningWebhookSender, signatureHeader } from '../../lambdas/shared/adapters/signing-webhook-sender';
import { parseSigningSecret, parseTargetVersions } from '../../lambdas/shared/domain/signing-secret';
import {
  deriveTargetKey,
  parseSigningTarget,
  signingTargetOf,
  targetKeys,
} from '../../lambdas/shared/domain/target-signing-key';
import { ConfigError, DeliveryNotSentError, PermanentDeliveryError } from '../../lambdas/shared/errors';
import { parseSigningSettings } from '../../lambdas/shared/settings';
import { FakeSender } from './redeliver-fakes';

/** The Standard Webhooks specification's test vector. */
const VECTOR = {
  key: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

/** The target the requests below are for, and the signature the vector's key gives it (its derived key's). */
const TARGET = 'webhook:wh-1';
const SIGNED = signatureHeader(
  [deriveTargetKey(VECTOR.key, TARGET)],
  VECTOR.id,
  new Date(VECTOR.timestamp * 1000),
  VECTOR.body,
);

const newKey = () => `whsec_${randomBytes(32).toString('base64')}`;

function signer(secret: () => Promise<string | undefined>, at = VECTOR.timestamp) {
  const inner = new FakeSender();
  let now = new Date(at * 1000);
  const readErrors: Error[] = [];
  const sender = new SigningWebhookSender({
    sender: inner,
    secret,
    secretSource: 'test-secret',
    now: () => now,
    onReadError: (e) => readErrors.push(e),
  });
  const advance = (seconds: number) => {
    now = new Date(now.getTime() + seconds * 1000);
  };
  return { sender, inner, readErrors, advance };
}

const request = (body: string, headers: Record<string, string> = {}) => ({
  url: 'https://hooks.example.com/a',
  headers: { 'Idempotency-Key': VECTOR.id, 'Content-Type': 'application/json', ...headers },
  body,
  signingTarget: TARGET,
});

describe('SigningWebhookSender', () => {
  it('signs as the specification’s test vector says', () => {
    expect(signatureHeader([VECTOR.key], VECTOR.id, new Date(VECTOR.timestamp * 1000), VECTOR.body)).toBe(
      VECTOR.signature,
    );
  });

  it('signs with the target’s derived key, which verifies the request with the standardwebhooks package', async () => {
    const { sender, inner } = signer(async () => VECTOR.key);
    await sender.send(request(VECTOR.body));
    expect(inner.requests[0]?.headers).toEqual({
      'Idempotency-Key': VECTOR.id,
      'Content-Type': 'application/json',
      'webhook-id': VECTOR.id,
      'webhook-timestamp': String(VECTOR.timestamp),
      'webhook-signature': SIGNED,
    });
    expect(SIGNED).not.toBe(VECTOR.signature);
    const verifier = new Webhook(deriveTargetKey(VECTOR.key, TARGET));
    const headers = inner.requests[0]?.headers ?? {};
    const at = new Date(VECTOR.timestamp * 1000);
    expect(verifier.sign(VECTOR.id, at, VECTOR.body)).toBe(headers['webhook-signature']);
    expect(inner.requests[0]?.body).toBe(VECTOR.body);
  });

  it('replaces signature headers the original request carried, whatever their case', async () => {
    const { sender, inner } = signer(async () => VECTOR.key);
    await sender.send(
      request(VECTOR.body, {
        'Webhook-Id': 'forged',
        'WEBHOOK-SIGNATURE': 'v1,forged',
        'webhook-timestamp': '1',
      }),
    );
    const headers = inner.requests[0]?.headers ?? {};
    expect(Object.keys(headers).filter((h) => h.toLowerCase().startsWith('webhook-'))).toEqual([
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
    ]);
    expect(headers['webhook-signature']).toBe(SIGNED);
  });

  it('signs with every key during a rotation; a target knowing either one verifies', async () => {
    const [current, previous] = [newKey(), newKey()];
    const { sender, inner } = signer(async () => JSON.stringify({ current, previous }), Date.now() / 1000);
    await sender.send(request('{"a":1}'));
    const headers = inner.requests[0]?.headers ?? {};
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    for (const key of [current, previous]) {
      expect(new Webhook(deriveTargetKey(key, TARGET)).verify('{"a":1}', headers)).toEqual({ a: 1 });
    }
    expect(() => new Webhook(newKey()).verify('{"a":1}', headers)).toThrow('No matching signature');
  });

  it('timestamps each attempt: the signature changes, webhook-id stays the Idempotency-Key', async () => {
    const { sender, inner, advance } = signer(async () => VECTOR.key);
    await sender.send(request(VECTOR.body));
    advance(7);
    await sender.send(request(VECTOR.body));
    const [a, b] = inner.requests.map((r) => r.headers);
    expect(a?.['webhook-id']).toBe(VECTOR.id);
    expect(b?.['webhook-id']).toBe(VECTOR.id);
    expect(Number(b?.['webhook-timestamp']) - Number(a?.['webhook-timestamp'])).toBe(7);
    expect(b?.['webhook-signature']).not.toBe(a?.['webhook-signature']);
  });

  it('refuses to sign a request that names no target, as a permanent failure', async () => {
    const { sender, inner } = signer(async () => VECTOR.key);
    const { signingTarget: _, ...untargeted } = request('x');
    await expect(sender.send(untargeted)).rejects.toBeInstanceOf(PermanentDeliveryError);
    expect(inner.requests).toHaveLength(0);
  });

  it('refuses to send a request without an Idempotency-Key, as a permanent failure', async () => {
    const { sender, inner } = signer(async () => VECTOR.key);
    const error = await sender
      .send({ url: 'https://hooks.example.com/a', headers: {}, body: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(inner.requests).toHaveLength(0);
  });

  it('does not call the target while no key could ever be read; the error names the secret, not its text', async () => {
    const text = 'whsec_tooShort0';
    const { sender, inner } = signer(async () => text);
    const error = await sender.send(request('x')).catch((e: unknown) => e);
    // Not sent: no retry budget spent, the target gate told nothing (see redeliver).
    expect(error).toBeInstanceOf(DeliveryNotSentError);
    expect((error as DeliveryNotSentError).retryAfterSeconds).toBe(60);
    expect(String((error as Error).message)).toContain('test-secret');
    expect(String((error as Error).message)).not.toContain(text);
    expect(inner.requests).toHaveLength(0);
  });

  it('keeps signing with the keys read before when a re-read fails, and asks again 30 s later', async () => {
    let reads = 0;
    let fail = false;
    const { sender, inner, readErrors, advance } = signer(async () => {
      reads += 1;
      if (fail) throw new Error('ThrottlingException: rate exceeded');
      return VECTOR.key;
    });
    await sender.send(request(VECTOR.body));
    fail = true;
    await sender.send(request(VECTOR.body));
    await sender.send(request(VECTOR.body));
    expect(inner.requests.map((r) => r.headers['webhook-signature'])).toEqual([SIGNED, SIGNED, SIGNED]);
    expect(reads).toBe(2);
    expect(readErrors.map((e) => e.message)).toEqual(['ThrottlingException: rate exceeded']);
    advance(31);
    fail = false;
    await sender.send(request(VECTOR.body));
    expect(reads).toBe(3);
  });

  it('picks up a rotated secret on the next read', async () => {
    const next = newKey();
    let text = VECTOR.key;
    const { sender, inner } = signer(async () => text, Date.now() / 1000);
    await sender.send(request('{}'));
    text = `${next} ${VECTOR.key}`;
    await sender.send(request('{}'));
    const [before, after] = inner.requests.map((r) => r.headers);
    expect(before?.['webhook-signature']?.split(' ')).toHaveLength(1);
    expect(after?.['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(() => new Webhook(deriveTargetKey(next, TARGET)).verify('{}', after ?? {})).not.toThrow();
  });

  it('with maxAgeSeconds, reads the secret again only once the keys are that old', async () => {
    let reads = 0;
    let now = new Date(VECTOR.timestamp * 1000);
    const sender = new SigningWebhookSender({
      sender: new FakeSender(),
      secret: async () => {
        reads += 1;
        return VECTOR.key;
      },
      secretSource: 'test-secret',
      maxAgeSeconds: 300,
      now: () => now,
    });
    await sender.send(request('x'));
    now = new Date(now.getTime() + 299_000);
    await sender.send(request('x'));
    expect(reads).toBe(1);
    now = new Date(now.getTime() + 2_000);
    await sender.send(request('x'));
    expect(reads).toBe(2);
  });

  it('shares one read of the secret among concurrent sends', async () => {
    let reads = 0;
    const { sender } = signer(async () => {
      reads += 1;
      await new Promise((r) => setTimeout(r, 5));
      return VECTOR.key;
    });
    await Promise.all(Array.from({ length: 10 }, () => sender.send(request('x'))));
    expect(reads).toBe(1);
  });
});

describe('one key per target', () => {
  const secret = newKey();
  const now = Date.now() / 1000;

  it('derives a different, stable key for each route and webhook, and for each version', () => {
    const targets = ['route:orders', 'route:billing', 'webhook:wh-1', 'webhook:wh-2'];
    const keys = targets.map((t) => deriveTargetKey(secret, t));
    expect(new Set(keys).size).toBe(4);
    expect(keys.map((k) => parseSigningSecret(k, 'derived'))).toEqual(keys.map((k) => [k]));
    expect(deriveTargetKey(secret, 'route:orders')).toBe(keys[0]);
    expect(deriveTargetKey(secret, 'route:orders', 2)).not.toBe(keys[0]);
    expect(deriveTargetKey(newKey(), 'route:orders')).not.toBe(keys[0]);
    expect(() => deriveTargetKey(secret, 'route:orders', 0)).toThrow(ConfigError);
  });

  it('a forgery: a request signed with target A’s key is rejected by target B', async () => {
    const a = 'route:orders';
    const b = 'webhook:wh-1';
    const { sender, inner } = signer(async () => secret, now);
    await sender.send({ ...request('{"to":"a"}'), signingTarget: a });
    const toA = inner.requests[0]?.headers ?? {};
    // Target A accepts its own request …
    expect(new Webhook(deriveTargetKey(secret, a)).verify('{"to":"a"}', toA)).toEqual({ to: 'a' });
    // … and, holding its key, signs one for B: B (and the real signer's signature for B) refuse it.
    const at = new Date(Math.floor(now) * 1000);
    const forged = {
      'webhook-id': 'evt-forged',
      'webhook-timestamp': String(Math.floor(now)),
      'webhook-signature': signatureHeader([deriveTargetKey(secret, a)], 'evt-forged', at, '{"to":"b"}'),
    };
    expect(() => new Webhook(deriveTargetKey(secret, b)).verify('{"to":"b"}', forged)).toThrow(
      'No matching signature',
    );
    // A request for B, signed by the redeliverer, verifies at B and not at A.
    await sender.send({ ...request('{"to":"b"}'), signingTarget: b });
    const toB = inner.requests[1]?.headers ?? {};
    expect(new Webhook(deriveTargetKey(secret, b)).verify('{"to":"b"}', toB)).toEqual({ to: 'b' });
    expect(() => new Webhook(deriveTargetKey(secret, a)).verify('{"to":"b"}', toB)).toThrow();
    // Nor does the secret's own key verify anything: no target holds it.
    expect(() => new Webhook(secret).verify('{"to":"b"}', toB)).toThrow();
  });

  it('rotates one target: both versions sign while listed, other targets keep one signature', async () => {
    let text = JSON.stringify({ current: secret, targets: { 'route:orders': [2, 1] } });
    const { sender, inner } = signer(async () => text, now);
    await sender.send({ ...request('{}'), signingTarget: 'route:orders' });
    await sender.send({ ...request('{}'), signingTarget: 'route:billing' });
    const [orders, billing] = inner.requests.map((r) => r.headers);
    expect(orders?.['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(billing?.['webhook-signature']?.split(' ')).toHaveLength(1);
    for (const v of [1, 2]) {
      expect(() =>
        new Webhook(deriveTargetKey(secret, 'route:orders', v)).verify('{}', orders ?? {}),
      ).not.toThrow();
    }
    text = JSON.stringify({ current: secret, targets: { 'route:orders': [2] } });
    const fresh = signer(async () => text, now);
    await fresh.sender.send({ ...request('{}'), signingTarget: 'route:orders' });
    const after = fresh.inner.requests[0]?.headers ?? {};
    expect(() => new Webhook(deriveTargetKey(secret, 'route:orders', 1)).verify('{}', after)).toThrow();
    expect(targetKeys([secret], 'route:orders', { 'route:orders': [2] })).toEqual([
      deriveTargetKey(secret, 'route:orders', 2),
    ]);
  });

  it('names targets as route:<name> and webhook:<id>, and reads the versions the secret lists', () => {
    expect(signingTargetOf({ route: 'orders', webhookId: 'eventbridge:orders' })).toBe('route:orders');
    expect(signingTargetOf({ webhookId: 'wh-1' })).toBe('webhook:wh-1');
    expect(parseSigningTarget('webhook:wh-1')).toBe('webhook:wh-1');
    expect(() => parseSigningTarget('orders')).toThrow(/route:<name> or webhook:<id>/);
    expect(parseTargetVersions(secret, 's')).toEqual({});
    expect(
      parseTargetVersions(JSON.stringify({ current: secret, targets: { 'webhook:a': [3, 2] } }), 's'),
    ).toEqual({
      'webhook:a': [3, 2],
    });
    for (const targets of [
      [],
      { orders: [2] },
      { 'route:o': [] },
      { 'route:o': [0] },
      { 'route:o': [2, 2] },
    ]) {
      expect(() => parseTargetVersions(JSON.stringify({ current: secret, targets }), 's')).toThrow(
        ConfigError,
      );
    }
  });
});

describe('parseSigningSecret', () => {
  const k24 = VECTOR.key; // 24 bytes
  const bare48 = 'Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12Wx34'; // what the stack generates: 36 bytes

  it.each([
    ['one key', k24, [k24]],
    ['a key without the prefix (the generated form)', bare48, [`whsec_${bare48}`]],
    ['keys separated by spaces, newest first', `${bare48}  ${k24}\n`, [`whsec_${bare48}`, k24]],
    ['JSON with current only', JSON.stringify({ current: k24 }), [k24]],
    [
      'JSON with current and previous',
      JSON.stringify({ current: bare48, previous: k24 }),
      [`whsec_${bare48}`, k24],
    ],
    ['JSON with an empty previous', JSON.stringify({ current: k24, previous: '' }), [k24]],
    ['the same key twice', `${k24} ${k24}`, [k24]],
    ['a 64-byte key', `whsec_${'A'.repeat(84)}AA==`, [`whsec_${'A'.repeat(84)}AA==`]],
  ])('reads %s', (_name, text, keys) => {
    expect(parseSigningSecret(text, 's')).toEqual(keys);
  });

  it.each([
    ['empty', '', /is empty/],
    ['white space', '  \n', /is empty/],
    ['not base64', 'whsec_not-base64-at-all!!!!!!!!!!!!!!!!', /followed by base64/],
    ['base64 of the wrong length', `whsec_${'A'.repeat(33)}`, /followed by base64/],
    [
      'too short (16 bytes)',
      `whsec_${randomBytes(16).toString('base64')}`,
      /24–64 bytes \(it decodes to 16\)/,
    ],
    [
      'too long (66 bytes)',
      `whsec_${randomBytes(66).toString('base64')}`,
      /24–64 bytes \(it decodes to 66\)/,
    ],
    ['broken JSON', '{"current": ', /not valid JSON/],
    ['JSON without current', JSON.stringify({ previous: VECTOR.key }), /"current"/],
    ['JSON with a non-string previous', JSON.stringify({ current: VECTOR.key, previous: 3 }), /"previous"/],
    ['a bad second key', `${VECTOR.key} whsec_short`, /\(key 2\)/],
  ])('rejects %s with a ConfigError that never shows the text', (_name, text, message) => {
    let error: unknown;
    try {
      parseSigningSecret(text, 'my-secret');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain('my-secret');
    for (const key of text.match(/whsec_[^\s"]+/g) ?? []) expect((error as Error).message).not.toContain(key);
  });
});

describe('parseSigningSettings', () => {
  it('signs by default and reads the secret id or the local secret', () => {
    expect(parseSigningSettings({})).toEqual({ SIGN_REDELIVERIES: true });
    expect(parseSigningSettings({ SIGN_REDELIVERIES: 'false', SIGNING_SECRET_ID: ' arn:x ' })).toEqual({
      SIGN_REDELIVERIES: false,
      SIGNING_SECRET_ID: 'arn:x',
    });
  });

  it('rejects a SIGN_REDELIVERIES that is not a boolean, naming it', () => {
    expect(() => parseSigningSettings({ SIGN_REDELIVERIES: 'maybe' })).toThrow(
      /SIGN_REDELIVERIES must be true or false/,
    );
  });
});

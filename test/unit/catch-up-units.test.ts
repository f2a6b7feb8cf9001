import { describe, expect, it } from 'vitest';
import { SlidingWindowLimiter } from '../../lambdas/shared/adapters/sliding-window-limiter';
import { nestedDeeperThan } from '../../lambdas/shared/domain/body';
import { normaliseDelivery, quote, shortId } from '../../lambdas/shared/domain/normalise-delivery';
import { parsePipelineSettings } from '../../lambdas/shared/settings';

describe('POLL_OVERLAP_SECONDS', () => {
  it('defaults to 420 s: the 300 s late listing, 60 s of clock skew and a minute of margin', () => {
    expect(parsePipelineSettings({ WEBHOOK_ID: 'w' }).POLL_OVERLAP_SECONDS).toBe(420);
  });

  it.each(['0', '300', '359'])('refuses %s s, below the late listing plus the skew allowance', (value) => {
    expect(() => parsePipelineSettings({ WEBHOOK_ID: 'w', POLL_OVERLAP_SECONDS: value })).toThrow(
      /POLL_OVERLAP_SECONDS must be a whole number of seconds from 360 to 3600/,
    );
  });

  it('accepts the minimum, 360 s', () => {
    expect(parsePipelineSettings({ WEBHOOK_ID: 'w', POLL_OVERLAP_SECONDS: '360' }).POLL_OVERLAP_SECONDS).toBe(
      360,
    );
  });
});

describe('SlidingWindowLimiter.capacity', () => {
  it('counts what fits until a deadline, as requests leave the rolling window', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter(10, 60_000, () => now);
    expect(limiter.capacity(5_000)).toBe(10);
    for (let i = 0; i < 10; i++) limiter.record();
    now = 1_000;
    expect(limiter.capacity(30_000)).toBe(0);
    // At 60 s the ten sent at 0 leave the window.
    expect(limiter.capacity(60_000)).toBe(10);
    expect(limiter.capacity(60_000, 70_000)).toBe(0);
    expect(limiter.capacity(130_000)).toBe(20);
  });
});

describe('normalisation of oversized input', () => {
  const base = {
    webhookId: 'w',
    status: 'failed',
    webhookUrl: 'https://hooks.example.com/x',
    dateCreated: '2026-11-28T12:00:00.000Z',
    body: {},
  };
  const options = {
    webhookId: 'w',
    forwardCredentials: false,
    targets: { TARGET_ALLOWED_HOSTS: [], TARGET_ALLOW_LOOPBACK: false, TARGET_ALLOW_PRIVATE: false },
    now: new Date(),
  };

  it('measures nesting without recursion, so no depth overflows it', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(nestedDeeperThan(deep, 256)).toBe(true);
    expect(nestedDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
  });

  it.each([
    [
      'a body nested 6,000 levels deep',
      { body: JSON.parse(`${'['.repeat(6_000)}${']'.repeat(6_000)}`) },
      /nests more than 256 levels/,
    ],
    ['a 3,000-character id', { id: 'i'.repeat(3_000) }, /^id is 3000 characters, over 256$/],
    [
      'a 450 KB URL',
      { webhookUrl: `https://hooks.example.com/${'u'.repeat(450_000)}` },
      /^webhookUrl is \d+ characters, over 8192$/,
    ],
    [
      'a 500,000-character status',
      { status: 's'.repeat(500_000) },
      /^status is "s{79}… \(500002 characters\), not "failed"$/,
    ],
  ])('refuses %s with a short reason', (_what, change, reason) => {
    const n = normaliseDelivery({ ...base, id: 'd-1', ...change }, options);
    expect(n.ok).toBe(false);
    if (n.ok) return;
    expect(n.reason).toMatch(reason);
    expect(n.reason.length).toBeLessThan(200);
    expect(n.deliveryId.length).toBeLessThanOrEqual(256);
  });

  it('shortens long ids to a prefix and a hash, and quotes values briefly', () => {
    expect(shortId('a'.repeat(300))).toMatch(/^a{64}…sha256:[0-9a-f]{32}$/);
    expect(shortId('short')).toBe('short');
    expect(quote({ deep: true })).toBe('an object');
    expect(quote(undefined)).toBe('undefined');
  });
});

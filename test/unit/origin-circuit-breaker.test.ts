import { describe, expect, it } from 'vitest';
import { OriginCircuitBreaker } from '../../lambdas/shared/adapters/origin-circuit-breaker';
import { RetryableDeliveryError } from '../../lambdas/shared/errors';
import type { SendResult, WebhookSender } from '../../lambdas/shared/ports';

/** A sender on a fake clock: `stall` origins take the whole timeout and fail; others answer 200 at once. */
function fakeSender(clock: { now: number }, stalling: Set<string>) {
  const calls: string[] = [];
  const sender: WebhookSender = {
    async send({ url }): Promise<SendResult> {
      calls.push(url);
      const origin = new URL(url).origin;
      if (stalling.has(origin)) {
        clock.now += 10_000;
        throw new RetryableDeliveryError(`request to ${origin} timed out`);
      }
      clock.now += 5;
      return { status: 200, durationMs: 5 };
    },
  };
  return { sender, calls };
}

const request = (url: string) => ({ url, headers: {}, body: '{}' });

describe('OriginCircuitBreaker', () => {
  it('opens after two stalls in a row, fails fast with a Retry-After, and leaves other origins alone', async () => {
    const clock = { now: 0 };
    const dead = new Set(['http://dead.example']);
    const { sender, calls } = fakeSender(clock, dead);
    const breaker = new OriginCircuitBreaker({ sender, timeoutSeconds: 10, now: () => clock.now });
    for (let i = 0; i < 2; i += 1)
      await expect(breaker.send(request('http://dead.example/a'))).rejects.toThrow(/timed out/);
    const before = calls.length;
    const error = await breaker.send(request('http://dead.example/b')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect((error as RetryableDeliveryError).retryAfterSeconds).toBe(30);
    expect((error as Error).message).toMatch(/not calling http:\/\/dead\.example/);
    expect(calls.length).toBe(before); // the dead origin was not called
    await expect(breaker.send(request('http://alive.example/x'))).resolves.toMatchObject({ status: 200 });
  });

  it('tries the origin again once the circuit has been open long enough, and closes it on an answer', async () => {
    const clock = { now: 0 };
    const dead = new Set(['http://flaky.example']);
    const { sender, calls } = fakeSender(clock, dead);
    const breaker = new OriginCircuitBreaker({ sender, timeoutSeconds: 10, now: () => clock.now });
    for (let i = 0; i < 2; i += 1)
      await breaker.send(request('http://flaky.example/')).catch(() => undefined);
    clock.now += 31_000;
    dead.clear();
    await expect(breaker.send(request('http://flaky.example/'))).resolves.toMatchObject({ status: 200 });
    expect(calls).toHaveLength(3);
    await expect(breaker.send(request('http://flaky.example/'))).resolves.toMatchObject({ status: 200 });
  });

  it('does not count fast failures (refused connections) as stalls', async () => {
    const clock = { now: 0 };
    const refused: WebhookSender = {
      async send() {
        clock.now += 2;
        throw new RetryableDeliveryError('ECONNREFUSED');
      },
    };
    const breaker = new OriginCircuitBreaker({ sender: refused, timeoutSeconds: 10, now: () => clock.now });
    for (let i = 0; i < 5; i += 1)
      await expect(breaker.send(request('http://down.example/'))).rejects.toThrow(/ECONNREFUSED/);
  });

  it('lets one probe through when the open time is over, failing the rest fast, and doubles the open time if it stalls', async () => {
    const clock = { now: 0 };
    let release: (() => void) | undefined;
    const calls: string[] = [];
    const hanging: WebhookSender = {
      async send({ url }) {
        calls.push(url);
        // The probe stalls: it returns only when the test releases it, after the whole timeout.
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        clock.now += 10_000;
        throw new RetryableDeliveryError('timed out');
      },
    };
    const breaker = new OriginCircuitBreaker({ sender: hanging, timeoutSeconds: 10, now: () => clock.now });
    for (let i = 0; i < 2; i += 1) {
      const pending = breaker.send(request('http://dead.example/')).catch(() => undefined);
      release?.();
      await pending;
    }
    clock.now += 31_000; // past the first open period of 30 s
    const probe = breaker.send(request('http://dead.example/probe')).catch((e: unknown) => e);
    const other = await breaker.send(request('http://dead.example/other')).catch((e: unknown) => e);
    expect((other as Error).message).toMatch(/not calling/);
    expect(calls.filter((c) => c.endsWith('/other'))).toHaveLength(0);
    release?.();
    await probe;
    clock.now += 31_000; // 30 s later the circuit is still open: it now stays open 60 s
    const stillOpen = await breaker.send(request('http://dead.example/x')).catch((e: unknown) => e);
    expect((stillOpen as RetryableDeliveryError).retryAfterSeconds).toBe(29);
  });
});

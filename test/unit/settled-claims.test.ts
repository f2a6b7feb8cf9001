import { describe, expect, it } from 'vitest';
import { SettledClaims, withSettledClaims } from '../../lambdas/poller/settled-claims';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import type { Ledger } from '../../lambdas/shared/ports';

const message = (eventKey: string, deliveryId = `${eventKey}-d`) =>
  ({ eventKey, deliveryId }) as RetryMessage;

/** A ledger that answers claims from a map of statuses and counts what it is asked. */
function fakeLedger(statuses = new Map<string, 'pending' | 'enqueued'>()) {
  const calls = { claim: 0, markEnqueued: 0 };
  let failConfirm = false;
  const ledger = {
    async claim(m: RetryMessage) {
      calls.claim += 1;
      if (statuses.get(m.eventKey) === 'enqueued') return 'duplicate' as const;
      statuses.set(m.eventKey, 'pending');
      return 'new' as const;
    },
    async markEnqueued(keys: readonly string[]) {
      calls.markEnqueued += 1;
      if (failConfirm) throw new Error('DynamoDB is down');
      for (const k of keys) statuses.set(k, 'enqueued');
    },
  } as Partial<Ledger> as Ledger;
  const failConfirmations = (on: boolean) => {
    failConfirm = on;
  };
  return { ledger, calls, statuses, failConfirmations };
}

describe('SettledClaims', () => {
  it('keeps at most its capacity, evicting the least recently used', () => {
    const settled = new SettledClaims(2);
    settled.add('a');
    settled.add('b');
    expect(settled.has('a')).toBe(true); // a is now the most recent
    settled.add('c');
    expect(settled.size).toBe(2);
    expect(settled.has('b')).toBe(false);
    expect(settled.has('a')).toBe(true);
    expect(settled.has('c')).toBe(true);
  });

  it('holds nothing with a capacity of 0', () => {
    const settled = new SettledClaims(0);
    settled.add('a');
    expect(settled.has('a')).toBe(false);
    expect(settled.size).toBe(0);
  });
});

describe('withSettledClaims', () => {
  it('answers an entry the ledger called duplicate from memory the next time', async () => {
    const fake = fakeLedger(new Map([['e1', 'enqueued']]));
    const ledger = withSettledClaims(fake.ledger, new SettledClaims());
    expect(await ledger.claim(message('e1'))).toBe('duplicate');
    expect(await ledger.claim(message('e1'))).toBe('duplicate');
    expect(fake.calls.claim).toBe(1);
  });

  it('asks the ledger for another delivery id of a known event (it is remembered on the event)', async () => {
    const fake = fakeLedger(new Map([['e1', 'enqueued']]));
    const ledger = withSettledClaims(fake.ledger, new SettledClaims());
    await ledger.claim(message('e1', 'd1'));
    await ledger.claim(message('e1', 'd2'));
    expect(fake.calls.claim).toBe(2);
  });

  it('remembers a new claim only once its enqueue is confirmed', async () => {
    const fake = fakeLedger();
    const ledger = withSettledClaims(fake.ledger, new SettledClaims());
    expect(await ledger.claim(message('e1'))).toBe('new');
    // Not confirmed (the send failed): the ledger is asked again, and gives it again.
    expect(await ledger.claim(message('e1'))).toBe('new');
    await ledger.markEnqueued(['e1']);
    expect(await ledger.claim(message('e1'))).toBe('duplicate');
    expect(fake.calls.claim).toBe(2);
  });

  it('does not remember claims whose confirmation failed', async () => {
    const fake = fakeLedger();
    const settled = new SettledClaims();
    const ledger = withSettledClaims(fake.ledger, settled);
    await ledger.claim(message('e1'));
    fake.failConfirmations(true);
    await expect(ledger.markEnqueued(['e1'])).rejects.toThrow(/DynamoDB is down/);
    expect(settled.size).toBe(0);
    expect(await ledger.claim(message('e1'))).toBe('new');
    expect(fake.calls.claim).toBe(2);
  });

  it('does not remember a rejected claim', async () => {
    const settled = new SettledClaims();
    const ledger = withSettledClaims(
      {
        claim: async () => {
          throw new Error('throttled');
        },
      } as Partial<Ledger> as Ledger,
      settled,
    );
    await expect(ledger.claim(message('e1'))).rejects.toThrow(/throttled/);
    expect(settled.size).toBe(0);
  });
});

import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandCounter } from '../../bench/support/command-counter';
import { DynamoDbLedger, ledgerKeys } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { normaliseDelivery } from '../../lambdas/shared/domain/normalise-delivery';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type LocalAws, startLocalAws } from '../../local/local-aws';

/**
 * The ledger's claim on DynamoDB (dynalite over a socket), read first or not (issue 25): a claim of an event that
 * is most likely new skips the read, and answers exactly as the claim with the read does, in every state the
 * event can be in.
 */
let aws: LocalAws;
let ledger: DynamoDbLedger;
const commands = new CommandCounter();
const settings = parsePipelineSettings({ WEBHOOK_ID: 'wh-claim' });
beforeAll(async () => {
  aws = await startLocalAws(settings);
  commands.attach(aws.doc.middlewareStack);
  ledger = new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 30, client: aws.doc });
}, 30_000);
afterAll(async () => {
  await aws?.stop();
});

function message(deliveryId: string, body: unknown): RetryMessage {
  const read = normaliseDelivery(
    {
      id: deliveryId,
      webhookId: 'wh-claim',
      status: 'failed',
      httpStatusCode: 503,
      body,
      headers: { 'Content-Type': 'application/json' },
      webhookUrl: 'https://hooks.example.com/claim',
      dateCreated: '2026-12-03T10:00:00.000Z',
    },
    { webhookId: 'wh-claim', forwardCredentials: false, targets: settings, now: new Date() },
  );
  if (!read.ok) throw new Error(read.reason);
  return read.message;
}

async function item(eventKey: string) {
  const out = await aws.doc.send(
    new GetCommand({
      TableName: aws.tableName,
      Key: { pk: ledgerKeys.event(eventKey) },
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

/** Runs work and counts the commands it sent. */
async function counted<T>(work: () => Promise<T>): Promise<{ value: T; calls: Record<string, number> }> {
  const before = { ...commands.calls };
  const value = await work();
  const calls: Record<string, number> = {};
  for (const [name, n] of Object.entries(commands.calls)) {
    const delta = n - (before[name] ?? 0);
    if (delta > 0) calls[name] = delta;
  }
  return { value, calls };
}

describe('DynamoDbLedger.claim with likelyNew', () => {
  it('claims a new event with one PutItem and no read', async () => {
    const m = message('d-new', { n: 'new' });
    const { value, calls } = await counted(() => ledger.claim(m, { likelyNew: true }));
    expect(value).toBe('new');
    expect(calls).toEqual({ PutItem: 1 });
    expect(await item(m.eventKey)).toMatchObject({ status: 'pending', deliveryId: 'd-new' });
  });

  it('takes a pending claim again (its send was never confirmed), as with the read', async () => {
    const m = message('d-pending', { n: 'pending' });
    expect(await ledger.claim(m)).toBe('new');
    expect(await ledger.claim(m, { likelyNew: true })).toBe('new');
    expect(await ledger.claim(m)).toBe('new');
  });

  it('answers an enqueued event duplicate, and remembers a delivery id it did not know', async () => {
    const m = message('d-first', { n: 'enqueued' });
    expect(await ledger.claim(m, { likelyNew: true })).toBe('new');
    await ledger.markEnqueued([m.eventKey]);
    // The same entry listed again: one failed conditional write, and nothing written.
    const again = await counted(() => ledger.claim(m, { likelyNew: true }));
    expect(again.value).toBe('duplicate');
    expect(again.calls.GetItem).toBeUndefined();
    // Another Genesys attempt of the same event (same body, another delivery id).
    const other = { ...m, deliveryId: 'd-second' };
    expect(await ledger.claim(other, { likelyNew: true })).toBe('duplicate');
    const stored = await item(m.eventKey);
    expect(stored).toMatchObject({ status: 'enqueued', deliveryId: 'd-first' });
    expect([...((stored?.duplicateDeliveryIds as Set<string>) ?? [])]).toEqual(['d-second']);
    // With the read, the same answers.
    expect(await ledger.claim(m)).toBe('duplicate');
    expect(await ledger.claim(other)).toBe('duplicate');
  });

  it('racing claims of a new event: at least one takes it; once it is confirmed, none does', async () => {
    const m = message('d-race', { n: 'race' });
    const answers = await Promise.all([
      ledger.claim(m, { likelyNew: true }),
      ledger.claim({ ...m, deliveryId: 'd-race-2' }, { likelyNew: true }),
      ledger.claim(m),
    ]);
    // A pending claim is taken again by design (its sender may have died), so more than one may say new
    // while it is pending; once it is confirmed, no claim does.
    expect(answers).toContain('new');
    await ledger.markEnqueued([m.eventKey]);
    expect(await ledger.claim(m, { likelyNew: true })).toBe('duplicate');
    expect(await ledger.claim(m)).toBe('duplicate');
  });
});

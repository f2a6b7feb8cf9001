import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandCounter } from '../../bench/support/command-counter';
import { DynamoDbEntityOrderStore, entityKey } from '../../lambdas/shared/adapters/dynamodb-entity-order';
import { endWrite, NO_ENTITY } from '../../lambdas/shared/domain/entity-order';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type LocalAws, startLocalAws } from '../../local/local-aws';

/**
 * The entities of ordered routes on DynamoDB (dynalite over a socket): a registration never conflicts and keeps
 * its first arrival; an end write is conditional on the version read, so of two racing writers one wins.
 */
let aws: LocalAws;
let store: DynamoDbEntityOrderStore;
const commands = new CommandCounter();
beforeAll(async () => {
  aws = await startLocalAws(parsePipelineSettings({ WEBHOOK_ID: 'wh-1' }));
  commands.attach(aws.doc.middlewareStack);
  store = new DynamoDbEntityOrderStore({ tableName: aws.tableName, ttlDays: 7, client: aws.doc });
}, 30_000);
afterAll(async () => {
  await aws?.stop();
  // Calls the intake's and the redeliverer's roles have on the table (least-privilege.test.ts).
  expect(Object.keys(commands.calls).sort()).toEqual(['GetItem', 'UpdateItem']);
});

describe('DynamoDbEntityOrderStore', () => {
  it('reads an entity never written as NO_ENTITY', async () => {
    expect(await store.read({ route: 'r', entity: 'none' })).toEqual(NO_ENTITY);
  });

  it('registers idempotently, keeping the first arrival, while ends race on the version', async () => {
    const ref = { route: 'conversations', entity: 'c-1' };
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    await Promise.all([
      store.register(ref, a, { atMs: 1_000, arrivedMs: 10 }),
      store.register(ref, b, { atMs: 2_000, arrivedMs: 11 }),
    ]);
    await store.register(ref, a, { atMs: 1_000, arrivedMs: 99 });
    const read = await store.read(ref);
    expect(read.version).toBe(0);
    expect([...read.pending]).toEqual(
      expect.arrayContaining([
        [a, { atMs: 1_000, arrivedMs: 10 }],
        [b, { atMs: 2_000, arrivedMs: 11 }],
      ]),
    );
    // Two copies of a ending at once: one write wins; a registration since the read survives either.
    await store.register(ref, 'c'.repeat(64), { atMs: 3_000, arrivedMs: 12 });
    const ends = await Promise.all([
      store.write(ref, endWrite(read, a, 1_000, { kind: 'delivered', announced: [] })),
      store.write(ref, endWrite(read, a, 1_000, { kind: 'dead-lettered' })),
    ]);
    expect(ends.sort()).toEqual([false, true]);
    const after = await store.read(ref);
    expect(after.version).toBe(1);
    expect([...after.pending.keys()].sort()).toEqual([b, 'c'.repeat(64)]);
    // A stale version is refused.
    expect(await store.write(ref, endWrite(read, b, 2_000, { kind: 'delivered', announced: [] }))).toBe(
      false,
    );
    const next = endWrite(after, b, 2_000, { kind: 'dead-lettered' });
    expect(await store.write(ref, next)).toBe(true);
    const last = await store.read(ref);
    expect([last.version, [...last.gaps]]).toEqual([2, [[b, 2_000]]]);
  });

  it('keys an entity by a hash, keeps its texts bounded, and sets the TTL attribute', async () => {
    const ref = { route: 'r', entity: 'x'.repeat(5_000) };
    await store.register(ref, 'd'.repeat(64), { atMs: 1, arrivedMs: 1 });
    const item = (
      await aws.doc.send(new GetCommand({ TableName: aws.tableName, Key: { pk: entityKey(ref) } }))
    ).Item;
    expect(item?.kind).toBe('entity');
    expect(String(item?.entity).length).toBe(256);
    expect(item?.expiresAt).toBeGreaterThan(Date.now() / 1000 + 6 * 86_400);
    expect(entityKey(ref)).toMatch(/^entity#sha256:[0-9a-f]{64}$/);
  });
});

import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandCounter } from '../../bench/support/command-counter';
import { TargetGate } from '../../lambdas/redeliverer/target-gate';
import {
  DynamoDbTargetStateStore,
  targetStateKey,
} from '../../lambdas/shared/adapters/dynamodb-target-state';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type LocalAws, startLocalAws } from '../../local/local-aws';

/**
 * The target gate's shared state on DynamoDB (dynalite over a socket): conditional writes decide every race, and
 * gates in different instances share one view of a host.
 */
let aws: LocalAws;
let store: DynamoDbTargetStateStore;
const commands = new CommandCounter();
beforeAll(async () => {
  aws = await startLocalAws(parsePipelineSettings({ WEBHOOK_ID: 'wh-1' }));
  commands.attach(aws.doc.middlewareStack);
  store = new DynamoDbTargetStateStore({ tableName: aws.tableName, client: aws.doc });
}, 30_000);
afterAll(async () => {
  await aws?.stop();
  // The redeliverer's role has dynamodb:GetItem, PutItem and UpdateItem on the table (least-privilege.test.ts):
  // the gate needs no other call.
  expect(Object.keys(commands.calls).sort()).toEqual(['GetItem', 'PutItem']);
});

describe('DynamoDbTargetStateStore', () => {
  it('writes only on the version read: of two racing writers exactly one wins', async () => {
    const target = 'https://gw.example.com';
    expect(await store.write({ target, version: 1, answeredAtMs: 5 }, undefined)).toBe(true);
    expect(await store.write({ target, version: 1, answeredAtMs: 6 }, undefined)).toBe(false);
    const race = await Promise.all(
      ['p1', 'p2', 'p3'].map((probeId) =>
        store.write({ target, version: 2, answeredAtMs: 5, probeId, probeUntilMs: 99 }, 1),
      ),
    );
    expect(race.filter(Boolean)).toHaveLength(1);
    const read = await store.read([target, `${target}/never-written`]);
    expect([...read.keys()]).toEqual([target]);
    expect(read.get(target)).toMatchObject({ version: 2, answeredAtMs: 5, probeUntilMs: 99 });
  });

  it('keys an item by a hash of its target (a long path never meets the key limit) and sets its TTL', async () => {
    const target = `https://gw.example.com/${'a'.repeat(3_000)}`;
    const hold = {
      kind: 'path',
      reason: 'stalled',
      untilMs: 1_800_000_000_000,
      level: 2,
      sinceMs: 1,
    } as const;
    expect(await store.write({ target, version: 1, hold }, undefined)).toBe(true);
    const item = await aws.doc.send(
      new GetCommand({ TableName: aws.tableName, Key: { pk: targetStateKey(target) } }),
    );
    expect(item.Item).toMatchObject({ kind: 'target', version: 1, expiresAt: 1_800_000_000 + 86_400 });
    expect((await store.read([target])).get(target)?.hold).toEqual(hold);
  });

  it('four gates (four instances) on one table: one probe for a host nobody knows, the rest held', async () => {
    const gates = Array.from(
      { length: 4 },
      () => new TargetGate({ store, timeoutSeconds: 5, baseSeconds: 1, capSeconds: 8 }),
    );
    const url = 'https://unknown.example.com/hook';
    const admissions = await Promise.all(gates.map((g) => g.admit(url)));
    expect(admissions.filter((a) => a.kind === 'call')).toHaveLength(1);
    const i = admissions.findIndex((a) => a.kind === 'call');
    const probe = admissions[i];
    if (!probe) throw new Error('no probe');
    // The host refuses: held for everyone, the probe's event spends nothing.
    expect(await gates[i]?.report(url, probe, { kind: 'unreachable', connect: true })).toMatchObject({
      counted: false,
    });
    for (const g of gates)
      expect(await g.admit(url)).toMatchObject({ kind: 'hold', key: 'outage https://unknown.example.com' });
  });
});

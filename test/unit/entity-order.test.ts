import { describe, expect, it } from 'vitest';
import {
  applyEntityWrite,
  decideOrder,
  type EntityState,
  endWrite,
  GAP_HEADER,
  headEnd,
  LATE_HEADER,
  MAX_GAPS,
  NO_ENTITY,
  waitSeconds,
} from '../../lambdas/shared/domain/entity-order';
import { ABSENT } from '../../lambdas/shared/domain/event-lifecycle';
import { genesysRetryMessage, readGenesysEvent } from '../../lambdas/shared/domain/genesys-event';
import { routeSchema, routesSchema } from '../../lambdas/shared/domain/routes';
import { entityOf } from '../../lambdas/shared/domain/topic-match';

const entity = (pending: [string, number, number][], extra: Partial<EntityState> = {}): EntityState => ({
  ...NO_ENTITY,
  pending: new Map(pending.map(([k, atMs, arrivedMs]) => [k, { atMs, arrivedMs }])),
  ...extra,
});
const event = (eventKey: string, atMs: number, extra = {}) => ({
  eventKey,
  atMs,
  latestOnly: false,
  redriven: false,
  ...extra,
});

describe('the entity of an event on an ordered route', () => {
  it('is the value of the first placeholder of the first matching template', () => {
    const route = { topics: ['v2.users.{id}.presence', 'v2.detail.events.conversation.{id}.*'] };
    expect(entityOf(route, 'v2.users.u-1.presence')).toBe('u-1');
    expect(entityOf(route, 'v2.detail.events.conversation.c-9.acd.end')).toBe('c-9');
    expect(entityOf(route, 'v2.routing.queues.q.conversations')).toBeUndefined();
    expect(
      entityOf(
        { topics: ['v2.audits.entitytype.{type}.entityid.{id}'] },
        'v2.audits.entitytype.Q.entityid.7',
      ),
    ).toBe('Q');
  });

  it('orders by detail.timestamp, falling back to the EventBridge time', () => {
    const route = routeSchema.parse({
      name: 'c',
      topics: ['v2.detail.events.conversation.{id}.*'],
      url: 'https://t.example/c',
      order: 'per-entity',
      latestOnly: true,
    });
    const raw = (timestamp: unknown) => ({
      id: 'e1',
      source: 'aws.partner/genesys.com/cloud/o/s',
      time: '2026-01-01T00:00:05Z',
      detail: { topicName: 'v2.detail.events.conversation.c-1.acd.start', timestamp },
    });
    const message = (timestamp: unknown) => {
      const read = readGenesysEvent(raw(timestamp));
      if (!read.ok) throw new Error(read.reason);
      return genesysRetryMessage(read.event, route, { forwardCredentials: false, now: new Date() });
    };
    expect(message('2026-01-01T00:00:01.250Z').order).toEqual({
      entity: 'c-1',
      at: '2026-01-01T00:00:01.250Z',
      latestOnly: true,
    });
    expect(message('not a time').order?.at).toBe('2026-01-01T00:00:05.000Z');
    const unordered = routeSchema.parse({ ...route, order: undefined, latestOnly: undefined });
    const read = readGenesysEvent(raw('2026-01-01T00:00:01Z'));
    if (!read.ok) throw new Error(read.reason);
    expect(
      genesysRetryMessage(read.event, unordered, { forwardCredentials: false, now: new Date() }).order,
    ).toBe(undefined);
  });

  it('refuses an ordered route with a topic that names no entity, and latestOnly without order, by name', () => {
    const base = { name: 'r1', url: 'https://t.example/' };
    const bad = routesSchema.safeParse([
      { ...base, topics: ['v2.users.{id}.presence', 'v2.flows.*'], order: 'per-entity' },
    ]);
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toMatch(
      /route r1 is ordered per entity, but topic v2\.flows\.\* has no \{placeholder\}/,
    );
    const latest = routesSchema.safeParse([
      { ...base, topics: ['v2.users.{id}.presence'], latestOnly: true },
    ]);
    expect(latest.error?.issues[0]?.message).toBe('route r1: latestOnly needs "order": "per-entity"');
    const order = routesSchema.safeParse([{ ...base, topics: ['v2.users.{id}.presence'], order: 'fifo' }]);
    expect(order.error?.issues[0]?.message).toBe('a route order is "per-entity" (or absent)');
  });
});

describe('decideOrder', () => {
  it('sends the head, and makes a later event wait for an earlier pending one (time, then arrival, then key)', () => {
    const e = entity([
      ['a', 1_000, 10],
      ['b', 2_000, 5],
      ['c', 2_000, 7],
    ]);
    expect(decideOrder(e, event('a', 1_000), 0)).toEqual({ kind: 'send', headers: {}, announced: [] });
    expect(decideOrder(e, event('b', 2_000), 0)).toEqual({ kind: 'wait', head: 'a' });
    expect(decideOrder(e, event('c', 2_000), 0)).toEqual({ kind: 'wait', head: 'a' });
    const afterA = applyEntityWrite(e, endWrite(e, 'a', 1_000, { kind: 'delivered', announced: [] }));
    expect(decideOrder(afterA, event('b', 2_000), 0).kind).toBe('send');
    expect(decideOrder(afterA, event('c', 2_000), 0)).toEqual({ kind: 'wait', head: 'b' });
  });

  it('lets an unregistered event (a replay) wait only for earlier ones', () => {
    const e = entity([['b', 2_000, 5]]);
    expect(decideOrder(e, event('x', 1_000), 99).kind).toBe('send');
    expect(decideOrder(e, event('y', 3_000), 99)).toEqual({ kind: 'wait', head: 'b' });
  });

  it('announces a dead-lettered earlier event once, to the next delivered, and clears it', () => {
    const e = entity([
      ['a', 1_000, 1],
      ['b', 2_000, 2],
      ['c', 3_000, 3],
    ]);
    const gapped = applyEntityWrite(e, endWrite(e, 'a', 1_000, { kind: 'dead-lettered' }));
    const send = decideOrder(gapped, event('b', 2_000), 0);
    expect(send).toEqual({ kind: 'send', headers: { [GAP_HEADER]: 'a' }, announced: ['a'] });
    const after = applyEntityWrite(
      gapped,
      endWrite(gapped, 'b', 2_000, { kind: 'delivered', announced: ['a'] }),
    );
    expect(decideOrder(after, event('c', 3_000), 0)).toEqual({ kind: 'send', headers: {}, announced: [] });
    // A retry of b (not delivered yet) still carries the gap.
    expect(decideOrder(gapped, event('b', 2_000), 0)).toEqual(send);
  });

  it('marks late an event older than the last delivered, and a redriven one; latestOnly supersedes the older', () => {
    const e = entity([], { lastDeliveredAtMs: 5_000, lastDeliveredKey: 'z' });
    expect(decideOrder(e, event('old', 1_000), 0)).toEqual({
      kind: 'send',
      headers: { [LATE_HEADER]: 'true' },
      announced: [],
    });
    expect(decideOrder(e, event('new', 6_000, { redriven: true }), 0)).toMatchObject({
      headers: { [LATE_HEADER]: 'true' },
    });
    expect(decideOrder(e, event('new', 6_000), 0)).toMatchObject({ headers: {} });
    expect(decideOrder(e, event('old', 1_000, { latestOnly: true }), 0)).toMatchObject({ kind: 'supersede' });
    expect(decideOrder(e, event('same', 5_000, { latestOnly: true }), 0).kind).toBe('send');
  });

  it('keeps the newest position and at most MAX_GAPS gaps', () => {
    let e: EntityState = NO_ENTITY;
    e = applyEntityWrite(e, endWrite(e, 'n', 9_000, { kind: 'delivered', announced: [] }));
    e = applyEntityWrite(e, endWrite(e, 'o', 1_000, { kind: 'delivered', announced: [] }));
    expect([e.lastDeliveredAtMs, e.lastDeliveredKey, e.version]).toEqual([9_000, 'n', 2]);
    for (let i = 0; i < MAX_GAPS + 5; i += 1)
      e = applyEntityWrite(e, endWrite(e, `g${i}`, i, { kind: 'dead-lettered' }));
    expect(e.gaps.size).toBe(MAX_GAPS);
    expect(e.gaps.has(`g${MAX_GAPS + 4}`)).toBe(true);
    expect(e.gaps.has('g0')).toBe(false);
  });
});

describe('a head that ended without its entity learning it', () => {
  const now = Date.parse('2026-12-01T00:10:00Z');
  it('is live while on the queue or just claimed, ended once it has a verdict, is gone, or was never enqueued', () => {
    expect(headEnd({ ...ABSENT, status: 'enqueued' }, now, 60)).toBe('live');
    expect(headEnd({ ...ABSENT, status: 'held' }, now, 60)).toBe('live');
    expect(headEnd({ ...ABSENT, status: 'pending', updatedAt: '2026-12-01T00:09:30Z' }, now, 60)).toBe(
      'live',
    );
    expect(headEnd({ ...ABSENT, status: 'pending', updatedAt: '2026-12-01T00:08:00Z' }, now, 60)).toEqual({
      kind: 'dead-lettered',
    });
    expect(headEnd({ ...ABSENT, status: 'delivered' }, now, 60)).toEqual({
      kind: 'delivered',
      announced: [],
    });
    expect(headEnd({ ...ABSENT, status: 'exhausted' }, now, 60)).toEqual({ kind: 'dead-lettered' });
    expect(headEnd({ ...ABSENT, status: 'superseded' }, now, 60)).toEqual({ kind: 'superseded' });
    expect(headEnd(undefined, now, 60)).toEqual({ kind: 'dead-lettered' });
  });

  it('is looked at again just after its next attempt, or after its target’s hold, within SQS’s 900 s', () => {
    const zero = () => 0;
    expect(waitSeconds(undefined, now, zero)).toBe(2);
    const retrying = { ...ABSENT, nextAttemptAt: new Date(now + 30_000).toISOString() };
    expect(waitSeconds(retrying, now, zero)).toBe(31);
    expect(waitSeconds(undefined, now, zero, now + 120_000)).toBe(121);
    expect(waitSeconds(undefined, now, zero, now + 5_000_000)).toBe(900);
    expect(waitSeconds(retrying, now, () => 0.99)).toBeLessThanOrEqual(37);
  });
});

import { describe, expect, it } from 'vitest';
import { redeliver } from '../../lambdas/redeliverer/redeliver';
import { asEventEnvelope, takeEnvelope } from '../../lambdas/shared/domain/event-envelope';
import { genesysEventKey } from '../../lambdas/shared/domain/genesys-event';
import type { Route } from '../../lambdas/shared/domain/routes';
import { GENESYS_EXAMPLE_SOURCE, realExampleEvent } from '../support/genesys-events';
import { FakeSender, fakeDeps, NOW, sqsInput } from './redeliver-fakes';

/**
 * What an EventBridge rule of an unordered route puts on the retry queue, and how the redeliverer takes it in:
 * the same retry message, key and dedupe the intake gave, with one conditional write instead of three.
 */
const ROUTE: Route = {
  name: 'audits',
  topics: ['v2.audits.entitytype.{id}.entityid.{id}'],
  url: 'https://hooks.example.com/audits',
  headers: { 'X-Team': 'cx' },
};
const SENT = new Date('2026-11-28T12:00:00.000Z');
const envelope = (event: unknown = realExampleEvent, route: Route | null = ROUTE) => ({ route, event });

describe('the EventBridge envelope (domain)', () => {
  it('is told apart from a retry message by its members', () => {
    expect(asEventEnvelope(envelope())).toBeDefined();
    expect(asEventEnvelope({ v: 1, route: 'r', event: {} })).toBeUndefined();
    expect(asEventEnvelope({ route: null })).toBeUndefined();
    expect(asEventEnvelope([envelope()])).toBeUndefined();
    expect(asEventEnvelope(null)).toBeUndefined();
  });

  it('derives the retry message the intake derived: content key, detail as the body, SQS send time', () => {
    const taken = takeEnvelope(envelope(), { forwardCredentials: false, sentAt: SENT });
    expect(taken.kind).toBe('message');
    if (taken.kind !== 'message') return;
    expect(taken.message).toMatchObject({
      v: 1,
      eventKey: genesysEventKey(ROUTE, realExampleEvent.detail),
      deliveryId: realExampleEvent.id,
      webhookId: 'eventbridge:audits',
      targetUrl: ROUTE.url,
      body: JSON.stringify(realExampleEvent.detail),
      headers: { 'X-Team': 'cx', 'Content-Type': 'application/json' },
      enqueuedAt: SENT.toISOString(),
      failedAt: '2021-06-25T15:11:52.000Z',
      source: 'eventbridge',
      route: 'audits',
    });
    // A repeat under a new EventBridge id has the same key: the ledger's claim dedupes it.
    const repeat = takeEnvelope(envelope({ ...realExampleEvent, id: 'another-id' }), {
      forwardCredentials: false,
      sentAt: new Date(SENT.getTime() + 5_000),
    });
    expect(repeat.kind === 'message' && repeat.message.eventKey).toBe(taken.message.eventKey);
  });

  it('names an event no route takes, one of another source or account, and a broken rule input', () => {
    const options = { forwardCredentials: false, sentAt: SENT };
    expect(takeEnvelope(envelope(realExampleEvent, null), options)).toEqual({
      kind: 'unmatched',
      deliveryId: realExampleEvent.id,
      reason: `no route matches topic ${realExampleEvent.detail.topicName}`,
    });
    const origin = { source: GENESYS_EXAMPLE_SOURCE, account: '123456789' };
    expect(takeEnvelope(envelope(), { ...options, origin }).kind).toBe('message');
    const stranger = { ...realExampleEvent, account: '999999999999' };
    expect(takeEnvelope(envelope(stranger), { ...options, origin })).toMatchObject({
      kind: 'refused',
      reason: expect.stringMatching(/event account "999999999999" is not this stack's account/),
    });
    const other = { ...realExampleEvent, source: 'aws.partner/genesys.com/cloud/other/x' };
    expect(takeEnvelope(envelope(other), { ...options, origin })).toMatchObject({ kind: 'refused' });
    expect(takeEnvelope(envelope({ id: 'e-1', source: 's', detail: {} }), options)).toEqual({
      kind: 'refused',
      deliveryId: 'e-1',
      reason: 'detail has no topicName',
    });
    expect(takeEnvelope({ route: { name: 'x' }, event: realExampleEvent }, options)).toMatchObject({
      kind: 'malformed',
      reason: expect.stringMatching(/^rule input route/),
    });
    expect(
      takeEnvelope(envelope(realExampleEvent, { ...ROUTE, order: 'per-entity' }), options),
    ).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/must invoke the intake/) });
  });
});

describe('the redeliverer takes an envelope in', () => {
  it('delivers it with one claim and one settlement, and no intake', async () => {
    const sender = new FakeSender();
    const { deps, ledger } = fakeDeps(sender);
    const outcome = await redeliver(sqsInput(envelope(), 1, 'm-1', SENT), deps);
    expect(outcome).toMatchObject({
      result: 'delivered',
      acknowledged: true,
      webhookId: 'eventbridge:audits',
    });
    expect(sender.requests).toHaveLength(1);
    expect(sender.requests[0]?.body).toBe(JSON.stringify(realExampleEvent.detail));
    expect(ledger.writes.map((w) => w.write.set.status)).toEqual(['claimed', 'delivered']);
  });

  it('lets a repeat (same content, new id) of a delivered event stand down, marked as a repeat, without a call', async () => {
    const sender = new FakeSender();
    const { deps, ledger } = fakeDeps(sender);
    await redeliver(sqsInput(envelope(), 1, 'm-1', SENT), deps);
    const again = envelope({ ...realExampleEvent, id: 'eb-again' });
    const later = new Date(NOW.getTime() + 60_000);
    const outcome = await redeliver(sqsInput(again, 1, 'm-2', later), deps);
    expect(outcome).toMatchObject({ result: 'already-delivered', acknowledged: true, repeat: true });
    expect(sender.requests).toHaveLength(1);
    expect(ledger.writes).toHaveLength(2);
  });

  it('does not give a repeat of a dead-lettered event a new budget, but does give one to a redrive', async () => {
    const sender = new FakeSender({ status: 410, durationMs: 5 });
    const { deps } = fakeDeps(sender);
    const first = await redeliver(sqsInput(envelope(), 1, 'm-1', SENT), deps);
    expect(first.result).toBe('permanent');
    const afterVerdict = new Date(NOW.getTime() + 60_000);
    // Genesys sends the same content again under a new id: not a new budget.
    const repeat = await redeliver(
      sqsInput(envelope({ ...realExampleEvent, id: 'eb-again' }), 1, 'm-2', afterVerdict),
      deps,
    );
    expect(repeat).toMatchObject({ result: 'superseded', acknowledged: true, repeat: true });
    expect(repeat.error).toMatch(/a repeat of event 4cbedb0f/);
    expect(sender.requests).toHaveLength(1);
    // The operator redrives the dead letter: the same body (same id) under a new message id, sent later.
    const redriven = await redeliver(sqsInput(envelope(), 1, 'm-3', afterVerdict), deps);
    expect(redriven.result).toBe('permanent');
    expect(sender.requests).toHaveLength(2);
  });

  it('records an unmatched event once, counts it, and deletes its message; a refused one likewise', async () => {
    const sender = new FakeSender();
    const { deps, ledger } = fakeDeps(sender);
    const unmatched = envelope(realExampleEvent, null);
    const first = await redeliver(sqsInput(unmatched, 1, 'm-1', SENT), deps);
    expect(first).toMatchObject({ result: 'unmatched', acknowledged: true, targetCalled: false });
    const twice = await redeliver(sqsInput(unmatched, 1, 'm-2', SENT), deps);
    expect(twice).toMatchObject({ result: 'already-recorded', acknowledged: true });
    expect(ledger.invalid.map((e) => [e.webhookId, e.deliveryId, e.reason])).toEqual([
      ['eventbridge', realExampleEvent.id, `no route matches topic ${realExampleEvent.detail.topicName}`],
      ['eventbridge', realExampleEvent.id, `no route matches topic ${realExampleEvent.detail.topicName}`],
    ]);
    expect(JSON.parse(ledger.invalid[0]?.raw ?? '')).toEqual(realExampleEvent);

    const guarded = { ...deps, origin: { source: GENESYS_EXAMPLE_SOURCE, account: '111111111111' } };
    const stranger = envelope({ ...realExampleEvent, id: 'eb-stranger' });
    const refused = await redeliver(sqsInput(stranger, 1, 'm-3', SENT), guarded);
    expect(refused).toMatchObject({ result: 'refused-event', acknowledged: true, targetCalled: false });
    expect(refused.error).toMatch(/is not this stack's account "111111111111"/);
    expect(sender.requests).toEqual([]);
  });

  it('fails a broken rule input fast, so SQS dead-letters it, with the route’s header values redacted', async () => {
    const { deps, ledger, queue } = fakeDeps();
    const broken = {
      route: { name: 'x', headers: { Authorization: 'Bearer s3cret' } },
      event: realExampleEvent,
    };
    const outcome = await redeliver(sqsInput(broken, 1, 'm-1', SENT), deps);
    expect(outcome).toMatchObject({ result: 'invalid-message', acknowledged: false });
    expect(queue.visibility.at(-1)?.seconds).toBe(0);
    expect(JSON.stringify(ledger.invalid)).not.toContain('s3cret');
  });

  it('throws when the ledger cannot record an unmatched event, so its message comes back', async () => {
    const { deps, ledger } = fakeDeps();
    ledger.recordInvalid = async () => {
      throw new Error('ledger throttled');
    };
    await expect(redeliver(sqsInput(envelope(realExampleEvent, null), 1, 'm-1', SENT), deps)).rejects.toThrow(
      'ledger throttled',
    );
  });
});

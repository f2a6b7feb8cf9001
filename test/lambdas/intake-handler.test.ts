import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { IntakeInputError, intakeHandler } from '../../lambdas/intake/intake-handler';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import type { EnqueueFailure, Ledger, RetryQueue } from '../../lambdas/shared/ports';
import { lambdaContext } from '../../local/lambda-context';
import { realExampleEvent } from '../support/genesys-events';

/** Fakes of the two ports the intake uses: a queue that records (or refuses) and a ledger that dedupes. */
function fakes(refuse?: EnqueueFailure['permanent']) {
  const sent: RetryMessage[] = [];
  const claimed = new Set<string>();
  const invalid: { deliveryId: string; reason: string }[] = [];
  const queue: RetryQueue = {
    enqueue: async (messages) => {
      if (refuse === undefined) {
        sent.push(...messages);
        return [];
      }
      return messages.map((m) => ({ eventKey: m.eventKey, reason: 'refused', permanent: refuse }));
    },
    setVisibility: async () => undefined,
    requeue: async () => undefined,
  };
  const ledger = {
    claim: async (m: RetryMessage) => {
      if (claimed.has(m.eventKey)) return 'duplicate' as const;
      claimed.add(m.eventKey);
      return 'new' as const;
    },
    markEnqueued: async () => undefined,
    recordInvalid: async (e: { deliveryId: string; reason: string }) => {
      invalid.push(e);
      return 'new' as const;
    },
    transition: async () => ({ result: 'applied' }),
  } as unknown as Ledger;
  return { queue, ledger, sent, invalid };
}

const route = { name: 'audits', topics: ['v2.audits.*'], url: 'https://hooks.example.com/audits' };
const context = () => lambdaContext('intake', 30);
const logger = new Logger({ logLevel: 'SILENT' });
const settings = { FORWARD_CREDENTIAL_HEADERS: false };

describe('intake handler', () => {
  it('enqueues the rule’s route once, and a repeat with a new id not again', async () => {
    const f = fakes();
    const handler = intakeHandler({ ...f, settings, logger });
    expect(await handler({ route, event: realExampleEvent }, context())).toEqual({
      enqueued: 1,
      duplicates: 0,
      unmatched: 0,
      invalid: 0,
    });
    const again = await handler({ route, event: { ...realExampleEvent, id: 'another-id' } }, context());
    expect(again).toMatchObject({ enqueued: 0, duplicates: 1 });
    expect(f.sent).toHaveLength(1);
    expect(f.sent[0]).toMatchObject({
      route: 'audits',
      source: 'eventbridge',
      deliveryId: realExampleEvent.id,
    });
  });

  it('records an event of the catch-all rule (route null) as unmatched, with its topic', async () => {
    const f = fakes();
    const result = await intakeHandler({ ...f, settings, logger })(
      { route: null, event: realExampleEvent },
      context(),
    );
    expect(result).toMatchObject({ enqueued: 0, unmatched: 1 });
    expect(f.invalid).toEqual([
      expect.objectContaining({
        deliveryId: realExampleEvent.id,
        reason: `no route matches topic ${realExampleEvent.detail.topicName}`,
      }),
    ]);
  });

  it('records an event that is not of Genesys shape as invalid', async () => {
    const f = fakes();
    const event = { ...realExampleEvent, detail: { nothing: 'here' } };
    const result = await intakeHandler({ ...f, settings, logger })({ route, event }, context());
    expect(result).toMatchObject({ invalid: 1, enqueued: 0 });
    expect(f.invalid[0]?.reason).toBe('detail has no topicName');
  });

  it('throws on a transient enqueue failure, so Lambda retries and then keeps it in the failures queue', async () => {
    const f = fakes(false);
    const handler = intakeHandler({ ...f, settings, logger });
    await expect(handler({ route, event: realExampleEvent }, context())).rejects.toThrow(/could not enqueue/);
  });

  it('takes only the stack’s partner source and account, and records the others with a clear reason', async () => {
    const f = fakes();
    const handler = intakeHandler({
      ...f,
      settings,
      logger,
      eventSource: realExampleEvent.source,
      checkAccount: true,
    });
    // lambdaContext's ARN names account 000000000000: the event must name it too.
    const mine = { ...realExampleEvent, account: '000000000000' };
    expect(await handler({ route, event: mine }, context())).toMatchObject({ enqueued: 1 });
    const otherOrg = {
      ...mine,
      id: 'other-org',
      source: 'aws.partner/genesys.com/cloud/another-org/suffix',
    };
    const otherAccount = { ...mine, id: 'other-account', account: '999999999999' };
    for (const event of [otherOrg, otherAccount]) {
      expect(await handler({ route, event }, context())).toEqual({
        enqueued: 0,
        duplicates: 0,
        unmatched: 0,
        invalid: 1,
      });
    }
    expect(f.sent).toHaveLength(1);
    expect(f.invalid).toEqual(
      [
        {
          deliveryId: 'other-org',
          reason: `event source "aws.partner/genesys.com/cloud/another-org/suffix" is not this stack's Genesys partner event source "${realExampleEvent.source}": refused`,
        },
        {
          deliveryId: 'other-account',
          reason: `event account "999999999999" is not this stack's account "000000000000": refused`,
        },
      ].map((e) => expect.objectContaining(e)),
    );
  });

  it('refuses input that is not what the rules send', async () => {
    const f = fakes();
    const handler = intakeHandler({ ...f, settings, logger });
    await expect(handler(realExampleEvent, context())).rejects.toBeInstanceOf(IntakeInputError);
    await expect(handler({ route: { name: 'x' }, event: realExampleEvent }, context())).rejects.toThrow(
      /input route is not a route/,
    );
  });
});

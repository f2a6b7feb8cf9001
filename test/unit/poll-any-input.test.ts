import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pollFailedDeliveries } from '../../lambdas/poller/poll-failed-deliveries';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import type { FailedDeliverySource, Ledger, RetryQueue } from '../../lambdas/shared/ports';
import { parsePipelineSettings } from '../../lambdas/shared/settings';

/** In-memory ledger and queue: this property is about the use case's bookkeeping, not the adapters. */
function fakes() {
  const claimed = new Set<string>();
  const invalid = new Map<string, string>();
  const queued: RetryMessage[] = [];
  const ledger: Ledger = {
    claim: async (m) => {
      if (claimed.has(m.eventKey)) return 'duplicate';
      claimed.add(m.eventKey);
      return 'new';
    },
    markEnqueued: async () => undefined,
    recordInvalid: async (e) => {
      if (invalid.has(e.deliveryId)) return 'duplicate';
      invalid.set(e.deliveryId, e.reason);
      return 'new';
    },
    getWatermark: async () => undefined,
    setWatermark: async () => undefined,
    getEvent: async () => undefined,
    transition: async () => ({ result: 'applied' }),
  };
  const queue: RetryQueue = {
    enqueue: async (messages) => {
      queued.push(...messages);
      return [];
    },
    setVisibility: async () => undefined,
    requeue: async () => undefined,
  };
  return { ledger, queue, queued, invalid };
}

const now = new Date('2026-11-28T13:00:00.000Z');
const good = (i: number) => ({
  id: `good-${i}`,
  webhookId: 'wh-1',
  status: 'failed',
  httpStatusCode: 500,
  body: { i },
  headers: {},
  webhookUrl: `https://hooks.example.com/${i}`,
  dateCreated: '2026-11-28T12:30:00.000Z',
});
const anyEntry = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      id: fc.string({ minLength: 1 }),
      webhookId: fc.constant('wh-1'),
      status: fc.constant('failed'),
      body: fc.jsonValue(),
      webhookUrl: fc.oneof(fc.webUrl(), fc.string()),
      dateCreated: fc.string(),
    },
    { requiredKeys: [] },
  ),
);

describe('pollFailedDeliveries with any delivery-log content', () => {
  it('never throws, accounts for every entry, and never lets a bad entry block a good one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(anyEntry, { maxLength: 8 }), { maxLength: 4 }),
        async (junkPages) => {
          const { ledger, queue, queued, invalid } = fakes();
          let n = 0;
          // Each page interleaves junk with one good entry whose id is unique.
          const pages = junkPages.map((junk) => [...junk.slice(0, 4), good(n++), ...junk.slice(4)]);
          const source: FailedDeliverySource = {
            async *failedDeliveries() {
              for (const p of pages) yield p;
            },
            readPage: async (_window, n) => ({
              entries: pages[n - 1] ?? [],
              pageCount: pages.length,
              hasNext: n < pages.length,
            }),
          };
          const [result] = await pollFailedDeliveries({
            source,
            queue,
            ledger,
            settings: parsePipelineSettings({ WEBHOOK_ID: 'wh-1' }),
            now: () => now,
            deadline: Date.now() + 60_000,
          });
          const entries = pages.flat().length;
          expect(result?.found).toBe(entries);
          expect(
            (result?.enqueued ?? 0) + (result?.duplicates ?? 0) + (result?.invalid ?? 0),
          ).toBeLessThanOrEqual(entries);
          // Refusals with the same id (junk can repeat ids) are recorded once; every refusal has a reason.
          for (const reason of invalid.values()) expect(reason.length).toBeGreaterThan(0);
          for (let i = 0; i < n; i += 1) expect(queued.some((m) => m.deliveryId === `good-${i}`)).toBe(true);
          expect(result?.complete).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

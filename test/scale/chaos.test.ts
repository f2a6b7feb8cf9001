import { afterAll, describe, expect, it } from 'vitest';
import { queueDepth } from '../../cli/commands/status';
import { normaliseDelivery } from '../../lambdas/shared/domain/normalise-delivery';
import type { Ledger } from '../../lambdas/shared/ports';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import {
  type EmulatedDelivery,
  type GenesysEmulator,
  startGenesysEmulator,
} from '../../local/genesys-emulator';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { startChaosTarget } from '../support/chaos-target';
import { LOCAL_TARGETS } from '../support/local-targets';
import { drainQueue, eventually } from '../support/queue-contents';
import { seededRandom } from '../support/seeded-random';

/**
 * Chaos reconciliation: a few thousand failed deliveries, misbehaving targets, a flaky Genesys API and a
 * redeliverer that crashes at random points. At the end every event must be delivered or in the DLQ.
 */
const SEED = 20_261_128;
const WEBHOOKS = ['chaos-a', 'chaos-b', 'chaos-c', 'chaos-d'];
const EVENTS_PER_WEBHOOK = 500;
const MAX_RETRIES = 4;
const CLIENT = { clientId: 'chaos-client', clientSecret: 'chaos-secret-value' };

const random = seededRandom(SEED);
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const faults = {
  genesys429: 0,
  genesys503: 0,
  tokenRevocations: 0,
  crashBefore: 0,
  crashAfter: 0,
  ledgerReadFailures: 0,
  ledgerClaimFailures: 0,
};

describe('chaos reconciliation', () => {
  it('loses no event: each is delivered or dead-lettered, duplicates only under the same Idempotency-Key', async () => {
    const started = Date.now();
    const recoverAt = started + 12_000;
    const targets = await Promise.all(
      [0, 1].map(() => startChaosTarget({ random, faultRate: 0.5, recoverAt })),
    );
    // One endpoint never recovers: its events must end in the DLQ after MAX_RETRIES attempts each.
    const dead = await startChaosTarget({ random, faultRate: 1, recoverAt: Number.POSITIVE_INFINITY });
    targets.push(dead);
    cleanups.push(...targets.map((t) => () => t.stop()));

    const deliveries: EmulatedDelivery[] = [];
    let lastListing = started;
    for (const webhookId of WEBHOOKS) {
      for (let i = 0; i < EVENTS_PER_WEBHOOK; i += 1) {
        const target = random() < 0.03 ? dead : targets[i % 2];
        const late = random() < 0.05;
        const listedAt = late ? started + 2_000 + Math.floor(random() * 6_000) : undefined;
        if (listedAt) lastListing = Math.max(lastListing, listedAt);
        const createdAgo = late ? 60_000 : 120_000 + Math.floor(random() * 2_400_000);
        const base: EmulatedDelivery = {
          id: `${webhookId}-${i}`,
          webhookId,
          status: 'failed',
          httpStatusCode: 503,
          body: { webhookId, n: i, payload: 'x'.repeat(Math.floor(random() * 200)) },
          headers: { 'Content-Type': 'application/json' },
          webhookUrl: `${target?.url}/hook/${webhookId}`,
          dateCreated: new Date(started - createdAgo).toISOString(),
          ...(listedAt ? { listedAt: new Date(listedAt).toISOString() } : {}),
        };
        deliveries.push(base);
        // Genesys logged a second failed attempt of one event in five.
        if (random() < 0.2)
          deliveries.push({
            ...base,
            id: `${base.id}-again`,
            dateCreated: new Date(started - createdAgo + 30_000).toISOString(),
          });
      }
    }
    const emulator: GenesysEmulator = await startGenesysEmulator({ clients: [CLIENT], deliveries });
    cleanups.push(() => emulator.stop());

    const genesysChaos = setInterval(() => {
      const r = random();
      if (r < 0.3) {
        emulator.injectFaults({ status: 429, count: 1, retryAfterSeconds: 1, path: 'deliveries' });
        faults.genesys429 += 1;
      } else if (r < 0.6) {
        emulator.injectFaults({ status: 503, count: 1, path: 'deliveries' });
        faults.genesys503 += 1;
      } else if (r < 0.8) {
        emulator.revokeAllTokens();
        faults.tokenRevocations += 1;
      }
    }, 700);
    cleanups.push(async () => clearInterval(genesysChaos));

    const settings = parsePipelineSettings({
      GENESYS_CLOUD_REGION: emulator.url,
      WEBHOOK_ID: WEBHOOKS.join(','),
      POLL_INTERVAL_SECONDS: '2',
      MAX_RETRIES: String(MAX_RETRIES),
      RETRY_DELAY_SECONDS: '1',
      MAX_RETRY_DELAY_SECONDS: '2',
      DELIVERY_TIMEOUT_SECONDS: '1',
      BATCH_SIZE: '10',
      TARGET_ALLOW_LOOPBACK: 'true', // targets on 127.0.0.1, as in local mode
      MAX_CONCURRENCY: '4',
      // The dead endpoint is an outage: its events wait this long, spending no retries, then go to the DLQ.
      MAX_HOLD_SECONDS: '20',
    });
    let pollsAfterLastListing = 0;
    const pipeline: LocalPipeline = await startLocalPipeline({
      settings,
      credentials: CLIENT,
      logLevel: 'SILENT',
      waitTimeSeconds: 1,
      visibilityTimeoutSeconds: 5,
      wrapRedeliverer: (invoke) => async (event, context, instance) => {
        const r = random();
        if (r < 0.04) {
          faults.crashBefore += 1;
          throw new Error('crash before the batch ran');
        }
        const response = await invoke(event, context, instance);
        if (r > 0.96) {
          faults.crashAfter += 1; // the targets answered, the acknowledgement never happens
          throw new Error('crash after the batch ran');
        }
        return response;
      },
      decorateLedger: (ledger: Ledger): Ledger =>
        new Proxy(ledger, {
          get(target, prop, receiver) {
            if (prop === 'getEvent') {
              return async (key: string) => {
                if (random() < 0.02) {
                  faults.ledgerReadFailures += 1;
                  throw new Error('DynamoDB throttled');
                }
                return target.getEvent(key);
              };
            }
            if (prop === 'transition') {
              // A first receive claims without reading: its claim is where a throttle leaves it undecided.
              return async (...args: Parameters<Ledger['transition']>) => {
                if (args[1].set.status === 'claimed' && random() < 0.02) {
                  faults.ledgerClaimFailures += 1;
                  throw new Error('DynamoDB throttled');
                }
                return target.transition(...args);
              };
            }
            const value = Reflect.get(target, prop, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
    });
    cleanups.push(() => pipeline.stop());
    pipeline.startSchedule((summary) => {
      // Only a poll that read every webhook's window to the end counts towards "caught up".
      const complete = summary.webhooks.every((w) => w.complete);
      if (complete && Date.now() > lastListing + 1_000) pollsAfterLastListing += 1;
    });

    // Delayed copies too: an event held back waits as one.
    const depth = async () => {
      const d = await queueDepth(pipeline.aws.sqs, pipeline.aws.retryQueueUrl);
      return d.visible + d.inFlight + d.delayed;
    };
    let quiet = 0;
    await eventually(
      async () => {
        quiet = pollsAfterLastListing >= 2 && (await depth()) === 0 ? quiet + 1 : 0;
        return quiet >= 3;
      },
      'the retry queue to drain',
      300_000,
    );
    clearInterval(genesysChaos);

    // Reconcile.
    const expected = new Map<string, string>(); // eventKey → body
    for (const d of deliveries) {
      const n = normaliseDelivery(d, {
        webhookId: d.webhookId,
        forwardCredentials: false,
        targets: LOCAL_TARGETS,
        now: new Date(),
      });
      if (n.ok) expected.set(n.message.eventKey, n.message.body);
    }
    const hits = targets.flatMap((t) => t.hits);
    const okByKey = new Map<string, number>();
    for (const h of hits) if (h.fault === 'ok') okByKey.set(h.key, (okByKey.get(h.key) ?? 0) + 1);
    const deadLetters = await drainQueue(pipeline.aws.sqs, pipeline.aws.dlqUrl);
    const dlqKeys = new Set(deadLetters.map((m) => m.eventKey));
    const lost = [...expected.keys()].filter((k) => !okByKey.has(k) && !dlqKeys.has(k));
    const wrongKey = hits.filter((h) => expected.get(h.key) !== h.body);
    const duplicates = [...okByKey.entries()].filter(([, n]) => n > 1);
    const both = [...dlqKeys].filter((k) => okByKey.has(k));
    const figures = {
      seed: SEED,
      logEntries: deliveries.length,
      events: expected.size,
      requestsToTargets: hits.length,
      targetFaults: Object.fromEntries(
        ['5xx', '429', 'hang', 'reset'].map((f) => [f, hits.filter((h) => h.fault === f).length]),
      ),
      ...faults,
      delivered: okByKey.size,
      deadLettered: dlqKeys.size,
      deliveredAndDeadLettered: both.length,
      lost: lost.length,
      duplicateDeliveries: duplicates.length,
      duplicateKeysAllSameEvent: wrongKey.length === 0,
      seconds: Math.round((Date.now() - started) / 1000),
    };
    console.log(`chaos reconciliation: ${JSON.stringify(figures, null, 2)}`);

    expect(expected.size).toBe(WEBHOOKS.length * EVENTS_PER_WEBHOOK);
    expect(lost).toEqual([]);
    const deadKeys = new Set(dead.hits.map((h) => h.key));
    expect([...deadKeys].every((k) => dlqKeys.has(k))).toBe(true);
    // No event to the dead endpoint spent more than its budget (crashes before a batch only use it up); probes
    // of the host while it was held for an outage are marked and do not count. Attempts, not requests: the
    // sender resends once when a reused keep-alive socket turns out reset.
    // A copy that a crash left behind after its event was decided was sent before the verdict: it stands down
    // (only a copy sent after the verdict, a redrive, starts a budget of its own).
    for (const key of deadKeys) {
      const event = await pipeline.ledger.getEvent(key);
      expect(event?.budgetAttempts ?? 0).toBeLessThanOrEqual(MAX_RETRIES);
    }
    // Held back, the dead host's events wait for probes instead of each calling it: few calls per event.
    const hitsByKey = new Map<string, number>();
    for (const h of dead.hits) hitsByKey.set(h.key, (hitsByKey.get(h.key) ?? 0) + 1);
    expect(dead.hits.length).toBeLessThanOrEqual(2 * MAX_RETRIES * deadKeys.size);
    expect(wrongKey).toEqual([]);
    expect(deadLetters.every((m) => expected.has(m.eventKey))).toBe(true);
    // The faults really happened (not a count of requests: crashes and an open circuit can spend an event's
    // budget without a request, so there may be fewer requests than events).
    for (const fault of ['5xx', '429', 'hang', 'reset'] as const)
      expect(hits.some((h) => h.fault === fault)).toBe(true);
    expect(faults.crashBefore + faults.crashAfter).toBeGreaterThan(0);
    expect(faults.genesys429 + faults.genesys503 + faults.tokenRevocations).toBeGreaterThan(0);
    // The watermark never passed unprocessed entries: every event reached the ledger.
    const missing: string[] = [];
    for (const key of expected.keys()) if (!(await pipeline.ledger.getEvent(key))) missing.push(key);
    expect(missing).toEqual([]);
    for (const webhookId of WEBHOOKS) {
      const wm = await pipeline.ledger.getWatermark(webhookId);
      expect(Date.parse(wm?.through ?? '')).toBeGreaterThan(lastListing);
    }
  }, 330_000);
});

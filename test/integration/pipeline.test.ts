import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedeliveryOutcome } from '../../lambdas/redeliverer/redeliver';
import { eventKey } from '../../lambdas/shared/domain/event-key';
import type { Ledger } from '../../lambdas/shared/ports';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import {
  type EmulatedDelivery,
  type GenesysEmulator,
  startGenesysEmulator,
} from '../../local/genesys-emulator';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { drainQueue, eventually } from '../support/queue-contents';
import { startTargetServer } from '../support/target-server';

/**
 * The mission, end to end over real sockets: the Genesys emulator's delivery log → poller → fauxqs retry queue →
 * redeliverer → real HTTP targets, with SQS's own redrive policy moving what cannot be delivered to the DLQ.
 */
const CLIENT = { clientId: 'pipeline-client', clientSecret: 'pipeline-client-secret-value' };
const FORWARDED_SECRET = 'Bearer never-forward-this-token';
const MAX_RETRIES = 3;

let emulator: GenesysEmulator;
let targets: Awaited<ReturnType<typeof startTargetServer>>;
let pipeline: LocalPipeline;
const outcomes: RedeliveryOutcome[] = [];
const output: string[] = [];
const restore: (() => void)[] = [];

const objectBody = { eventId: 'e-1', nested: { list: [1, 2, 3], text: 'ünïcødé ✓' } };
const jsonStringBody = '{ "eventId" : "e-2",  "spaced":true }';
const plainBody = 'call 42 ended\nline two\ttabbed';

function captureOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return original(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = original;
    });
  }
}

beforeAll(async () => {
  captureOutput();
  targets = await startTargetServer({
    '/ok': () => 200,
    '/flaky': (n) => (n === 1 ? 503 : 200),
    '/bad-request': () => 400,
    '/gone': () => 410,
    '/down': () => 503,
    '/crash': () => 200,
  });
  const now = Date.now();
  const at = (s: number) => new Date(now - s * 1000).toISOString();
  const entry = (
    id: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    s: number,
  ): EmulatedDelivery => ({
    id,
    webhookId: 'wh-pipeline',
    status: 'failed',
    httpStatusCode: 503,
    body,
    headers,
    webhookUrl: `${targets.url}${path}`,
    dateCreated: at(s),
  });
  emulator = await startGenesysEmulator({
    clients: [CLIENT],
    deliveries: [
      entry('obj', '/ok', objectBody, { 'User-Agent': 'Genesys', Authorization: FORWARDED_SECRET }, 600),
      entry(
        'obj-again',
        '/ok',
        objectBody,
        { 'User-Agent': 'Genesys', Authorization: FORWARDED_SECRET },
        590,
      ),
      entry('json-string', '/ok', jsonStringBody, { 'X-Genesys-Event': 'v2' }, 580),
      entry('plain', '/ok', plainBody, { 'Content-Type': 'text/plain; charset=utf-8' }, 570),
      entry('flaky', '/flaky', { eventId: 'e-4' }, {}, 560),
      entry('bad-request', '/bad-request', { eventId: 'e-5' }, {}, 550),
      entry('gone', '/gone', { eventId: 'e-6' }, {}, 540),
      entry('down', '/down', { eventId: 'e-7' }, {}, 530),
      entry('crash', '/crash', { eventId: 'e-8' }, {}, 520),
    ],
  });
  const settings = parsePipelineSettings({
    GENESYS_CLOUD_REGION: emulator.url,
    WEBHOOK_ID: 'wh-pipeline',
    MAX_RETRIES: String(MAX_RETRIES),
    RETRY_DELAY_SECONDS: '1',
    MAX_RETRY_DELAY_SECONDS: '2',
    DELIVERY_TIMEOUT_SECONDS: '2',
    TARGET_ALLOW_LOOPBACK: 'true', // targets on 127.0.0.1, as in local mode
  });
  // Known before anything runs, so the very first receive of the /crash record already throws.
  const crashKey = eventKey('wh-pipeline', `${targets.url}/crash`, '{"eventId":"e-8"}');
  pipeline = await startLocalPipeline({
    settings,
    credentials: CLIENT,
    logLevel: 'DEBUG',
    waitTimeSeconds: 1,
    visibilityTimeoutSeconds: 1,
    onOutcome: (o) => outcomes.push(o),
    // The record for /crash makes the handler throw before it reaches the target, every time.
    decorateLedger: (ledger: Ledger): Ledger =>
      new Proxy(ledger, {
        get(target, prop, receiver) {
          // A first receive claims without reading: its claim throws instead.
          if (prop === 'getEvent' || prop === 'transition') {
            const real = (target[prop] as (key: string, ...rest: unknown[]) => Promise<unknown>).bind(target);
            return async (key: string, ...rest: unknown[]) => {
              if (key === crashKey) throw new Error('injected crash');
              return real(key, ...rest);
            };
          }
          const value = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
  });
  await pipeline.pollOnce();
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  await targets?.stop();
  await emulator?.stop();
  for (const r of restore) r();
});

const deadLetters: Awaited<ReturnType<typeof drainQueue>> = [];

describe('the pipeline on one machine', () => {
  it('settles: every event is delivered or in the DLQ, none lost', async () => {
    const settled = () =>
      ['obj', 'json-string', 'plain', 'flaky'].every((id) =>
        outcomes.some((o) => o.deliveryId === id && o.result === 'delivered'),
      );
    await eventually(settled, 'deliveries', 45_000);
    await eventually(
      async () => {
        deadLetters.push(...(await drainQueue(pipeline.aws.sqs, pipeline.aws.dlqUrl)));
        return deadLetters.length >= 4;
      },
      'four dead letters',
      45_000,
    );
    expect(deadLetters.map((m) => m.deliveryId).sort()).toEqual(['bad-request', 'crash', 'down', 'gone']);
  });

  it('delivers object, JSON-string and plain-text bodies byte-exact with the right Content-Type', () => {
    const ok = targets.hitsOn('/ok');
    const byBody = (text: string) => ok.find((h) => h.body.equals(Buffer.from(text, 'utf8')));
    const obj = byBody(JSON.stringify(objectBody));
    const json = byBody(jsonStringBody);
    const plain = byBody(plainBody);
    expect(obj?.headers['content-type']).toBe('application/json');
    expect(json?.headers['content-type']).toBe('application/json');
    expect(json?.headers['x-genesys-event']).toBe('v2');
    expect(plain?.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(ok).toHaveLength(3); // obj and obj-again are one event: delivered once
  });

  it('sends the same Idempotency-Key on every attempt of an event', () => {
    const flaky = targets.hitsOn('/flaky');
    expect(flaky.map((h) => h.status)).toEqual([503, 200]);
    expect(flaky[0]?.headers['idempotency-key']).toMatch(/^[a-f0-9]{64}$/);
    expect(flaky[1]?.headers['idempotency-key']).toBe(flaky[0]?.headers['idempotency-key']);
    const retry = outcomes.find((o) => o.deliveryId === 'flaky' && o.result === 'retry-scheduled');
    expect(retry?.nextAttemptInSeconds).toBeGreaterThanOrEqual(1);
  });

  it('dead-letters 400 and 410 without calling the target again', () => {
    expect(targets.hitsOn('/bad-request')).toHaveLength(1);
    expect(targets.hitsOn('/gone')).toHaveLength(1);
  });

  it('dead-letters an always-503 target after exactly MAX_RETRIES attempts', () => {
    expect(targets.hitsOn('/down')).toHaveLength(MAX_RETRIES);
  });

  it('dead-letters a record that makes the handler throw, through the redrive policy, never reaching the target', () => {
    expect(targets.hitsOn('/crash')).toHaveLength(0);
    expect(deadLetters.find((m) => m.deliveryId === 'crash')?.targetUrl).toBe(`${targets.url}/crash`);
  });

  it('keeps in the dead letter everything an operator needs, and the attempts in the ledger', async () => {
    const down = deadLetters.find((m) => m.deliveryId === 'down');
    expect(down).toMatchObject({ webhookId: 'wh-pipeline', originalStatus: 503, body: '{"eventId":"e-7"}' });
    const record = down ? await pipeline.ledger.getEvent(down.eventKey) : undefined;
    expect(record?.status).toBe('exhausted');
    expect(record?.attempts.map((a) => a.status)).toEqual([503, 503, 503]);
    expect(record?.finalReason).toMatch(/503/);
    const gone = deadLetters.find((m) => m.deliveryId === 'gone');
    const goneRecord = gone ? await pipeline.ledger.getEvent(gone.eventKey) : undefined;
    expect(goneRecord).toMatchObject({ status: 'permanent' });
    expect(goneRecord?.finalReason).toMatch(/410/);
  });

  it('never forwards credential headers by default and never logs them or the client secret', () => {
    expect(targets.hits.some((h) => h.headers.authorization !== undefined)).toBe(false);
    const everything = output.join('');
    expect(everything.length).toBeGreaterThan(0); // the handlers did log (DEBUG)
    expect(everything).not.toContain('never-forward-this-token');
    expect(everything).not.toContain(CLIENT.clientSecret);
    const dlqText = JSON.stringify(deadLetters);
    expect(dlqText).not.toContain('never-forward-this-token');
  });
});

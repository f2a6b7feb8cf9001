import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookSender } from '../../lambdas/redeliverer/create-webhook-sender';
import type { RedeliveryOutcome } from '../../lambdas/redeliverer/redeliver';
import { SigningWebhookSender } from '../../lambdas/shared/adapters/signing-webhook-sender';
import { targetId } from '../../lambdas/shared/domain/target-id';
import { deriveTargetKey } from '../../lambdas/shared/domain/target-signing-key';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import {
  type EmulatedDelivery,
  type GenesysEmulator,
  startGenesysEmulator,
} from '../../local/genesys-emulator';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { drainQueue, eventually } from '../support/queue-contents';

/**
 * Signed redeliveries over real sockets: Genesys emulator → poller → fauxqs → redeliverer → a target that checks
 * every request with the standardwebhooks package's own `Webhook.verify`, as a real target would.
 */
const CLIENT = { clientId: 'signing-client', clientSecret: 'signing-client-secret' };
const WEBHOOK = 'wh-signed';
const KEY = `whsec_${randomBytes(32).toString('base64')}`;
/** The key this webhook's target holds: derived from the secret, its own (docs/signing.md). */
const TARGET_KEY = deriveTargetKey(KEY, `webhook:${WEBHOOK}`);

const bodies = {
  object: { eventId: 'e-1', nested: { list: [1, 2, 3] } },
  jsonString: '{ "eventId" : "e-2",  "spaced":true }',
  plain: 'call 42 ended\nline two\ttabbed',
  large: 'L'.repeat(1_000_000),
  nonAscii: 'Grüße, 世界 — ünïcødé ✓ 😀',
};

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly verified: boolean;
  readonly status: number;
}

/** Alters one byte, as a proxy or a bit flip in transit would. */
function altered(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  const i = Math.floor(copy.length / 2);
  copy[i] = (copy[i] ?? 0) ^ 0x01;
  return copy;
}

function verifies(key: string, body: Buffer, headers: IncomingHttpHeaders): boolean {
  try {
    // jsonParse off: the target verifies bytes; plain-text bodies are not JSON.
    new Webhook(key).verify(body.toString('utf8'), headers as Record<string, string>, { jsonParse: false });
    return true;
  } catch {
    return false;
  }
}

/**
 * A target that answers 401 to any request that does not verify with the key of its path. `/tampered` alters a
 * byte before verifying; `/flaky` answers 503 to its first verified request.
 */
async function startVerifyingTarget(keyFor: (path: string) => string) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const sent = Buffer.concat(chunks);
      const body = path === '/tampered' ? altered(sent) : sent;
      const verified = verifies(keyFor(path), body, req.headers);
      const earlier = received.filter((r) => r.path === path && r.verified).length;
      const status = !verified ? 401 : path === '/flaky' && earlier === 0 ? 503 : 200;
      received.push({ path, headers: req.headers, body, verified, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('signed redeliveries through the pipeline', () => {
  let emulator: GenesysEmulator;
  let target: Awaited<ReturnType<typeof startVerifyingTarget>>;
  let pipeline: LocalPipeline;
  const outcomes: RedeliveryOutcome[] = [];
  const deadLetters: Awaited<ReturnType<typeof drainQueue>> = [];
  const output: string[] = [];
  const restore: (() => void)[] = [];

  beforeAll(async () => {
    // Everything the handlers log, to prove neither the key nor a signature ever reaches a log line. The
    // handlers' JSON log lines are kept here and not printed, so that npm test's output stays readable.
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        output.push(text);
        if (!text.startsWith('{"level":')) return original(chunk, ...rest);
        (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
        return true;
      }) as typeof stream.write;
      restore.push(() => {
        stream.write = original;
      });
    }
    target = await startVerifyingTarget(() => TARGET_KEY);
    const entry = (id: string, path: string, body: unknown, contentType?: string): EmulatedDelivery => ({
      id,
      webhookId: WEBHOOK,
      status: 'failed',
      httpStatusCode: 503,
      body,
      headers: contentType ? { 'Content-Type': contentType } : {},
      webhookUrl: `${target.url}${path}`,
      dateCreated: new Date(Date.now() - 60_000).toISOString(),
    });
    emulator = await startGenesysEmulator({
      clients: [CLIENT],
      deliveries: [
        entry('object', '/ok', bodies.object),
        entry('json-string', '/ok', bodies.jsonString),
        entry('plain', '/ok', bodies.plain, 'text/plain; charset=utf-8'),
        entry('large', '/ok', bodies.large, 'text/plain'),
        entry('non-ascii', '/ok', bodies.nonAscii, 'text/plain; charset=utf-8'),
        entry('flaky', '/flaky', { eventId: 'e-flaky' }),
        entry('tampered', '/tampered', { eventId: 'e-tampered' }),
      ],
    });
    pipeline = await startLocalPipeline({
      settings: parsePipelineSettings({
        GENESYS_CLOUD_REGION: emulator.url,
        WEBHOOK_ID: WEBHOOK,
        MAX_RETRIES: '3',
        RETRY_DELAY_SECONDS: '1',
        MAX_RETRY_DELAY_SECONDS: '1',
        TARGET_ALLOW_LOOPBACK: 'true',
      }),
      credentials: CLIENT,
      signingSecret: KEY,
      logLevel: 'DEBUG',
      waitTimeSeconds: 1,
      onOutcome: (o) => outcomes.push(o),
    });
    await pipeline.pollOnce();
    await eventually(
      () =>
        new Set(outcomes.filter((o) => o.result !== 'retry-scheduled').map((o) => o.deliveryId)).size === 7,
      'all seven deliveries to settle',
      60_000,
    );
    await eventually(
      async () => {
        deadLetters.push(...(await drainQueue(pipeline.aws.sqs, pipeline.aws.dlqUrl)));
        return deadLetters.some((m) => m.deliveryId === 'tampered');
      },
      'the tampered delivery in the DLQ',
      30_000,
    );
  }, 120_000);

  afterAll(async () => {
    for (const r of restore) r();
    await pipeline?.stop();
    await target?.stop();
    await emulator?.stop();
  });

  it('is accepted by a verifying target for object, JSON-string, plain-text, 1,000,000-byte and non-ASCII bodies', () => {
    const ok = target.received.filter((r) => r.path === '/ok');
    expect(ok.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const texts = ok.map((r) => r.body.toString('utf8')).sort();
    expect(texts).toEqual(
      [JSON.stringify(bodies.object), bodies.jsonString, bodies.plain, bodies.large, bodies.nonAscii].sort(),
    );
    expect(ok.find((r) => r.body.length === 1_000_000)?.verified).toBe(true);
    for (const o of outcomes.filter((x) => x.target === targetId(`${target.url}/ok`)))
      expect(o.result).toBe('delivered');
  });

  it('carries signatures that a one-byte change in any body breaks', () => {
    const accepted = target.received.filter((r) => r.verified);
    expect(accepted.length).toBeGreaterThanOrEqual(7);
    for (const r of accepted) expect(verifies(TARGET_KEY, altered(r.body), r.headers)).toBe(false);
  });

  it('makes the target reject a body altered by one byte in transit (401: a permanent outcome, dead-lettered)', () => {
    const tampered = target.received.filter((r) => r.path === '/tampered');
    expect(tampered.map((r) => [r.verified, r.status])).toEqual([[false, 401]]);
    const outcome = outcomes.find((o) => o.deliveryId === 'tampered');
    expect(outcome).toMatchObject({ result: 'permanent', status: 401 });
    expect(deadLetters.map((m) => m.deliveryId)).toEqual(['tampered']);
  });

  it('signs each attempt anew (new timestamp and signature) under the same webhook-id, the Idempotency-Key', () => {
    const flaky = target.received.filter((r) => r.path === '/flaky');
    expect(flaky.map((r) => [r.verified, r.status])).toEqual([
      [true, 503],
      [true, 200],
    ]);
    const [first, second] = flaky.map((r) => r.headers);
    const eventKey = outcomes.find((o) => o.deliveryId === 'flaky')?.eventKey;
    expect(first?.['webhook-id']).toBe(eventKey);
    expect(second?.['webhook-id']).toBe(eventKey);
    expect(first?.['idempotency-key']).toBe(eventKey);
    expect(second?.['idempotency-key']).toBe(eventKey);
    // The backoff waits at least a second, so the attempts fall in different seconds.
    expect(Number(second?.['webhook-timestamp'])).toBeGreaterThan(Number(first?.['webhook-timestamp']));
    expect(second?.['webhook-signature']).not.toBe(first?.['webhook-signature']);
  });

  it('never puts the key in a queue message, nor the key or a signature in a log line', () => {
    expect(deadLetters.length).toBeGreaterThan(0);
    expect(JSON.stringify(deadLetters)).not.toContain(KEY.slice(6));
    const logs = output.join('');
    expect(logs).toContain('redelivery'); // the DEBUG output was captured
    expect(logs).not.toContain(KEY.slice(6));
    for (const r of target.received) {
      for (const signature of String(r.headers['webhook-signature']).split(' ')) {
        expect(logs).not.toContain(signature.slice(3));
      }
    }
  });
});

describe('rotation with overlap', () => {
  const OLD = `whsec_${randomBytes(32).toString('base64')}`;
  const NEW = `whsec_${randomBytes(32).toString('base64')}`;
  const OTHER = `whsec_${randomBytes(32).toString('base64')}`;
  const ROUTE = 'route:rotation';
  const keyOf: Record<string, string> = {
    '/knows-old': deriveTargetKey(OLD, ROUTE),
    '/knows-new': deriveTargetKey(NEW, ROUTE),
    '/knows-neither': deriveTargetKey(OTHER, ROUTE),
  };
  let target: Awaited<ReturnType<typeof startVerifyingTarget>>;
  let secret = JSON.stringify({ current: NEW, previous: OLD });
  let sender: SigningWebhookSender;

  beforeAll(async () => {
    target = await startVerifyingTarget((path) => keyOf[path] ?? OTHER);
    // The chain the redeliverer uses, with the secret as a variable that an operator "rotates".
    sender = new SigningWebhookSender({
      sender: createWebhookSender({
        DELIVERY_TIMEOUT_SECONDS: 5,
        BATCH_SIZE: 10,
        TARGET_ALLOWED_HOSTS: [],
        TARGET_ALLOW_LOOPBACK: true,
        TARGET_ALLOW_PRIVATE: false,
      }),
      secret: async () => secret,
      secretSource: 'rotation-test',
    });
  });

  afterAll(async () => {
    await sender?.close();
    await target?.stop();
  });

  const send = (path: string) =>
    sender.send({
      url: `${target.url}${path}`,
      headers: { 'Idempotency-Key': 'evt-rotation', 'Content-Type': 'application/json' },
      body: '{"rotating":true}',
      signingTarget: ROUTE,
    });

  it('during the overlap, a target knowing only the old key or only the new key accepts', async () => {
    expect((await send('/knows-old')).status).toBe(200);
    expect((await send('/knows-new')).status).toBe(200);
    expect((await send('/knows-neither')).status).toBe(401);
  });

  it('after the overlap ends, only the new key verifies', async () => {
    secret = JSON.stringify({ current: NEW });
    expect((await send('/knows-new')).status).toBe(200);
    expect((await send('/knows-old')).status).toBe(401);
  });
});

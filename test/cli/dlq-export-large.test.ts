import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueDepth } from '../../cli/commands/status';
import { DynamoDbLedger } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { eventKey } from '../../lambdas/shared/domain/event-key';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { recordCall } from '../support/ledger-seed';

/**
 * Exporting a large DLQ in bounded memory: the real CLI runs as a child process whose V8 heap is capped well
 * below the size of the file it writes, so it can only finish by streaming. The DLQ is seeded directly (tests
 * only: the pipeline itself never sends to the DLQ) because making thousands of real dead letters takes minutes.
 */
const COUNT = 6_000;
const BODY_BYTES = 8_000;
const HEAP_CAP_MB = 48;
const WITH_LEDGER = 250;
const run = promisify(execFile);

let aws: LocalAws;
let dir: string;
const messageBodies = new Map<string, RetryMessage>();

function message(i: number): RetryMessage {
  const targetUrl = `https://hooks.example.com/h/${i % 7}`;
  const body = JSON.stringify({ i, filler: 'x'.repeat(BODY_BYTES) });
  return {
    v: 1,
    eventKey: eventKey('wh-big', targetUrl, body),
    deliveryId: `d-${i}`,
    webhookId: 'wh-big',
    targetUrl,
    headers: { 'X-Seq': String(i) },
    body,
    contentType: 'application/json',
    originalStatus: 503,
    failedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    enqueuedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000 + 60_000).toISOString(),
    strippedHeaders: [],
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-export-'));
  aws = await startLocalAws(parsePipelineSettings({ WEBHOOK_ID: 'wh-big' }));
  const ledger = new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 1, client: aws.doc });
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < COUNT; i += 10) {
    const batch = Array.from({ length: 10 }, (_, j) => message(i + j));
    for (const m of batch) messageBodies.set(m.deliveryId, m);
    sends.push(
      aws.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: aws.dlqUrl,
          Entries: batch.map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) })),
        }),
      ),
    );
    if (sends.length >= 20) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
  for (let i = 0; i < WITH_LEDGER; i++) {
    const m = message(i);
    await ledger.claim(m);
    const attempt = { messageId: `m-${i}`, at: new Date().toISOString(), durationMs: 5 };
    await recordCall(
      ledger,
      m,
      { ...attempt, outcome: 'retryable', status: 503, error: 'target answered 503 Service Unavailable' },
      { kind: 'exhausted', reason: '503 Service Unavailable after 1 attempts' },
    );
  }
}, 120_000);

afterAll(async () => {
  await aws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('dlq export of a large DLQ', () => {
  it('streams every message to the file with a heap far smaller than the file, and leaves the DLQ intact', async () => {
    const out = join(dir, 'big.json');
    const { stderr } = await run(
      process.execPath,
      [`--max-old-space-size=${HEAP_CAP_MB}`, 'bin/cli.mjs', 'dlq', 'export', '--out', out],
      {
        env: {
          ...process.env,
          AWS_ENDPOINT_URL_SQS: aws.sqsEndpoint,
          AWS_ENDPOINT_URL_DYNAMODB: aws.dynamoDbEndpoint,
        },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    expect(stderr).toContain(`${COUNT} dead letter(s) written`);
    const size = (await stat(out)).size;
    expect(size).toBeGreaterThan(COUNT * BODY_BYTES);
    expect(size).toBeGreaterThan(HEAP_CAP_MB * 1024 * 1024);

    // Read the file back line by line (one entry a line) rather than parse 50 MB at once in the test.
    const seen = new Set<string>();
    let withAttempts = 0;
    let lines = 0;
    for await (const line of createInterface({ input: createReadStream(out) })) {
      lines += 1;
      if (line === '[' || line === ']') continue;
      const entry = JSON.parse(line.replace(/,$/, '')) as {
        deliveryId: string;
        originalPayload: { i: number };
        originalHeaders: Record<string, string>;
        attempts: unknown[];
        httpStatusCode: number;
      };
      const original = messageBodies.get(entry.deliveryId);
      expect(entry.originalPayload.i).toBe(Number(original?.headers['X-Seq']));
      seen.add(entry.deliveryId);
      if (entry.attempts.length > 0) withAttempts += 1;
    }
    expect(lines).toBe(COUNT + 2);
    expect(seen.size).toBe(COUNT);
    expect(withAttempts).toBe(WITH_LEDGER);

    const depth = await queueDepth(aws.sqs, aws.dlqUrl);
    expect({ visible: depth.visible, inFlight: depth.inFlight }).toEqual({ visible: COUNT, inFlight: 0 });
  }, 240_000);
});

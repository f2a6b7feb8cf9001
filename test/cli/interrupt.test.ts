import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueDepth } from '../../cli/commands/status';
import { eventKey } from '../../lambdas/shared/domain/event-key';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { cleanEnv, ROOT } from './demo-process';

/**
 * Issue 23, point 10: Ctrl-C during `dlq export` never leaves a partial file at --out, and Ctrl-C during
 * `dlq redrive` says exactly how many messages moved. The real bin runs as a child process and gets a real
 * SIGINT once its progress shows it is under way. The DLQ is seeded directly (tests only).
 */
const COUNT = 1_500;
let aws: LocalAws;
let dir: string;

function message(i: number): RetryMessage {
  const targetUrl = `https://hooks.example.com/h/${i % 5}`;
  const body = JSON.stringify({ i });
  return {
    v: 1,
    eventKey: eventKey('wh-int', targetUrl, body),
    deliveryId: `int-${i}`,
    webhookId: 'wh-int',
    targetUrl,
    headers: {},
    body,
    contentType: 'application/json',
    originalStatus: 503,
    failedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    enqueuedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000 + 60_000).toISOString(),
    strippedHeaders: [],
  };
}

async function seed(count: number): Promise<void> {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < count; i += 10) {
    sends.push(
      aws.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: aws.dlqUrl,
          Entries: Array.from({ length: 10 }, (_, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify(message(i + j)),
          })),
        }),
      ),
    );
    if (sends.length >= 20) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
}

/** Runs the bin with `args`; sends SIGINT once stderr matches `when`; resolves with its exit and output. */
function interruptWhen(args: string[], when: RegExp): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [resolve(ROOT, 'bin/cli.mjs'), ...args], {
    cwd: dir,
    env: cleanEnv({ AWS_ENDPOINT_URL_SQS: aws.sqsEndpoint, AWS_ENDPOINT_URL_DYNAMODB: aws.dynamoDbEndpoint }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    if (!sent && when.test(stderr)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  return new Promise((done) => child.on('exit', (code) => done({ code, stderr })));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-interrupt-'));
  aws = await startLocalAws(parsePipelineSettings({ WEBHOOK_ID: 'wh-int' }));
  await seed(COUNT);
}, 120_000);

afterAll(async () => {
  await aws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Ctrl-C', () => {
  it('during dlq export --out dlq.json: no file at --out, no partial file left, the DLQ as it was', async () => {
    let interrupted = 0;
    for (let run = 0; run < 4; run++) {
      const out = join(dir, `dlq-${run}.json`);
      // The progress bar's first line comes after the first chunk of 100: the read is under way.
      const { code, stderr } = await interruptWhen(['dlq', 'export', '--out', out], /exporting \[/);
      const files = await readdir(dir);
      expect(files.filter((f) => f.endsWith('.partial'))).toEqual([]);
      if (code === 130) {
        interrupted += 1;
        expect(stderr).toContain(`Interrupted: nothing was written to ${out}.`);
        expect(files).not.toContain(`dlq-${run}.json`);
      } else {
        // The signal came after the rename: then the file is whole.
        expect(code, stderr).toBe(0);
        expect((JSON.parse(await readFile(out, 'utf8')) as unknown[]).length).toBe(COUNT);
      }
      const depth = await queueDepth(aws.sqs, aws.dlqUrl);
      expect({ visible: depth.visible, inFlight: depth.inFlight }).toEqual({ visible: COUNT, inFlight: 0 });
    }
    expect(interrupted).toBeGreaterThan(0);
  }, 180_000);

  it('during dlq redrive --rate 20 --yes: it says how many moved, and exactly that many did', async () => {
    const { code, stderr } = await interruptWhen(['dlq', 'redrive', '--rate', '20', '--yes'], /redriving \[/);
    expect(code, stderr).toBe(130);
    const said =
      /Interrupted: (\d+) of (\d+) message\(s\) moved to (\S+); the other (\d+) stay in the DLQ\./.exec(
        stderr,
      );
    expect(said, stderr).not.toBeNull();
    const [, moved = '', total = '', to = '', left = ''] = said ?? [];
    expect(Number(total)).toBe(COUNT);
    expect(to).toBe(aws.retryQueueUrl);
    expect(Number(moved) + Number(left)).toBe(COUNT);
    expect(Number(moved)).toBeLessThan(COUNT);
    const [retry, dlq] = await Promise.all([
      queueDepth(aws.sqs, aws.retryQueueUrl),
      queueDepth(aws.sqs, aws.dlqUrl),
    ]);
    expect(retry.visible + retry.inFlight).toBe(Number(moved));
    expect({ visible: dlq.visible, inFlight: dlq.inFlight }).toEqual({ visible: Number(left), inFlight: 0 });
  }, 120_000);
});

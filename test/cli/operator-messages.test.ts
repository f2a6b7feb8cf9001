import { lstat, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportEntry } from '../../cli/dead-letter';
import { eventKey } from '../../lambdas/shared/domain/event-key';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import { type CliRun, type LocalModeProcess, runCliProcess, startLocalMode } from './demo-process';

/**
 * Issue 13, as a new user meets it: the demo runs (`npm start`, on free ports) and each numbered point is tried
 * with the exact command the issue names, through the real bin, reading only what the demo's banner prints.
 */
let demo: LocalModeProcess;
let env: Record<string, string>;
let sqs: SQSClient;
let dlqUrl: string;
let emulatorUrl: string;
let dir: string;

const cli = (args: string[], extra: Record<string, string> = {}, cwd?: string): Promise<CliRun> =>
  runCliProcess(args, { ...env, ...extra }, cwd);

/** DLQ depth from the CLI's own JSON listing, and the SQS in-flight count, to prove a read left it intact. */
async function dlqState(): Promise<{ visible: number; inFlight: number }> {
  const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: dlqUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

function oneLineError(run: CliRun): string {
  expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  return run.stderr.trim();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'operator-'));
  demo = startLocalMode({ POLL_INTERVAL_SECONDS: '3' });
  const sqsEndpoint = (await demo.waitFor(/export AWS_ENDPOINT_URL_SQS=(\S+) /))[1] ?? '';
  const dynamoEndpoint = (await demo.waitFor(/AWS_ENDPOINT_URL_DYNAMODB=(\S+)/))[1] ?? '';
  dlqUrl = (await demo.waitFor(/dead letter queue\s+(\S+)/))[1] ?? '';
  emulatorUrl = (await demo.waitFor(/Genesys Cloud emulator\s+(\S+)/))[1] ?? '';
  env = { AWS_ENDPOINT_URL_SQS: sqsEndpoint, AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint };
  sqs = new SQSClient({
    endpoint: sqsEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await demo.waitFor(/DLQ \S+ now holds 3 message\(s\)/, 90_000);
  await demo.waitFor(/invalid\s+dlv-0007/);
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  await demo?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('1. a failed export hides nothing and replaces nothing', () => {
  it('dlq export --out missing-dir/dlq.json: one line naming the folder, before reading the DLQ', async () => {
    const run = await cli(['dlq', 'export', '--out', 'missing-dir/dlq.json'], {}, dir);
    expect(run.code).toBe(1);
    expect(oneLineError(run)).toMatch(
      /^error: --out .*missing-dir\/dlq\.json: folder .*missing-dir does not exist/,
    );
    expect(await dlqState()).toEqual({ visible: 3, inFlight: 0 });
    const list = await cli(['dlq', 'list', '--json']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(3);
  });

  it('dlq export --out docs (a folder): refused before reading', async () => {
    await mkdir(join(dir, 'docs'), { recursive: true });
    const run = await cli(['dlq', 'export', '--out', 'docs'], {}, dir);
    expect(run.code).toBe(1);
    expect(oneLineError(run)).toMatch(
      /--out .*docs is a folder: give a file name, such as .*docs\/dlq\.json/,
    );
    expect(await dlqState()).toEqual({ visible: 3, inFlight: 0 });
  });

  it('writes a private file (0600), and refuses a symbolic link at --out', async () => {
    const out = join(dir, 'dlq.json');
    const run = await cli(['dlq', 'export', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect((await lstat(out)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(out, 'utf8'))).toHaveLength(3);
    const link = join(dir, 'link.json');
    await symlink(join(dir, 'elsewhere.json'), link);
    const refused = await cli(['dlq', 'export', '--out', link]);
    expect(refused.code).toBe(1);
    expect(oneLineError(refused)).toMatch(/exists and is not a regular file \(a symbolic link\)/);
    await expect(lstat(join(dir, 'elsewhere.json'))).rejects.toThrow();
  });

  it('while messages are hidden by another read: dlq list says so and fails; a second export keeps the good file', async () => {
    const out = join(dir, 'good.json');
    expect((await cli(['dlq', 'export', '--out', out])).code).toBe(0);
    const good = await readFile(out, 'utf8');
    // An interrupted read, as the crashed export left it: both messages hidden for a while.
    const held = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 120 }),
    );
    expect(held.Messages).toHaveLength(3);
    try {
      const list = await cli(['dlq', 'list']);
      expect(list.code).toBe(1);
      expect(list.stderr).toMatch(/0 of 0 dead letter\(s\) shown/);
      expect(list.stderr).toMatch(/warning: the list leaves out 3 DLQ message\(s\) that were already hidden/);
      const again = await cli(['dlq', 'export', '--out', out]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/The export is incomplete, so .*good\.json was left as it was/);
      expect(again.stderr).not.toMatch(/the DLQ is unchanged/);
      expect(await readFile(out, 'utf8')).toBe(good);
    } finally {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: dlqUrl,
          Entries: (held.Messages ?? []).map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle ?? '',
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
    expect(await dlqState()).toEqual({ visible: 3, inFlight: 0 });
  });
});

describe('3. every id the demo prints can be looked up', () => {
  it('dlq show dlv-0007: the invalid entry, with its reason', async () => {
    const run = await cli(['dlq', 'show', 'dlv-0007']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /Delivery dlv-0007 \(webhook demo-calls\): refused by the poller, never enqueued/,
    );
    expect(run.stdout).toMatch(/reason\s+target URL scheme ftp is not allowed/);
  });

  it('dlq show dlv-0002: the folded repeat, shown with the event it was folded into', async () => {
    const run = await cli(['dlq', 'show', 'dlv-0002']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Delivery dlv-0001 \(webhook demo-orders\) \(dlv-0002 is a repeat of it/);
    expect(run.stdout).toMatch(/repeats folded\s+dlv-0002/);
    expect(run.stdout).toMatch(/the ledger says delivered/);
  });

  it('dlq show of a dead letter: labels apart from values, receives before this read only', async () => {
    const first = await cli(['dlq', 'show', 'dlv-0004']);
    const second = await cli(['dlq', 'show', 'dlv-0004']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/\n {2}dead-lettered at +\d{4}-/);
    const receives = (run: CliRun) =>
      Number(/received (\d+) time\(s\) before this read/.exec(run.stdout)?.[1]);
    // Each read is one receive: the second read sees the first one's, never its own.
    expect(receives(second)).toBe(receives(first) + 1);
    expect(await dlqState()).toEqual({ visible: 3, inFlight: 0 });
  });
});

describe('5. replay against the demo', () => {
  it('without credentials: says which are missing and where the demo prints them', async () => {
    const run = await cli(['replay', '--webhook', 'demo-orders', '--since', '1h', '--dry-run'], {
      GENESYS_CLOUD_REGION: emulatorUrl,
    });
    expect(run.code).toBe(1);
    expect(oneLineError(run)).toBe(
      'error: replay needs Genesys Cloud credentials: GENESYS_CLOUD_CLIENT_ID and GENESYS_CLOUD_CLIENT_SECRET are not set (environment or .env); against the demo of npm start, use the ones its banner prints',
    );
  });

  it('the replay command the banner prints works as printed', async () => {
    const line = (await demo.waitFor(/replay from the demo\s+(.+)/))[1] ?? '';
    const words = line.split(' ');
    const vars = Object.fromEntries(
      words
        .filter((w) => /^[A-Z_]+=/.test(w))
        .map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
    );
    const args = words.slice(words.indexOf('genesys-webhook-recovery') + 1);
    const run = await cli(args, vars);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/would enqueue\s+dlv-0004/);
  });
});

describe('6. endpoints are named', () => {
  it('an unreachable DynamoDB endpoint is named as such', async () => {
    const run = await cli(['status'], { AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' });
    expect(run.code).toBe(1);
    expect(oneLineError(run)).toMatch(
      /^error: cannot reach the DynamoDB endpoint http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\): is local mode \(npm start\) running\? .*AWS_ENDPOINT_URL_DYNAMODB/,
    );
  });

  it('an unreachable SQS endpoint is named as such', async () => {
    const run = await cli(['dlq', 'list'], { AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9' });
    expect(oneLineError(run)).toMatch(/^error: cannot reach the SQS endpoint http:\/\/127\.0\.0\.1:9 /);
  });

  it('another program on the SQS port is named as such, not as "Unexpected token"', async () => {
    const other = createServer((_req, res) => res.end('hello from another program'));
    await new Promise<void>((done) => other.listen(0, '127.0.0.1', () => done()));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const run = await cli(['dlq', 'list'], { AWS_ENDPOINT_URL_SQS: url });
      expect(run.code).toBe(1);
      expect(oneLineError(run)).toMatch(
        new RegExp(
          `^error: the SQS endpoint ${url} did not answer as SQS does .*is another program listening there\\?`,
        ),
      );
    } finally {
      other.close();
    }
  });
});

describe('7. dlq list --visibility-timeout 0', () => {
  it('is refused before reading, with the reason', async () => {
    const run = await cli(['dlq', 'list', '--visibility-timeout', '0']);
    expect(run.code).toBe(2);
    expect(oneLineError(run)).toBe(
      'error: --visibility-timeout must be a whole number of seconds from 60 to 43200 (got 0): each message must stay hidden for the whole read, or the read meets it again',
    );
    expect(await dlqState()).toEqual({ visible: 3, inFlight: 0 });
  });
});

describe('polish', () => {
  it.each([
    [
      ['dlq'],
      2,
      /^error: dlq needs a subcommand: dlq list, dlq show <deliveryId>, dlq export --out FILE or dlq redrive/,
    ],
    [['dlq', 'list', '--jsn'], 2, /^error: unknown option --jsn \(did you mean --json\?\); see --help$/],
    [['stauts'], 2, /^error: unknown command "stauts" \(did you mean status\?\)/],
  ])('%j: %i, a helpful message', async (args, code, message) => {
    const run = await cli(args);
    expect(run.code).toBe(code);
    expect(oneLineError(run)).toMatch(message);
  });

  it('--version prints the version', async () => {
    const run = await cli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^genesys-webhook-recovery \d+\.\d+\.\d+\n$/);
  });

  it('dlq show masks credential header values unless --reveal-credentials', async () => {
    const body = '{"eventId":"secret-1"}';
    const message: RetryMessage = {
      v: 1,
      eventKey: eventKey('wh-secret', 'https://hooks.example.com/x', body),
      deliveryId: 'with-credentials',
      webhookId: 'wh-secret',
      targetUrl: 'https://hooks.example.com/x',
      headers: {
        Authorization: 'Bearer top-secret-token',
        Cookie: 'session=top-secret-cookie',
        'X-Trace': 't-1',
      },
      body,
      contentType: 'application/json',
      originalStatus: 503,
      failedAt: new Date().toISOString(),
      enqueuedAt: new Date().toISOString(),
      strippedHeaders: [],
    };
    // Only possible with FORWARD_CREDENTIAL_HEADERS=true; put on the DLQ directly for the test.
    await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify(message) }));
    try {
      for (const args of [
        ['dlq', 'show', 'with-credentials'],
        ['dlq', 'show', 'with-credentials', '--json'],
      ]) {
        const run = await cli(args);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout).not.toContain('top-secret');
        expect(run.stdout).toContain('masked; --reveal-credentials shows it');
        expect(run.stdout).toContain('t-1');
      }
      const revealed = await cli(['dlq', 'show', 'with-credentials', '--reveal-credentials']);
      expect(revealed.stdout).toContain('Bearer top-secret-token');
    } finally {
      await removeFromDlq('with-credentials');
    }
  });

  it('dlq export of a dead letter nested 10,000 levels deep: the body is kept as text, nothing fails', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const message: RetryMessage = {
      v: 1,
      eventKey: eventKey('wh-deep', 'https://hooks.example.com/deep', deep),
      deliveryId: 'deep-body',
      webhookId: 'wh-deep',
      targetUrl: 'https://hooks.example.com/deep',
      headers: {},
      body: deep,
      contentType: 'application/json',
      originalStatus: 503,
      failedAt: new Date().toISOString(),
      enqueuedAt: new Date().toISOString(),
      strippedHeaders: [],
    };
    await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify(message) }));
    try {
      const out = join(dir, 'deep.json');
      const run = await cli(['dlq', 'export', '--out', out]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).not.toMatch(/RangeError|call stack/);
      const entries = JSON.parse(await readFile(out, 'utf8')) as ExportEntry[];
      expect(entries).toHaveLength(4);
      expect(entries.find((e) => e.deliveryId === 'deep-body')?.originalPayload).toBe(deep);
      const show = await cli(['dlq', 'show', 'deep-body', '--json']);
      expect(show.code, show.stderr).toBe(0);
    } finally {
      await removeFromDlq('deep-body');
    }
    expect(await dlqState()).toEqual({ visible: 3, inFlight: 0 });
  });

  it('after a redrive, attempts are numbered once over the event, with the redrive marked', async () => {
    const redrive = await cli(['dlq', 'redrive', '--yes']);
    expect(redrive.code, redrive.stderr).toBe(0);
    await demo.waitFor(/giving up\s+dlv-0006 .*attempt 3[\s\S]*giving up\s+dlv-0006 .*attempt 3/, 60_000);
    for (let i = 0; i < 60 && (await dlqState()).visible < 3; i++)
      await new Promise((r) => setTimeout(r, 500));
    const run = await cli(['dlq', 'show', 'dlv-0006']);
    expect(run.code, run.stderr).toBe(0);
    const numbers = [...run.stdout.matchAll(/^ {4}#(\d+) /gm)].map((m) => Number(m[1]));
    expect(numbers).toEqual([1, 2, 3, 4, 5, 6]);
    expect(run.stdout).toMatch(/#4 .*its try 1 \(after a redrive\)/);
  }, 90_000);
});

/** Receives until the message of `deliveryId` comes up, deletes it, and releases the others. */
async function removeFromDlq(deliveryId: string): Promise<void> {
  const held: { ReceiptHandle?: string }[] = [];
  try {
    for (let round = 0; round < 10; round++) {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
      );
      for (const m of out.Messages ?? []) {
        if ((m.Body ?? '').includes(`"deliveryId":"${deliveryId}"`)) {
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: m.ReceiptHandle ?? '' }),
          );
          return;
        }
        held.push(m);
      }
    }
  } finally {
    if (held.length > 0) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: dlqUrl,
          Entries: held.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle ?? '',
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }
}

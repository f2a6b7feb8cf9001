import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbLedger, ledgerKeys } from '../../lambdas/shared/adapters/dynamodb-ledger';
import { ABSENT, hold as holdWrite } from '../../lambdas/shared/domain/event-lifecycle';
import { targetId } from '../../lambdas/shared/domain/target-id';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { lambdaContext } from '../../local/lambda-context';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { eventually } from '../support/queue-contents';
import { retryMessage } from '../unit/redeliver-fakes';

/**
 * A Slack-style target keeps its credential in the path (`/services/T…/B…/<secret>`), another in the query. The
 * redeliverer's Lambda entry (lambdas/redeliverer/handler.ts, as bundled) runs against fauxqs and dynalite with
 * INFO logs and EMF metrics on; the target first answers 503 with Retry-After, which holds that path back, then
 * 200. Every event ends delivered or decided, and neither token appears in anything the function wrote (logs,
 * EMF) nor in the ledger's reasons; the target id does.
 */
const PATH_TOKEN = `pathtok${randomBytes(12).toString('hex')}`;
const QUERY_TOKEN = `querytok${randomBytes(12).toString('hex')}`;
const PATH = `/services/T0TEAM/B0HOOK/${PATH_TOKEN}`;

let aws: LocalAws;
let target: Server;
let url: string;
const answers: number[] = [];
const output: string[] = [];
let restore: (() => void) | undefined;

beforeAll(async () => {
  aws = await startLocalAws(parsePipelineSettings({ WEBHOOK_ID: 'wh-1' }));
  target = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // The first call finds the path busy: 503 with a Retry-After holds that path (not the host) back.
      const status = answers.length === 0 ? 503 : 200;
      answers.push(status);
      res.writeHead(status, status === 503 ? { 'retry-after': '1' } : {}).end();
    });
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(target.address() as AddressInfo).port}${PATH}?sig=${QUERY_TOKEN}`;
  // Everything the function writes: Powertools' logger and metrics write to the process's streams.
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write.bind(s));
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write;
  }
  restore = () => {
    for (const [i, s] of streams.entries()) Object.assign(s, { write: originals[i] });
  };
}, 30_000);

afterAll(async () => {
  restore?.();
  vi.unstubAllEnvs();
  target?.closeAllConnections();
  await new Promise((r) => target?.close(r));
  await aws?.stop();
});

const record = (messageId: string, n: string, receiveCount = 1): SQSEvent => ({
  Records: [
    {
      messageId,
      receiptHandle: `rh-${messageId}-${receiveCount}`,
      body: JSON.stringify(retryMessage({ targetUrl: url, body: `{"n":"${n}"}` })),
      attributes: {
        ApproximateReceiveCount: String(receiveCount),
        SentTimestamp: '1764331200000',
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: '1764331200000',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:retry',
      awsRegion: 'us-east-1',
    },
  ],
});

const keyOf = (n: string) =>
  ledgerKeys.event(retryMessage({ targetUrl: url, body: `{"n":"${n}"}` }).eventKey);

async function ledgerItems(): Promise<Record<string, unknown>[]> {
  const page = await aws.doc.send(new ScanCommand({ TableName: aws.tableName }));
  return (page.Items ?? []) as Record<string, unknown>[];
}

describe('a target with a token in its path and its query', () => {
  it('is held back, redelivered, and named by its id only in logs, metrics and ledger reasons', async () => {
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_SQS: aws.sqsEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: aws.dynamoDbEndpoint,
      WEBHOOK_ID: 'wh-1',
      TARGET_ALLOW_LOOPBACK: 'true',
      MAX_HOLD_SECONDS: '10',
      SIGN_REDELIVERIES: 'false',
      // fauxqs answers to a queue URL on its own endpoint; its own URLs have a host the URL check refuses.
      RETRY_QUEUE_URL: `${aws.sqsEndpoint}/000000000000/${aws.retryQueueUrl.split('/').pop()}`,
      LEDGER_TABLE_NAME: aws.tableName,
      POWERTOOLS_SERVICE_NAME: 'path-token-test',
      POWERTOOLS_METRICS_NAMESPACE: 'PathTokenTest',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    vi.resetModules();
    const { handler } = await import('../../lambdas/redeliverer/handler');
    const context = () => lambdaContext('redeliverer', 25);

    // A: 503 with Retry-After, which holds the path; B, right after: held back. Each is sent again with a delay.
    await handler(record('m-a', 'a'), context());
    await handler(record('m-b', 'b'), context());
    // C has been held for an hour already (another instance held it): past MAX_HOLD_SECONDS, it is decided.
    const c = retryMessage({ targetUrl: url, body: '{"n":"c"}' });
    const ledger = new DynamoDbLedger({ tableName: aws.tableName, ttlDays: 1, client: aws.doc });
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const identity = { deliveryId: c.deliveryId, webhookId: c.webhookId, targetUrl: c.targetUrl };
    const budget = { budget: 1, spent: 0, heldSince: hourAgo, redrive: false };
    await ledger.transition(c.eventKey, holdWrite(ABSENT, budget, new Date()), identity);
    await handler(record('m-c', 'c'), context());
    // The copies the redeliverer sent to the retry queue, as the event source would hand them over, until the
    // hold (Retry-After: 1) is over and both are delivered.
    const statusOf = async (n: string) => (await ledgerItems()).find((i) => i.pk === keyOf(n))?.status;
    await eventually(
      async () => {
        const out = await aws.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: aws.retryQueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          }),
        );
        const template = record('x', 'x').Records[0] as SQSRecord;
        const records = (out.Messages ?? []).map((m: Message) => ({
          ...template,
          messageId: m.MessageId ?? '',
          receiptHandle: m.ReceiptHandle ?? '',
          body: m.Body ?? '',
        }));
        if (records.length > 0) await handler({ Records: records }, context());
        return (await statusOf('a')) === 'delivered' && (await statusOf('b')) === 'delivered';
      },
      'A and B delivered',
      30_000,
    );
    expect(answers).toEqual([503, 200, 200]);

    const items = await ledgerItems();
    const byBody = (n: string) => items.find((i) => i.pk === keyOf(n));
    expect(byBody('a')?.status).toBe('delivered');
    expect(byBody('b')?.status).toBe('delivered');
    expect(byBody('c')?.status).toBe('exhausted');
    const id = targetId(url);
    const reasons = JSON.stringify(items.map((i) => [i.finalReason, i.attempts]));
    expect(String(byBody('c')?.finalReason)).toContain(id);

    const text = output.join('');
    const emf = output.filter((l) => l.includes('"_aws"')).join('');
    expect(emf).toContain('"TargetHeldSeconds"');
    expect(emf).toContain(`"Target":"path ${id}"`);
    expect(text).toContain(`"target":"${id}"`);
    for (const token of [PATH_TOKEN, QUERY_TOKEN, 'B0HOOK']) {
      expect(text).not.toContain(token);
      expect(reasons).not.toContain(token);
    }
  }, 40_000);
});

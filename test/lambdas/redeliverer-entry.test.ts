import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SQSEvent } from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { deriveTargetKey } from '../../lambdas/shared/domain/target-signing-key';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { lambdaContext } from '../../local/lambda-context';
import { type LocalAws, startLocalAws } from '../../local/local-aws';
import { retryMessage } from '../unit/redeliver-fakes';

/**
 * The redeliverer's Lambda entry (lambdas/redeliverer/handler.ts) as deployed: settings from the environment, the
 * signing key read through Powertools getSecret from a Secrets Manager stand-in, SQS and DynamoDB emulators, and a
 * target that verifies with the standardwebhooks package.
 */
const KEY = `whsec_${randomBytes(32).toString('base64')}`;
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:hooks/signing-AbC123';

let aws: LocalAws;
let secrets: Server;
let target: Server;
const secretReads: unknown[] = [];
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
let secretsUrl: string;
let targetUrl: string;

beforeAll(async () => {
  aws = await startLocalAws(parsePipelineSettings({ WEBHOOK_ID: 'wh-1' }));
  // Secrets Manager speaks JSON 1.1: the operation is in X-Amz-Target, the answer is the secret's JSON.
  secrets = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = JSON.parse(Buffer.concat(chunks).toString()) as { SecretId: string };
      secretReads.push({ target: req.headers['x-amz-target'], secretId: request.SecretId });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ ARN: SECRET_ARN, Name: 'hooks/signing', SecretString: KEY, VersionId: 'v1' }));
    });
  });
  target = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  secretsUrl = await listen(secrets);
  targetUrl = await listen(target);
}, 30_000);

afterAll(async () => {
  secrets?.closeAllConnections();
  target?.closeAllConnections();
  await Promise.all([secrets, target].map((s) => new Promise((r) => s?.close(r))));
  await aws?.stop();
});

afterEach(() => {
  vi.unstubAllEnvs();
});

function stubLambdaEnvironment(extra: Record<string, string>) {
  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SQS: aws.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: aws.dynamoDbEndpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsUrl,
    WEBHOOK_ID: 'wh-1',
    // The target is a server on this machine; the stack's default refuses loopback.
    TARGET_ALLOW_LOOPBACK: 'true',
    // fauxqs's queue URLs have a host the URL check refuses; deliveries here succeed, so no SQS call is made.
    RETRY_QUEUE_URL: `${aws.sqsEndpoint}/000000000000/genesys-webhook-recovery-retry`,
    LEDGER_TABLE_NAME: aws.tableName,
    POWERTOOLS_SERVICE_NAME: 'redeliverer-entry-test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...extra,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
}

const event = (path: string, messageId: string): SQSEvent => ({
  Records: [
    {
      messageId,
      receiptHandle: `rh-${messageId}`,
      body: JSON.stringify(retryMessage({ targetUrl: `${targetUrl}${path}`, body: `{"n":"${messageId}"}` })),
      attributes: {
        ApproximateReceiveCount: '1',
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

describe('the redeliverer Lambda entry', () => {
  it('signs with the key of the secret it is pointed at, read once for warm invocations', async () => {
    stubLambdaEnvironment({ SIGNING_SECRET_ID: SECRET_ARN });
    vi.resetModules();
    const { handler } = await import('../../lambdas/redeliverer/handler');
    for (const id of ['m-1', 'm-2']) {
      const result = await handler(event('/hook', id), lambdaContext('redeliverer', 25));
      expect(result).toEqual({ batchItemFailures: [] });
    }
    expect(received).toHaveLength(2);
    for (const r of received) {
      expect(() =>
        new Webhook(deriveTargetKey(KEY, 'webhook:wh-1')).verify(
          r.body,
          r.headers as Record<string, string>,
          { jsonParse: false },
        ),
      ).not.toThrow();
    }
    // Cached across warm invocations (maxAge 300 s): one GetSecretValue for both.
    expect(secretReads).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: SECRET_ARN }]);
  });

  it('fails its init, naming the variable, when signing is on but no secret is named', async () => {
    stubLambdaEnvironment({});
    vi.resetModules();
    await expect(import('../../lambdas/redeliverer/handler')).rejects.toThrow(
      /SIGNING_SECRET_ID must name the Secrets Manager secret of the signing key/,
    );
  });

  it('sends unsigned requests with SIGN_REDELIVERIES=false', async () => {
    stubLambdaEnvironment({ SIGN_REDELIVERIES: 'false' });
    vi.resetModules();
    const { handler } = await import('../../lambdas/redeliverer/handler');
    const before = received.length;
    await handler(event('/unsigned', 'm-3'), lambdaContext('redeliverer', 25));
    const last = received.slice(before);
    expect(last).toHaveLength(1);
    expect(last[0]?.headers['webhook-signature']).toBeUndefined();
    expect(last[0]?.headers['idempotency-key']).toBeDefined();
  });
});

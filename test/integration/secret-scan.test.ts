import { randomBytes } from 'node:crypto';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueDepth } from '../../cli/commands/status';
import type { RedeliveryOutcome } from '../../lambdas/redeliverer/redeliver';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import {
  type EmulatedDelivery,
  type GenesysEmulator,
  startGenesysEmulator,
} from '../../local/genesys-emulator';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { eventually } from '../support/queue-contents';
import { startTargetServer } from '../support/target-server';

/**
 * Credential headers in the delivery log must not be stored anywhere the pipeline writes (the ledger, the retry
 * queue, the DLQ) nor reach the target, with FORWARD_CREDENTIAL_HEADERS left off. Every secret is a unique random
 * string, so finding any of them anywhere is a leak; markers beside them prove the scan reads the right data.
 */
const CLIENT = { clientId: 'scan-client', clientSecret: 'scan-client-secret' };
const WEBHOOK = 'wh-secrets';
const secret = (kind: string) => `SECRET-${kind}-${randomBytes(12).toString('hex')}`;

const credentialHeaders = {
  Authorization: `Bearer ${secret('bearer')}`,
  Cookie: `session=${secret('cookie')}`,
  'X-Api-Key': secret('api-key'),
  'X-Auth-Token': secret('auth-token'),
  'X-Amz-Security-Token': secret('amz'),
  'X-Hub-Signature-256': `sha256=${secret('hmac')}`,
  'X-Partner-Token': secret('partner-token'),
  // Only a credential because EXTRA_CREDENTIAL_HEADERS names it.
  'X-Tenant-Ref': secret('extra'),
};
const SECRETS = Object.values(credentialHeaders).map((v) => /SECRET-[a-z-]+-[0-9a-f]{24}/.exec(v)?.[0] ?? v);
const MARKER = `visible-${randomBytes(6).toString('hex')}`;

let emulator: GenesysEmulator;
let targets: Awaited<ReturnType<typeof startTargetServer>>;
let pipeline: LocalPipeline;
const outcomes: RedeliveryOutcome[] = [];
const invalid: string[] = [];

beforeAll(async () => {
  targets = await startTargetServer({ '/ok': () => 200, '/gone': () => 410 });
  const failedAt = new Date(Date.now() - 60_000).toISOString();
  const entry = (id: string, overrides: Partial<EmulatedDelivery> = {}): EmulatedDelivery => ({
    id,
    webhookId: WEBHOOK,
    status: 'failed',
    httpStatusCode: 503,
    body: { event: id },
    headers: { ...credentialHeaders, 'Content-Type': 'application/json', 'X-Trace': MARKER },
    webhookUrl: `${targets.url}/ok`,
    dateCreated: failedAt,
    ...overrides,
  });
  emulator = await startGenesysEmulator({
    clients: [CLIENT],
    deliveries: [
      entry('delivered'),
      entry('dead-lettered', { webhookUrl: `${targets.url}/gone` }),
      // Refused, so stored raw in the ledger: a private target, and headers that clash.
      entry('refused-private', { webhookUrl: 'http://10.1.2.3/hook' }),
      entry('refused-clash', {
        headers: { ...credentialHeaders, 'Content-Type': 'application/json', 'content-type': 'text/html' },
      }),
    ],
  });
  pipeline = await startLocalPipeline({
    settings: parsePipelineSettings({
      GENESYS_CLOUD_REGION: emulator.url,
      WEBHOOK_ID: WEBHOOK,
      MAX_RETRIES: '1',
      RETRY_DELAY_SECONDS: '1',
      MAX_RETRY_DELAY_SECONDS: '1',
      EXTRA_CREDENTIAL_HEADERS: 'X-Tenant-Ref',
      TARGET_ALLOW_LOOPBACK: 'true', // targets on 127.0.0.1, as in local mode
    }),
    credentials: CLIENT,
    waitTimeSeconds: 1,
    logLevel: 'SILENT',
    onOutcome: (o) => outcomes.push(o),
    onPollEvent: (e) => {
      if (e.kind === 'invalid') invalid.push(e.deliveryId);
    },
  });
  await pipeline.pollOnce();
  await eventually(
    async () => (await queueDepth(pipeline.aws.sqs, pipeline.aws.dlqUrl)).visible === 1,
    'the dead letter',
    45_000,
  );
  await eventually(() => outcomes.some((o) => o.result === 'delivered'), 'the delivery', 30_000);
}, 90_000);

afterAll(async () => {
  await pipeline?.stop();
  await targets?.stop();
  await emulator?.stop();
});

/** Every item of the ledger table, as text. */
async function ledgerText(): Promise<string> {
  const items: unknown[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await pipeline.aws.doc.send(
      new ScanCommand({ TableName: pipeline.aws.tableName, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return JSON.stringify(items);
}

/** Every message body on a queue as SQS holds it, read without deleting (visibility 0 puts it back at once). */
async function queueText(url: string): Promise<string> {
  const out = await pipeline.aws.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
  );
  return (out.Messages ?? []).map((m) => m.Body ?? '').join('\n');
}

function leaks(text: string): string[] {
  return SECRETS.filter((s) => text.includes(s));
}

describe('secret scan with FORWARD_CREDENTIAL_HEADERS off', () => {
  it('refused the entries meant to be refused and settled the others', () => {
    expect(invalid.sort()).toEqual(['refused-clash', 'refused-private']);
    expect(outcomes.map((o) => o.result)).toEqual(expect.arrayContaining(['delivered', 'permanent']));
  });

  it('finds no credential in the ledger, yet the raw copies of refused entries are there, redacted', async () => {
    const text = await ledgerText();
    expect(text).toContain(MARKER); // the raw copies were scanned
    expect(text).toContain('\\"Authorization\\":\\"[redacted]\\"');
    expect(text).toContain('\\"X-Tenant-Ref\\":\\"[redacted]\\"');
    expect(leaks(text)).toEqual([]);
  });

  it('finds no credential in the DLQ, which still names the stripped headers', async () => {
    const text = await queueText(pipeline.aws.dlqUrl);
    expect(text).toContain(MARKER);
    expect(text).toContain('"strippedHeaders":["Authorization","Cookie","X-Api-Key"');
    expect(leaks(text)).toEqual([]);
  });

  it('finds no credential in the retry queue nor at the target', async () => {
    expect(leaks(await queueText(pipeline.aws.retryQueueUrl))).toEqual([]);
    const received = targets.hits.map((h) => JSON.stringify(h.headers)).join('\n');
    expect(received).toContain(MARKER);
    expect(leaks(received)).toEqual([]);
  });
});

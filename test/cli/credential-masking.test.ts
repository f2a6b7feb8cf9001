import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { queueDepth } from '../../cli/commands/status';
import { runCli } from '../../cli/main';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { type GenesysEmulator, startGenesysEmulator } from '../../local/genesys-emulator';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { eventually } from '../support/queue-contents';
import { startTargetServer } from '../support/target-server';

/**
 * With FORWARD_CREDENTIAL_HEADERS=true credential headers are enqueued, sent and kept in the DLQ, so `dlq show`
 * is where they must be masked: the built-in names (now also `…-Key` and the `auth…` family) and the operator's
 * EXTRA_CREDENTIAL_HEADERS, which the CLI reads from local mode's environment or from the stack's
 * ExtraCredentialHeaders output (a CloudFormation stand-in here).
 */
const CLIENT = { clientId: 'mask-client', clientSecret: 'mask-client-secret-value' };
const secret = (name: string) => `value-of-${name.toLowerCase()}-9f3a`;
const CREDENTIALS = [
  'X-Tenant-Ref', // only through EXTRA_CREDENTIAL_HEADERS
  'X-Partner-Key',
  'Subscription-Key',
  'Access-Key',
  'Authentication',
  'X-Signing-Key',
];
const HEADERS = {
  ...Object.fromEntries(CREDENTIALS.map((n) => [n, secret(n)])),
  'X-Trace': 'visible-trace-1',
  'Content-Type': 'application/json',
};

let emulator: GenesysEmulator;
let targets: Awaited<ReturnType<typeof startTargetServer>>;
let pipeline: LocalPipeline;
let cfn: Server;
let cfnUrl: string;

beforeAll(async () => {
  targets = await startTargetServer({ '/gone': () => 410 });
  emulator = await startGenesysEmulator({
    clients: [CLIENT],
    deliveries: [
      {
        id: 'keys-1',
        webhookId: 'wh-mask',
        status: 'failed',
        httpStatusCode: 502,
        body: { a: 1 },
        headers: HEADERS,
        webhookUrl: `${targets.url}/gone`,
        dateCreated: new Date(Date.now() - 600_000).toISOString(),
      },
    ],
  });
  pipeline = await startLocalPipeline({
    settings: parsePipelineSettings({
      GENESYS_CLOUD_REGION: emulator.url,
      WEBHOOK_ID: 'wh-mask',
      FORWARD_CREDENTIAL_HEADERS: 'true',
      EXTRA_CREDENTIAL_HEADERS: 'X-Tenant-Ref',
      TARGET_ALLOW_LOOPBACK: 'true',
    }),
    credentials: CLIENT,
    waitTimeSeconds: 1,
  });
  await pipeline.pollOnce();
  await eventually(
    async () => (await queueDepth(pipeline.aws.sqs, pipeline.aws.dlqUrl)).visible === 1,
    'the dead letter',
    45_000,
  );
  // A deployed stack's outputs, pointing at the emulators' queues and table. fauxqs's own queue URLs have a host
  // the SDK cannot parse once it takes them as endpoints (outside local mode): the same queue on its endpoint.
  const onEndpoint = (url: string) =>
    `${pipeline.aws.sqsEndpoint}${new URL(url.replace('sqs.us-east-1.', '')).pathname}`;
  const outputs = {
    RetryQueueUrl: onEndpoint(pipeline.aws.retryQueueUrl),
    RetryQueueArn: pipeline.aws.retryQueueArn,
    DeadLetterQueueUrl: onEndpoint(pipeline.aws.dlqUrl),
    DeadLetterQueueArn: pipeline.aws.dlqArn,
    LedgerTableName: pipeline.aws.tableName,
    ExtraCredentialHeaders: 'X-Tenant-Ref',
  };
  cfn = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const members = Object.entries(outputs)
        .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
        .join('');
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>Masked</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-11-28T12:00:00Z</CreationTime><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => cfn.listen(0, '127.0.0.1', () => resolve()));
  cfnUrl = `http://127.0.0.1:${(cfn.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  cfn?.closeAllConnections();
  await new Promise((r) => cfn?.close(r));
  await pipeline?.stop();
  await targets?.stop();
  await emulator?.stop();
});

afterEach(() => {
  vi.unstubAllEnvs();
});

async function cli(args: string[], env: Record<string, string>) {
  for (const [k, v] of Object.entries({
    AWS_ENDPOINT_URL_SQS: pipeline.aws.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: pipeline.aws.dynamoDbEndpoint,
    ...env,
  }))
    vi.stubEnv(k, v);
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    stdin: process.stdin,
  });
  return { code, stdout, stderr };
}

const show = ['dlq', 'show', 'keys-1', '--visibility-timeout', '60'];

describe('credential headers forwarded with FORWARD_CREDENTIAL_HEADERS=true', () => {
  it('reached the target, and are in the dead letter', () => {
    const [hit] = targets.hitsOn('/gone');
    for (const name of CREDENTIALS) expect(hit?.headers[name.toLowerCase()]).toBe(secret(name));
  });

  it('are masked by dlq show in local mode, EXTRA_CREDENTIAL_HEADERS read from the environment', async () => {
    for (const json of [false, true]) {
      const { code, stdout } = await cli([...show, '--local', ...(json ? ['--json'] : [])], {
        EXTRA_CREDENTIAL_HEADERS: 'X-Tenant-Ref',
      });
      expect(code).toBe(0);
      expect(stdout).toContain('visible-trace-1');
      for (const name of CREDENTIALS) {
        expect(stdout).toContain(name);
        expect(stdout).not.toContain(secret(name));
      }
    }
    // Without the setting, only the name it adds is shown: the setting is what masks it.
    const plain = await cli([...show, '--local'], { EXTRA_CREDENTIAL_HEADERS: '' });
    expect(plain.stdout).toContain(secret('X-Tenant-Ref'));
    for (const name of CREDENTIALS.slice(1)) expect(plain.stdout).not.toContain(secret(name));
  });

  it('are masked by dlq show against a stack, EXTRA_CREDENTIAL_HEADERS read from its output', async () => {
    const { code, stdout, stderr } = await cli([...show, '--stack', 'Masked', '--region', 'us-east-1'], {
      AWS_ENDPOINT_URL_CLOUDFORMATION: cfnUrl,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      EXTRA_CREDENTIAL_HEADERS: '',
    });
    expect({ code, stderr }).toMatchObject({ code: 0 });
    expect(stdout).toContain('visible-trace-1');
    for (const name of CREDENTIALS) expect(stdout).not.toContain(secret(name));
    const revealed = await cli(
      [...show, '--stack', 'Masked', '--region', 'us-east-1', '--reveal-credentials'],
      {
        AWS_ENDPOINT_URL_CLOUDFORMATION: cfnUrl,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
    );
    expect(revealed.stdout).toContain(secret('X-Tenant-Ref'));
  });
});

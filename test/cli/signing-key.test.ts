import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../cli/main';
import { SigningWebhookSender } from '../../lambdas/shared/adapters/signing-webhook-sender';
import { FakeSender } from '../unit/redeliver-fakes';

/**
 * `signing-key` prints the key one target verifies with: the same key the redeliverer's signer derives for that
 * target, from the stack's secret (CloudFormation and Secrets Manager stand-ins) or from SIGNING_SECRET locally.
 */
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:GenesysWebhookRecovery/webhook-signing-secret-AbC123';
let secretText = SECRET;
let outputs: Record<string, string> = { SigningSecretArn: ARN };
let server: Server;
let endpoint: string;
const calls: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target === 'secretsmanager.GetSecretValue') {
        calls.push(`${target} ${JSON.parse(Buffer.concat(chunks).toString()).SecretId}`);
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(
          JSON.stringify({
            ARN,
            Name: 'GenesysWebhookRecovery/webhook-signing-secret',
            SecretString: secretText,
          }),
        );
        return;
      }
      // CloudFormation speaks the query protocol: a form in, XML out.
      calls.push(new URLSearchParams(Buffer.concat(chunks).toString()).get('Action') ?? '?');
      const members = Object.entries(outputs)
        .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
        .join('');
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>GenesysWebhookRecovery</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-11-28T12:00:00Z</CreationTime><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

afterEach(() => {
  vi.unstubAllEnvs();
  secretText = SECRET;
  outputs = { SigningSecretArn: ARN };
});

async function run(args: string[], env: Record<string, string> = {}) {
  for (const [k, v] of Object.entries({
    AWS_ENDPOINT_URL_CLOUDFORMATION: endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_REGION: 'eu-west-1',
    AWS_SECRET_ACCESS_KEY: 'test',
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

/** What the redeliverer's signer sends to `target` with `secret`, as headers. */
async function signedFor(secret: string, signingTarget: string, body = '{"e":1}') {
  const inner = new FakeSender();
  const sender = new SigningWebhookSender({ sender: inner, secret: async () => secret, secretSource: 't' });
  await sender.send({
    url: 'https://hooks.example.com/x',
    headers: { 'Idempotency-Key': 'evt-1' },
    body,
    signingTarget,
  });
  return inner.requests[0]?.headers ?? {};
}

describe('signing-key', () => {
  it('prints, from the stack’s secret, the key that verifies that target’s requests and no other’s', async () => {
    const orders = await run(['signing-key', '--route', 'orders', '--region', 'eu-west-1']);
    expect(orders).toMatchObject({ code: 0 });
    expect(orders.stdout).toMatch(/^whsec_[A-Za-z0-9+/]{43}=\n$/);
    expect(orders.stderr).toBe(
      `key of route:orders, version 1, from ${ARN}: redeliveries to it are signed with it now.\n`,
    );
    expect(calls).toEqual(['DescribeStacks', `secretsmanager.GetSecretValue ${ARN}`]);
    const webhook = await run(['signing-key', '--webhook', 'wh-1', '--region', 'eu-west-1']);
    const ordersKey = orders.stdout.trim();
    const webhookKey = webhook.stdout.trim();
    expect(webhookKey).not.toBe(ordersKey);
    expect(orders.stdout).not.toContain(SECRET.slice(6));

    const toOrders = await signedFor(SECRET, 'route:orders');
    expect(() => new Webhook(ordersKey).verify('{"e":1}', toOrders)).not.toThrow();
    expect(() => new Webhook(webhookKey).verify('{"e":1}', toOrders)).toThrow('No matching signature');
  });

  it('prints the newest version while a target’s key is rotated, and says when a version is not signed with', async () => {
    secretText = JSON.stringify({ current: SECRET, targets: { 'route:orders': [2, 1] } });
    const newest = await run(['signing-key', '--route', 'orders']);
    const v1 = await run(['signing-key', '--route', 'orders', '--key-version', '1']);
    const v3 = await run(['signing-key', '--route', 'orders', '--key-version', '3']);
    expect(newest.stderr).toContain('version 2');
    expect(new Set([newest.stdout, v1.stdout, v3.stdout]).size).toBe(3);
    expect(v3.stderr).toContain(
      `not yet signed with: list it in the secret's "targets" ({"route:orders":[3,2,1]})`,
    );
    const headers = await signedFor(secretText, 'route:orders');
    for (const key of [newest, v1])
      expect(() => new Webhook(key.stdout.trim()).verify('{"e":1}', headers)).not.toThrow();
    expect(() => new Webhook(v3.stdout.trim()).verify('{"e":1}', headers)).toThrow();
  });

  it('derives from SIGNING_SECRET in local mode, and refuses without it', async () => {
    const local = await run(['signing-key', '--local', '--webhook', 'wh-1'], { SIGNING_SECRET: SECRET });
    expect(local.code).toBe(0);
    const headers = await signedFor(SECRET, 'webhook:wh-1');
    expect(() => new Webhook(local.stdout.trim()).verify('{"e":1}', headers)).not.toThrow();
    const none = await run(['signing-key', '--local', '--webhook', 'wh-1'], { SIGNING_SECRET: '' });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      /^error: local mode signs with a key of its own making unless SIGNING_SECRET is set/,
    );
  });

  it('refuses a missing or double target, and a stack that signs nothing', async () => {
    expect(await run(['signing-key'])).toMatchObject({
      code: 2,
      stderr: 'error: signing-key needs one of --route NAME or --webhook ID\n',
    });
    expect((await run(['signing-key', '--route', 'a', '--webhook', 'b'])).code).toBe(2);
    expect((await run(['signing-key', '--route', 'a', '--key-version', '0'])).code).toBe(2);
    expect((await run(['signing-key', '--route', 'a', '--since', '1h'])).stderr).toContain(
      'signing-key does not take --since',
    );
    outputs = {};
    const off = await run(['signing-key', '--route', 'orders']);
    expect(off.code).toBe(1);
    expect(off.stderr).toContain('deployed with signRedeliveries=false');
  });
});

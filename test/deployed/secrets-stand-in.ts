import { randomInt, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** CloudFormation's GenerateSecretString, as the template holds it. */
export interface GenerateSecretString {
  readonly PasswordLength?: number;
  readonly ExcludeCharacters?: string;
  readonly ExcludeLowercase?: boolean;
  readonly ExcludeUppercase?: boolean;
  readonly ExcludeNumbers?: boolean;
  readonly ExcludePunctuation?: boolean;
  readonly IncludeSpace?: boolean;
  readonly SecretStringTemplate?: string;
  readonly GenerateStringKey?: string;
}

const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/**
 * A value as Secrets Manager's GetRandomPassword makes it for these options (32 characters by default), put in
 * the template's JSON under GenerateStringKey when SecretStringTemplate is given.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-secretsmanager-secret-generatesecretstring.html
 */
export function generateSecretString(options: GenerateSecretString): string {
  let chars = '';
  if (!options.ExcludeLowercase) chars += 'abcdefghijklmnopqrstuvwxyz';
  if (!options.ExcludeUppercase) chars += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  if (!options.ExcludeNumbers) chars += '0123456789';
  if (!options.ExcludePunctuation) chars += PUNCTUATION;
  if (options.IncludeSpace) chars += ' ';
  const excluded = new Set(options.ExcludeCharacters ?? '');
  const pool = [...chars].filter((c) => !excluded.has(c));
  const length = options.PasswordLength ?? 32;
  const value = Array.from({ length }, () => pool[randomInt(pool.length)]).join('');
  if (options.SecretStringTemplate === undefined) return value;
  const template = JSON.parse(options.SecretStringTemplate) as Record<string, unknown>;
  return JSON.stringify({ ...template, [options.GenerateStringKey ?? 'password']: value });
}

interface StoredSecret {
  readonly arn: string;
  readonly name: string;
  value: string;
  versionId: string;
}

export interface SecretsStandIn {
  readonly url: string;
  /** Creates a secret as CloudFormation would: its SecretString, or a value from its GenerateSecretString. */
  create(arn: string, name: string, properties: Readonly<Record<string, unknown>>): void;
  /** PutSecretValue, as an operator does (e.g. the Genesys credentials after the deploy). */
  put(id: string, value: string): void;
  /** The secret's ARN for any id GetSecretValue accepts (ARN, partial ARN, name), or undefined. */
  arnOf(id: string): string | undefined;
  value(id: string): string | undefined;
  stop(): Promise<void>;
}

/**
 * A Secrets Manager stand-in on loopback: the JSON 1.1 protocol's GetSecretValue (by ARN, by name, or by the
 * ARN without its random suffix, as Secrets Manager accepts), answering `ResourceNotFoundException` for others.
 */
export async function startSecretsStandIn(): Promise<SecretsStandIn> {
  const secrets: StoredSecret[] = [];
  const find = (id: string) =>
    secrets.find((s) => s.arn === id || s.name === id || s.arn.replace(/-[A-Za-z0-9]{6}$/, '') === id);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) =>
      send(res, 500, { __type: 'InternalServiceError', message: String(error) }),
    );
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { SecretId?: string };
    const target = String(req.headers['x-amz-target'] ?? '');
    if (target !== 'secretsmanager.GetSecretValue') {
      return send(res, 400, {
        __type: 'InvalidRequestException',
        message: `${target} is not served by the stand-in`,
      });
    }
    const secret = find(String(body.SecretId ?? ''));
    if (!secret) {
      return send(res, 400, {
        __type: 'ResourceNotFoundException',
        message: "Secrets Manager can't find the specified secret.",
      });
    }
    send(res, 200, {
      ARN: secret.arn,
      Name: secret.name,
      SecretString: secret.value,
      VersionId: secret.versionId,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: Date.now() / 1000,
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    create(arn, name, properties) {
      const generate = properties.GenerateSecretString as GenerateSecretString | undefined;
      const given = properties.SecretString;
      const value = typeof given === 'string' ? given : generateSecretString(generate ?? {});
      secrets.push({ arn, name, value, versionId: randomUUID() });
    },
    put(id, value) {
      const secret = find(id);
      if (!secret) throw new Error(`no secret ${id}`);
      secret.value = value;
      secret.versionId = randomUUID();
    },
    arnOf: (id) => find(id)?.arn,
    value: (id) => find(id)?.value,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-RequestId': randomUUID() });
  res.end(text);
}

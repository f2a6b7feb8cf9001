import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runSimulation } from '@cloud-copilot/iam-simulate';

/** An IAM policy document, intrinsics resolved. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Record<string, unknown>[];
}

/** Who may call through the proxy: one per function (and per service role acting for one). */
export interface Caller {
  /** The name calls are recorded under, e.g. the function's logical id. */
  readonly name: string;
  /** The access key id its processes sign with; how the proxy tells callers apart. */
  readonly accessKeyId: string;
  readonly roleArn: string;
  /** Its role's policies, from the template (AWS::IAM::Policy and the role's inline policies). */
  readonly policies: readonly PolicyDocument[];
}

/** One AWS call as IAM sees it. */
export interface RecordedCall {
  readonly caller: string;
  /** The API operation, e.g. SendMessageBatch. */
  readonly operation: string;
  /** The IAM action that authorises it, e.g. sqs:SendMessage. */
  readonly action: string;
  readonly resource: string;
  readonly allowed: boolean;
}

export interface ProxyUpstreams {
  readonly sqs: string;
  readonly dynamodb: string;
  readonly secretsmanager: string;
}

export interface IamProxyOptions {
  readonly account: string;
  readonly region: string;
  readonly upstreams: ProxyUpstreams;
  readonly callers: readonly Caller[];
  /** Resource-based policies by resource ARN (the queues' policies). */
  readonly resourcePolicies: Readonly<Record<string, PolicyDocument>>;
  /** A secret's ARN for the SecretId a caller gives (name, partial or full ARN). */
  readonly secretArn: (secretId: string) => string | undefined;
  /** The emulators' own account, which fauxqs writes in ARNs it returns: shown to callers as `account`. */
  readonly emulatorAccount?: string;
}

export interface IamProxy {
  /** The endpoint for every service (AWS_ENDPOINT_URL_SQS, _DYNAMODB, _SECRETS_MANAGER). */
  readonly url: string;
  readonly calls: readonly RecordedCall[];
  /** Records a decision made elsewhere (EventBridge's check of a function's resource policy, say). */
  record(call: RecordedCall): void;
  /**
   * Evaluates and records a call a service makes with a caller's role, which does not pass through the proxy
   * (Scheduler's lambda:InvokeFunction with its role, say).
   */
  authorize(
    caller: string,
    action: string,
    resource: string,
    context: Record<string, string>,
    operation: string,
  ): Promise<boolean>;
  /**
   * Evaluates and records a call an AWS service makes as its own service principal (EventBridge's sqs:SendMessage
   * to a rule's queue target, say): no role, so only the resource's policy can allow it, with its conditions and
   * Deny statements evaluated against `context` (aws:SourceArn, aws:SourceAccount, …). The service speaks TLS.
   */
  authorizeService(
    principal: string,
    action: string,
    resource: string,
    context: Record<string, string>,
    operation: string,
  ): Promise<boolean>;
  stop(): Promise<void>;
}

/** The IAM action per API operation where they differ (batch APIs are authorised by the single action). */
const SQS_ACTION: Readonly<Record<string, string>> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};
const TRANSACT_ACTION: Readonly<Record<string, string>> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

/**
 * One local endpoint for SQS, DynamoDB and Secrets Manager that does what IAM does before AWS serves a call: it
 * tells the caller by the access key id in the request's SigV4 credential scope, maps the request to its IAM
 * action(s) and resource ARN(s), evaluates them against the caller's role policies (and the resource's policy)
 * with @cloud-copilot/iam-simulate, forwards what is allowed to fauxqs, dynalite or the Secrets Manager stand-in,
 * and answers AccessDeniedException otherwise. Every decision is recorded. The request context says
 * aws:SecureTransport=true: the SDK in Lambda speaks HTTPS; only the hop to this proxy is plain HTTP.
 */
export async function startIamProxy(options: IamProxyOptions): Promise<IamProxy> {
  const calls: RecordedCall[] = [];
  const decisions = new Map<string, Promise<boolean>>();
  const byKey = new Map(options.callers.map((c) => [c.accessKeyId, c]));
  const byName = new Map(options.callers.map((c) => [c.name, c]));

  function decide(name: string, action: string, resource: string, context: Record<string, string> = {}) {
    const caller = byName.get(name);
    if (!caller) return Promise.resolve(false);
    const key = JSON.stringify([name, action, resource, context]);
    let decision = decisions.get(key);
    if (!decision) {
      decision = evaluate(caller, action, resource, context);
      decisions.set(key, decision);
    }
    return decision;
  }

  async function evaluate(caller: Caller, action: string, resource: string, context: Record<string, string>) {
    return simulate(caller.roleArn, action, resource, context, caller.policies, caller.name);
  }

  async function simulate(
    principal: string,
    action: string,
    resource: string,
    context: Record<string, string>,
    policies: readonly PolicyDocument[],
    name: string,
  ) {
    const resourcePolicy = options.resourcePolicies[resource];
    const result = await runSimulation(
      {
        request: {
          principal,
          action,
          resource: { resource, accountId: options.account },
          contextVariables: { 'aws:SecureTransport': 'true', ...context },
        },
        identityPolicies: policies.map((policy, i) => ({ name: `${name}-${i}`, policy })),
        ...(resourcePolicy ? { resourcePolicy } : {}),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (result.resultType === 'error') {
      throw new Error(`iam-simulate could not evaluate ${action} on ${resource}: ${result.errors.message}`);
    }
    return result.overallResult === 'Allowed';
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, { __type: 'InternalFailure', message: String(error) });
    });
  });
  const url = await listen(server);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const scope = /Credential=([^/]+)\/[^/]+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''));
    const caller = scope ? byKey.get(scope[1] ?? '') : undefined;
    const service = scope?.[2] ?? '';
    if (!caller) {
      return reply(res, 403, {
        __type: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      });
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.slice(target.indexOf('.') + 1);
    const body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
    const wanted = requestedActions(service, operation, body);
    let denied: { action: string; resource: string } | undefined;
    for (const { action, resource } of wanted) {
      const allowed = await decide(caller.name, action, resource);
      calls.push({ caller: caller.name, operation, action, resource, allowed });
      if (!allowed && !denied) denied = { action, resource };
    }
    if (denied) {
      const sessionArn = caller.roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/');
      return reply(
        res,
        400,
        {
          __type: 'com.amazon.coral.service#AccessDeniedException',
          message: `User: ${sessionArn}/${caller.name} is not authorized to perform: ${denied.action} on resource: ${denied.resource} because no identity-based policy allows the ${denied.action} action`,
        },
        service === 'sqs' ? { 'x-amzn-query-error': 'AccessDenied;Sender' } : {},
      );
    }
    const upstream = options.upstreams[service as keyof ProxyUpstreams];
    if (!upstream)
      return reply(res, 400, { __type: 'UnknownOperationException', message: `service ${service}` });
    const answer = await forward(upstream, req, raw);
    let text = answer.body.toString('utf8');
    if (service === 'sqs') {
      // fauxqs answers with its own host and account; AWS would answer with the queue's own.
      text = text
        .replaceAll(new URL(options.upstreams.sqs).host, new URL(url).host)
        .replaceAll(`:${options.emulatorAccount ?? '000000000000'}:`, `:${options.account}:`);
    }
    const headers = { ...answer.headers };
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    delete headers.connection;
    res.writeHead(answer.status, { ...headers, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  /** The IAM action(s) and resource ARN(s) a request needs; a batch or transaction may need several. */
  function requestedActions(service: string, operation: string, body: Record<string, unknown>) {
    const { account, region } = options;
    if (service === 'sqs') {
      const name =
        typeof body.QueueName === 'string'
          ? body.QueueName
          : String(body.QueueUrl ?? '')
              .split('/')
              .pop();
      const resource = `arn:aws:sqs:${region}:${account}:${name}`;
      return [{ action: `sqs:${SQS_ACTION[operation] ?? operation}`, resource }];
    }
    if (service === 'dynamodb') {
      const table = (name: unknown) => `arn:aws:dynamodb:${region}:${account}:table/${String(name)}`;
      if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
        return (body.TransactItems as Record<string, { TableName?: string }>[]).flatMap((item) =>
          Object.entries(item).map(([kind, op]) => ({
            action: `dynamodb:${TRANSACT_ACTION[kind] ?? kind}`,
            resource: table(op.TableName),
          })),
        );
      }
      if (operation === 'BatchWriteItem' || operation === 'BatchGetItem') {
        return Object.keys(body.RequestItems as object).map((name) => ({
          action: `dynamodb:${operation}`,
          resource: table(name),
        }));
      }
      return [{ action: `dynamodb:${operation}`, resource: table(body.TableName) }];
    }
    if (service === 'secretsmanager') {
      const id = String(body.SecretId ?? '');
      // An unknown id is evaluated against the ARN AWS would build from its name (no secret: no access either).
      const resource =
        options.secretArn(id) ??
        (id.startsWith('arn:') ? id : `arn:aws:secretsmanager:${region}:${account}:secret:${id}`);
      return [{ action: `secretsmanager:${operation}`, resource }];
    }
    return [{ action: `${service}:${operation}`, resource: '*' }];
  }

  return {
    url,
    calls,
    record: (call) => calls.push(call),
    async authorize(caller, action, resource, context, operation) {
      const allowed = await decide(caller, action, resource, context);
      calls.push({ caller, operation, action, resource, allowed });
      return allowed;
    },
    async authorizeService(principal, action, resource, context, operation) {
      const key = JSON.stringify(['service', principal, action, resource, context]);
      let decision = decisions.get(key);
      if (!decision) {
        decision = simulate(principal, action, resource, context, [], principal);
        decisions.set(key, decision);
      }
      const allowed = await decision;
      calls.push({ caller: principal, operation, action, resource, allowed });
      return allowed;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: ReturnType<typeof createServer>): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-requestid': randomUUID(),
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function forward(
  upstream: string,
  req: IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const target = new URL(req.url ?? '/', upstream);
  return new Promise((resolve, reject) => {
    const out = request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host, 'content-length': body.length } },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () =>
          resolve({ status: answer.statusCode ?? 500, headers: answer.headers, body: Buffer.concat(chunks) }),
        );
        answer.on('error', reject);
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}

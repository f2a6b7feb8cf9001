import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { EmulatedDelivery } from '../../local/genesys-emulator';
import { DEPLOYED_EVENT_SOURCE, DEPLOYED_WEBHOOK } from './deployed-context';
import type { DeployedStack } from './deployed-stack';
import type { CfnTemplate } from './synth-deployed';

/** The deployed-stack test's targets, events and looks at the outcome. */

/**
 * A host that answers 429 with `Retry-After: 2` for `heldForMs` from its first request, then 200: the issue's
 * case. A 429 is the target asking for time, not a verdict (issue 20): it holds the host and path and spends no
 * budget, so however often a path is asked during the hold, its events are delivered once the host answers.
 */
export async function startHeldHost(heldForMs: number, retryAfterSeconds = 2) {
  let first: number | undefined;
  const hits: { path: string; status: number }[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      first ??= Date.now();
      const status = Date.now() - first < heldForMs ? 429 : 200;
      hits.push({ path: req.url ?? '/', status });
      res.writeHead(status, status === 429 ? { 'Retry-After': String(retryAfterSeconds) } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function delivery(id: string, url: string, secondsAgo: number): EmulatedDelivery {
  return {
    id,
    webhookId: DEPLOYED_WEBHOOK,
    status: 'failed',
    httpStatusCode: 503,
    body: { eventId: id },
    headers: { 'User-Agent': 'Genesys' },
    webhookUrl: url,
    dateCreated: new Date(Date.now() - secondsAgo * 1000).toISOString(),
  };
}

export function presenceEvent(id: string, user: string, topicName = `v2.users.${user}.presence`) {
  return {
    version: '0' as const,
    id,
    'detail-type': 'v2.users.{id}.presence',
    source: DEPLOYED_EVENT_SOURCE,
    account: '111111111111',
    time: '2026-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      topicName,
      version: '2',
      eventBody: { id: user, presenceDefinition: { systemPresence: 'Available' } },
      metadata: { CorrelationId: `correlation-${user}` },
      timestamp: '2026-01-01T00:00:00.000Z',
    },
  };
}

export type LedgerItem = {
  pk: string;
  kind: string;
  deliveryId: string;
  status?: string;
  duplicateDeliveryIds?: Set<string>;
  webhookId?: string;
  reason?: string;
  raw?: string;
};
export async function ledger(stack: DeployedStack): Promise<LedgerItem[]> {
  const table = stack.resources[stack.logicalId('AWS::DynamoDB::Table', 'Ledger')]?.ref;
  const out = await stack.doc.send(new ScanCommand({ TableName: table }));
  return (out.Items ?? []) as LedgerItem[];
}
export const statusOf = (items: LedgerItem[], id: string) =>
  items.find((i) => i.kind === 'event' && i.deliveryId === id)?.status;

/** Removes sqs:SendMessage from the redeliverer role's statements (what main had before commit 08ac3ad). */
export function withoutRedelivererSendMessage(template: CfnTemplate): void {
  for (const resource of Object.values(template.Resources)) {
    const p = resource.Properties ?? {};
    const roles = (p.Roles as { Ref?: string }[] | undefined) ?? [];
    if (resource.Type !== 'AWS::IAM::Policy' || !roles.some((r) => r.Ref?.startsWith('RedelivererRole')))
      continue;
    const document = p.PolicyDocument as { Statement: { Action: string | string[] }[] };
    document.Statement = document.Statement.map((s) => ({
      ...s,
      Action: [s.Action].flat().filter((a) => a !== 'sqs:SendMessage'),
    })).filter((s) => s.Action.length > 0);
  }
}

/** The rule ARN a queue-policy statement's condition names, as the template writes it (a GetAtt of the rule). */
function conditionRule(statement: Record<string, unknown>): string | undefined {
  const arnEquals = (statement.Condition as { ArnEquals?: Record<string, unknown> } | undefined)?.ArnEquals;
  return (arnEquals?.['aws:SourceArn'] as { 'Fn::GetAtt'?: [string, string] } | undefined)?.[
    'Fn::GetAtt'
  ]?.[0];
}

/** A rule ARN of this account that no rule of the stack has (a statement left from another rule, say). */
export const OTHER_RULE_ARN = 'arn:aws:events:us-east-1:111111111111:rule/another-stack-Unmatched';

/**
 * The queue policies with EventBridge's statements edited, as a hand-made or drifted policy could be: the retry
 * queue's without the presence rule's statement (its dead-letter queue still allows it), and with the catch-all
 * rule's naming another rule; the eventbridge-failures queue's without the catch-all rule's statement.
 */
export function withRuleStatementsEdited(template: CfnTemplate): void {
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::SQS::QueuePolicy') continue;
    const p = resource.Properties ?? {};
    const queue = ((p.Queues as { Ref?: string }[] | undefined) ?? [])[0]?.Ref ?? '';
    const document = p.PolicyDocument as { Statement: Record<string, unknown>[] };
    if (queue.startsWith('QueuesRetryQueue')) {
      document.Statement = document.Statement.filter(
        (s) => !conditionRule(s)?.startsWith('EventBridgeSourceRoutepresence'),
      ).map((s) =>
        conditionRule(s)?.startsWith('EventBridgeSourceUnmatched')
          ? { ...s, Condition: { ArnEquals: { 'aws:SourceArn': OTHER_RULE_ARN } } }
          : s,
      );
    }
    if (queue.startsWith('EventBridgeSourceIntakeFailuresQueue')) {
      document.Statement = document.Statement.filter(
        (s) => !conditionRule(s)?.startsWith('EventBridgeSourceUnmatched'),
      );
    }
  }
}

/** Receives and deletes every message of a queue, each parsed as JSON when it is (raw text otherwise). */
export async function drainRaw(
  stack: DeployedStack,
  prefix: string,
): Promise<{ deliveryId?: string; raw: string }[]> {
  const out: { deliveryId?: string; raw: string }[] = [];
  const url = stack.queueUrl(prefix);
  for (;;) {
    const got = await stack.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    if (!got.Messages?.length) return out;
    for (const m of got.Messages) {
      const raw = m.Body ?? '';
      let deliveryId: string | undefined;
      try {
        deliveryId = (JSON.parse(raw) as { deliveryId?: string }).deliveryId;
      } catch {}
      out.push({ ...(deliveryId ? { deliveryId } : {}), raw });
      await stack.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  }
}

/** The ARN of the queue whose logical id starts with `prefix`. */
export function arnOf(stack: DeployedStack, prefix: string): string {
  return stack.resources[stack.logicalId('AWS::SQS::Queue', prefix)]?.attributes.Arn ?? '';
}

/** Messages on a queue, visible, in flight or delayed. */
export async function queueDepth(stack: DeployedStack, prefix: string): Promise<number> {
  const out = await stack.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: stack.queueUrl(prefix),
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return Object.values(out.Attributes ?? {}).reduce((sum, n) => sum + Number(n), 0);
}

/** The redeliverer's outcome log lines (`"message":"redelivery"`) still in the functions' kept output. */
export function redeliveryLines(stack: DeployedStack): Record<string, unknown>[] {
  return stack
    .output()
    .split('\n')
    .flatMap((line) => {
      if (!line.startsWith('{') || !line.includes('"redelivery"')) return [];
      try {
        const json = JSON.parse(line) as Record<string, unknown>;
        return json.message === 'redelivery' ? [json] : [];
      } catch {
        return [];
      }
    });
}

import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { InvocationResult } from './function-process';
import type { IamProxy } from './iam-proxy';
import type { PhysicalResource } from './intrinsics';
import type { CfnTemplate } from './synth-deployed';

/** The service principal EventBridge calls its targets as, when the target has no RoleArn. */
export const EVENTBRIDGE_PRINCIPAL = 'events.amazonaws.com';

/** What became of one target of a rule for one event. */
export interface TargetDelivery {
  /** The rule's logical id. */
  readonly rule: string;
  /** The target's ARN (a function or a queue). */
  readonly target: string;
  /** The invocation (Lambda), or the SendMessage (SQS): its MessageId, or why it was refused. */
  readonly result: InvocationResult;
  /** Where a refused event went: its target's DeadLetterConfig queue, and whether that queue took it. */
  readonly deadLetter?: { readonly queue: string; readonly sent: boolean };
}

/** The rule an event matched, as a target is called for it. */
export interface RuleCall {
  readonly ruleId: string;
  readonly ruleArn: string;
  readonly target: Record<string, unknown>;
  /** The event as it arrived on the bus. */
  readonly event: unknown;
}

export interface RuleTargetsOptions {
  readonly template: CfnTemplate;
  readonly resources: Readonly<Record<string, PhysicalResource>>;
  readonly resolve: (value: unknown) => unknown;
  readonly proxy: IamProxy;
  /** A client straight to fauxqs: EventBridge's own sends, once the queue's policy has allowed them. */
  readonly sqs: SQSClient;
  readonly invokeAsync: (functionArn: string, event: unknown) => Promise<InvocationResult>;
}

/**
 * EventBridge's side of a rule's targets: whether the target's resource-based policy lets events.amazonaws.com
 * call it for this rule (AWS::Lambda::Permission for a function, AWS::SQS::QueuePolicy for a queue), then the
 * call; a call refused goes to the target's dead-letter queue, when it has one.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions
 */
export function ruleTargets(options: RuleTargetsOptions) {
  const { template, resources, resolve, proxy } = options;
  const permissions = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::Permission')
    .map(
      (r) =>
        resolve(r.Properties) as {
          Action: string;
          FunctionName: string;
          Principal: string;
          SourceArn?: string;
        },
    );
  /** Queue ARN → the URL the admin client reaches it by. */
  const queues = new Map(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::SQS::Queue')
      .map(([id]) => [resources[id]?.attributes.Arn ?? id, resources[id]?.ref ?? id]),
  );
  const functions = new Set(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id]) => resources[id]?.attributes.Arn),
  );

  /**
   * The queue's policy, evaluated for events.amazonaws.com (its Allow statements' conditions — ArnEquals or
   * ArnLike on aws:SourceArn — and its Deny statements) and recorded by the IAM proxy. EventBridge sends over
   * TLS, so enforceSSL's `aws:SecureTransport: false` Deny does not apply.
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions
   */
  const mayQueue = (queueArn: string, call: RuleCall, operation: string) =>
    proxy.authorizeService(
      EVENTBRIDGE_PRINCIPAL,
      'sqs:SendMessage',
      queueArn,
      { 'aws:SourceArn': call.ruleArn, 'aws:SourceAccount': accountOf(call.ruleArn) },
      operation,
    );

  const send = async (queueArn: string, body: string, attributes?: Record<string, MessageAttributeValue>) => {
    const out = await options.sqs.send(
      new SendMessageCommand({
        QueueUrl: queues.get(queueArn),
        MessageBody: body,
        ...(attributes ? { MessageAttributes: attributes } : {}),
      }),
    );
    return out.MessageId;
  };

  /**
   * A call refused for want of permission is not retried: EventBridge sends the event straight to the target's
   * DeadLetterConfig queue, which must allow events.amazonaws.com sqs:SendMessage for the rule just as a target
   * queue must; without one (or refused there too) the event is dropped. The message is the event as it arrived
   * (not the target's transformed input), with the attributes the guide lists.
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
   */
  async function deadLetter(call: RuleCall, targetArn: string, error: InvocationResult & { ok: false }) {
    const config = call.target.DeadLetterConfig as { Arn?: unknown } | undefined;
    if (config?.Arn === undefined) return { rule: call.ruleId, target: targetArn, result: error };
    const queue = String(resolve(config.Arn));
    const allowed =
      queues.has(queue) && (await mayQueue(queue, call, `SendMessage (rule ${call.ruleId} dead-letter)`));
    if (allowed) {
      const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
      await send(queue, JSON.stringify(call.event), {
        RULE_ARN: text(call.ruleArn),
        TARGET_ARN: text(targetArn),
        ERROR_CODE: text(error.error.errorType),
        ERROR_MESSAGE: text(error.error.errorMessage),
        RETRY_ATTEMPTS: { DataType: 'Number', StringValue: '0' },
      });
    }
    return { rule: call.ruleId, target: targetArn, result: error, deadLetter: { queue, sent: allowed } };
  }

  const refusal = (what: string, call: RuleCall): InvocationResult & { ok: false } => ({
    ok: false,
    error: {
      errorType: 'NO_PERMISSIONS',
      errorMessage: `${EVENTBRIDGE_PRINCIPAL} may not ${what} for ${call.ruleArn}`,
    },
  });

  return {
    /** Calls one target with its rendered input (`text`, the JSON text EventBridge would send). */
    async call(call: RuleCall, text: string): Promise<TargetDelivery> {
      const arn = String(resolve(call.target.Arn));
      if (queues.has(arn)) {
        if (!(await mayQueue(arn, call, `SendMessage (rule ${call.ruleId})`)))
          return deadLetter(call, arn, refusal(`sqs:SendMessage to ${arn}`, call));
        const messageId = await send(arn, text);
        return { rule: call.ruleId, target: arn, result: { ok: true, result: { MessageId: messageId } } };
      }
      if (!functions.has(arn))
        throw new Error(
          `rule ${call.ruleId}: target ${arn} is neither a queue nor a function of the template`,
        );
      const permitted = permissions.some(
        (perm) =>
          perm.Action === 'lambda:InvokeFunction' &&
          perm.Principal === EVENTBRIDGE_PRINCIPAL &&
          perm.SourceArn === call.ruleArn &&
          (perm.FunctionName === arn || arn.endsWith(`:function:${perm.FunctionName}`)),
      );
      proxy.record({
        caller: EVENTBRIDGE_PRINCIPAL,
        operation: `Invoke (rule ${call.ruleId})`,
        action: 'lambda:InvokeFunction',
        resource: arn,
        allowed: permitted,
      });
      if (!permitted) return deadLetter(call, arn, refusal(`lambda:InvokeFunction ${arn}`, call));
      return { rule: call.ruleId, target: arn, result: await options.invokeAsync(arn, JSON.parse(text)) };
    },
  };
}

function accountOf(arn: string): string {
  return arn.split(':')[4] ?? '';
}

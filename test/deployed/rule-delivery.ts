import type { SQSClient } from '@aws-sdk/client-sqs';
import type { EmulatedEvent } from '../../local/eventbridge-emulator';
import { patternMatches } from '../support/event-pattern';
import type { InvocationResult } from './function-process';
import type { IamProxy } from './iam-proxy';
import type { PhysicalResource } from './intrinsics';
import { ruleTargets, type TargetDelivery } from './rule-targets';
import type { CfnTemplate } from './synth-deployed';

/** An event as EventBridge hands it to a rule's target: the shape local mode's EventBridge emulator hands on. */
export type BusEvent = EmulatedEvent;

export interface RuleDeliveryOptions {
  readonly template: CfnTemplate;
  readonly resources: Readonly<Record<string, PhysicalResource>>;
  readonly resolve: (value: unknown) => unknown;
  /** Origins the template names and the local servers standing for them. */
  readonly hostMap: Readonly<Record<string, string>>;
  readonly proxy: IamProxy;
  /** A client straight to fauxqs, for what EventBridge sends to queue targets and dead-letter queues. */
  readonly sqs: SQSClient;
  readonly invokeAsync: (functionArn: string, event: unknown) => Promise<InvocationResult>;
}

export interface RuleDelivery {
  /** Delivers an event that arrived on `busName` to every target of every rule of that bus whose pattern matches. */
  put(busName: string, event: BusEvent): Promise<TargetDelivery[]>;
}

/**
 * EventBridge's side of the rules in the template: the bus an event arrived on, each rule's EventPattern, each
 * target's InputTransformer, then the target (./rule-targets.ts): a function invoked asynchronously when its
 * AWS::Lambda::Permission allows the rule, a queue sent the input when its AWS::SQS::QueuePolicy does, and the
 * target's dead-letter queue when neither does.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
 */
export function ruleDelivery(options: RuleDeliveryOptions): RuleDelivery {
  const { template, resources, resolve } = options;
  const rules = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Events::Rule');
  const targets = ruleTargets(options);

  return {
    async put(busName, event) {
      const delivered: TargetDelivery[] = [];
      for (const [id, rule] of rules) {
        const p = rule.Properties ?? {};
        const bus = p.EventBusName === undefined ? 'default' : String(resolve(p.EventBusName));
        // The pattern names the stack's account (a Ref until deployed): resolved, as CloudFormation does.
        if (bus !== busName || p.State === 'DISABLED' || !patternMatches(resolve(p.EventPattern), event))
          continue;
        const ruleArn = resources[id]?.attributes.Arn ?? id;
        for (const target of (p.Targets as Record<string, unknown>[]) ?? []) {
          const text = renderInput(target, event, ruleArn, options.hostMap);
          delivered.push(await targets.call({ ruleId: id, ruleArn, target, event }, text));
        }
      }
      return delivered;
    },
  };
}

/**
 * The target's input as the JSON text EventBridge sends: the event, its Input, or its InputTransformer rendered.
 * A function is invoked with it parsed; a queue gets the text as the message body.
 */
function renderInput(
  target: Record<string, unknown>,
  event: BusEvent,
  ruleArn: string,
  hostMap: Readonly<Record<string, string>>,
): string {
  let text: string;
  if (typeof target.Input === 'string') text = target.Input;
  else if (target.InputTransformer !== undefined) {
    const transformer = target.InputTransformer as {
      InputPathsMap?: Record<string, string>;
      InputTemplate: string;
    };
    const values: Record<string, unknown> = {
      'aws.events.event.json': event,
      'aws.events.event': event,
      'aws.events.rule-arn': ruleArn,
      'aws.events.rule-name': ruleArn.slice(ruleArn.lastIndexOf('/') + 1),
      'aws.events.event.ingestion-time': event.time,
    };
    for (const [name, path] of Object.entries(transformer.InputPathsMap ?? {}))
      values[name] = jsonPath(event, path);
    text = transformer.InputTemplate.replace(
      /(")?<([A-Za-z0-9_.-]+)>(")?/g,
      (whole, open, name: string, close) => {
        if (!(name in values)) return whole;
        const value = values[name];
        // Inside quotes a string value goes in as text; outside, every value goes in as JSON.
        if (open && close && typeof value === 'string') return JSON.stringify(value);
        return `${open ?? ''}${JSON.stringify(value)}${close ?? ''}`;
      },
    );
  } else text = JSON.stringify(event);
  for (const [from, to] of Object.entries(hostMap)) text = text.replaceAll(from, to);
  return text;
}

function jsonPath(event: unknown, path: string): unknown {
  return path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce<unknown>(
      (v, key) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined),
      event,
    );
}

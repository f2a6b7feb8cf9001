import type { EmulatedEvent } from '../../local/eventbridge-emulator';
import { patternMatches } from '../support/event-pattern';
import type { InvocationResult } from './function-process';
import type { IamProxy } from './iam-proxy';
import type { PhysicalResource } from './intrinsics';
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
  readonly invokeAsync: (functionArn: string, event: unknown) => Promise<InvocationResult>;
}

export interface RuleDelivery {
  /** Delivers an event that arrived on `busName` to every rule of that bus whose pattern matches it. */
  put(busName: string, event: BusEvent): Promise<{ rule: string; result: InvocationResult }[]>;
}

/**
 * EventBridge's side of the rules in the template: the bus an event arrived on, each rule's EventPattern,
 * each target's InputTransformer, and the function's resource policy (AWS::Lambda::Permission) that lets
 * events.amazonaws.com invoke it for that rule; then an asynchronous invocation.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
 */
export function ruleDelivery(options: RuleDeliveryOptions): RuleDelivery {
  const { template, resources, resolve } = options;
  const rules = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Events::Rule');
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

  return {
    async put(busName, event) {
      const delivered: { rule: string; result: InvocationResult }[] = [];
      for (const [id, rule] of rules) {
        const p = rule.Properties ?? {};
        const bus = p.EventBusName === undefined ? 'default' : String(resolve(p.EventBusName));
        // The pattern names the stack's account (a Ref until deployed): resolved, as CloudFormation does.
        if (bus !== busName || p.State === 'DISABLED' || !patternMatches(resolve(p.EventPattern), event))
          continue;
        const ruleArn = resources[id]?.attributes.Arn ?? id;
        for (const target of (p.Targets as Record<string, unknown>[]) ?? []) {
          const functionArn = String(resolve(target.Arn));
          const permitted = permissions.some(
            (perm) =>
              perm.Action === 'lambda:InvokeFunction' &&
              perm.Principal === 'events.amazonaws.com' &&
              perm.SourceArn === ruleArn &&
              (perm.FunctionName === functionArn || functionArn.endsWith(`:function:${perm.FunctionName}`)),
          );
          options.proxy.record({
            caller: 'events.amazonaws.com',
            operation: `Invoke (rule ${id})`,
            action: 'lambda:InvokeFunction',
            resource: functionArn,
            allowed: permitted,
          });
          if (!permitted) {
            delivered.push({
              rule: id,
              result: {
                ok: false,
                error: { errorType: 'AccessDenied', errorMessage: `no permission for ${ruleArn}` },
              },
            });
            continue;
          }
          const input = renderInput(target, event, ruleArn, options.hostMap);
          delivered.push({ rule: id, result: await options.invokeAsync(functionArn, input) });
        }
      }
      return delivered;
    },
  };
}

/** The target's input: the event, its InputPath, Input, or InputTransformer rendered. */
function renderInput(
  target: Record<string, unknown>,
  event: BusEvent,
  ruleArn: string,
  hostMap: Readonly<Record<string, string>>,
): unknown {
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
  return JSON.parse(text);
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

import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambdas/shared/errors';
import { GenesysWebhookRecovery } from '../../lib/genesys-webhook-recovery';
import { NAME_LIMITS } from '../../lib/physical-names';
import { stackConfigFromContext } from '../../lib/stack-config';
import { cdkJsonContext, synthStack } from './synth-stack';

/**
 * Stacks side by side (issue 19): staging and prod in one account and region, or two construct instances, never
 * share a metric, a name or an alarm; the longest name the settings accept fits every AWS limit.
 */
const ROUTES = JSON.stringify([{ name: 'a', topics: ['v2.x.{id}'], url: 'https://hooks.example.com/a' }]);
const BOTH = { ROUTES, eventSource: 'aws.partner/genesys.com/cloud/org/suffix' };

type Json = unknown;
type Resources = Record<string, { Type: string; Properties?: Record<string, Json> }>;

/**
 * Renders a template value with every Ref, GetAtt and pseudo parameter resolved as AWS would name things: a
 * resource with a name of ours by that name, one CloudFormation names by `<stack>-<logical id>` (CloudFormation's
 * generated names start with the stack name), pseudo parameters by placeholders as long as their longest value.
 */
function resolver(stackName: string, resources: Resources) {
  const NAME_PROPERTIES = [
    'QueueName',
    'Name',
    'AlarmName',
    'DashboardName',
    'ManagedPolicyName',
    'TopicName',
  ];
  const nameOf = (id: string): string => {
    const props = resources[id]?.Properties ?? {};
    for (const key of NAME_PROPERTIES) if (props[key] !== undefined) return String(render(props[key]));
    return `${stackName}-${id}`;
  };
  const PSEUDO: Record<string, string> = {
    'AWS::Region': 'x'.repeat(14),
    'AWS::AccountId': '123456789012',
    'AWS::Partition': 'aws-us-gov',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': stackName,
  };
  const render = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(render);
    if (value && typeof value === 'object') {
      const v = value as Record<string, Json>;
      if ('Ref' in v) return PSEUDO[String(v.Ref)] ?? nameOf(String(v.Ref));
      if ('Fn::GetAtt' in v) {
        const [id, attribute] = v['Fn::GetAtt'] as [string, string];
        return `${nameOf(id)}.${attribute}`;
      }
      if ('Fn::Join' in v) {
        const [separator, parts] = v['Fn::Join'] as [string, Json[]];
        return parts.map((p) => String(render(p))).join(separator);
      }
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, render(x)]));
    }
    return value;
  };
  return render;
}

/** Every metric an alarm or the dashboard reads, as `namespace|name|dimensions` with dimensions resolved. */
function metricsRead(stackName: string, template: Template): Set<string> {
  const resources = template.toJSON().Resources as Resources;
  const render = resolver(stackName, resources);
  const found = new Set<string>();
  const add = (namespace: Json, name: Json, dimensions: Json) =>
    found.add(`${String(namespace)}|${String(name)}|${JSON.stringify(dimensions ?? [])}`);
  for (const resource of Object.values(resources)) {
    if (resource.Type === 'AWS::CloudWatch::Alarm') {
      const p = render(resource.Properties) as Record<string, Json>;
      if (p.MetricName) add(p.Namespace, p.MetricName, p.Dimensions);
      for (const m of (p.Metrics as { MetricStat?: { Metric: Record<string, Json> } }[] | undefined) ?? []) {
        if (m.MetricStat)
          add(m.MetricStat.Metric.Namespace, m.MetricStat.Metric.MetricName, m.MetricStat.Metric.Dimensions);
      }
    }
    if (resource.Type === 'AWS::CloudWatch::Dashboard') {
      const body = JSON.parse(String(render(resource.Properties?.DashboardBody))) as {
        widgets: { properties: { metrics?: Json[][] } }[];
      };
      for (const widget of body.widgets) {
        for (const line of widget.properties.metrics ?? []) {
          const [first] = line;
          if (typeof first === 'object' && first !== null && 'expression' in first) {
            // A SEARCH names its namespace in quotes.
            const search = /\{"([^"]+)"/.exec(String((first as { expression: string }).expression));
            if (search) found.add(`search|${search[1]}`);
            continue;
          }
          const strings = line.filter((x) => typeof x === 'string') as string[];
          if (strings[0] === '.' || strings.length < 2) continue;
          add(strings[0], strings[1], strings.slice(2));
        }
      }
    }
  }
  return found;
}

describe('two stacks in one account and region', () => {
  it("never share a metric: every alarm's and the dashboard's metrics are disjoint", () => {
    const staging = synthStack({ ...BOTH, stackName: 'staging' }).template;
    const prod = synthStack({ ...BOTH, stackName: 'prod' }).template;
    const a = metricsRead('staging', staging);
    const b = metricsRead('prod', prod);
    expect(a.size).toBeGreaterThan(20);
    expect([...a].filter((m) => b.has(m))).toEqual([]);
    // Custom metrics under the stack's own namespace; the functions publish there.
    expect([...a].some((m) => m.startsWith('GenesysWebhookRecovery/staging|'))).toBe(true);
    expect([...a].filter((m) => m.startsWith('GenesysWebhookRecovery|'))).toEqual([]);
    expect(a.has('search|GenesysWebhookRecovery/staging')).toBe(true);
    const namespaces = Object.values(prod.findResources('AWS::Lambda::Function')).map(
      (f) => f.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE,
    );
    // The poller and the redeliverer: the EventBridge rules put events on the queue (no route is ordered).
    expect(namespaces).toEqual(['GenesysWebhookRecovery/prod', 'GenesysWebhookRecovery/prod']);
  });

  it('two construct instances with different prefixes in one stack are disjoint too', () => {
    const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Host');
    new GenesysWebhookRecovery(stack, 'Eu', {
      webhookIds: ['a'],
      genesysRegion: 'eu-west-1',
      namePrefix: 'eu',
    });
    new GenesysWebhookRecovery(stack, 'Us', {
      webhookIds: ['b'],
      genesysRegion: 'us-east-1',
      namePrefix: 'us',
    });
    const template = Template.fromStack(stack);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const names = alarms.map((a) => String(a.Properties.AlarmName));
    expect(new Set(names).size).toBe(names.length);
    const namespaces = new Set(
      Object.values(template.findResources('AWS::Lambda::Function')).map(
        (f) => f.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE,
      ),
    );
    expect(namespaces).toEqual(new Set(['GenesysWebhookRecovery/eu', 'GenesysWebhookRecovery/us']));
  });

  it('two construct instances with the same prefix in one stack fail the synth in one line', () => {
    const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Host');
    new GenesysWebhookRecovery(stack, 'First', {
      webhookIds: ['a'],
      genesysRegion: 'eu-west-1',
      namePrefix: 'p',
    });
    const error = (() => {
      try {
        new GenesysWebhookRecovery(stack, 'Second', {
          webhookIds: ['b'],
          genesysRegion: 'eu-west-1',
          namePrefix: 'p',
        });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      'GenesysWebhookRecovery at Host/Second: namePrefix "p" is already used by Host/First in this stack; give each instance its own namePrefix (its queue, alarm, secret and metric names derive from it)',
    );
    // The default prefix is the stack name: two instances without one collide the same way.
    const third = () => {
      new GenesysWebhookRecovery(stack, 'A', { webhookIds: ['a'], genesysRegion: 'eu-west-1' });
      new GenesysWebhookRecovery(stack, 'B', { webhookIds: ['a'], genesysRegion: 'eu-west-1' });
    };
    expect(third).toThrow(/^GenesysWebhookRecovery at Host\/B: namePrefix "Host" is already used by Host\/A/);
  });
});

describe('names at the longest stack name the settings accept', () => {
  /** Explicit names and their limits, by resource type; the other names CloudFormation generates. */
  const NAMED: Record<string, [property: string, max: number][]> = {
    'AWS::SQS::Queue': [['QueueName', NAME_LIMITS.queue.max]],
    'AWS::CloudWatch::Alarm': [['AlarmName', NAME_LIMITS.alarm.max]],
    'AWS::CloudWatch::Dashboard': [['DashboardName', NAME_LIMITS.dashboard.max]],
    'AWS::SecretsManager::Secret': [['Name', NAME_LIMITS.secret.max]],
    'AWS::IAM::ManagedPolicy': [['ManagedPolicyName', NAME_LIMITS.managedPolicy.max]],
    'AWS::Events::EventBus': [['Name', 256]],
    // Left to CloudFormation, which keeps them within 64 (Lambda, IAM, rule and schedule names) and 512 (logs).
    'AWS::Lambda::Function': [['FunctionName', 0]],
    'AWS::IAM::Role': [['RoleName', 0]],
    'AWS::Events::Rule': [['Name', 0]],
    'AWS::Scheduler::Schedule': [['Name', 0]],
    'AWS::Logs::LogGroup': [['LogGroupName', 0]],
    'AWS::SNS::Topic': [['TopicName', 0]],
  };
  const longest = (context: Record<string, string>) => {
    for (let length = 60; length > 0; length -= 1) {
      const name = `L${'o'.repeat(length - 1)}`;
      try {
        stackConfigFromContext({
          WEBHOOK_ID: 'w',
          GENESYS_CLOUD_REGION: 'us-east-1',
          ...context,
          stackName: name,
        });
        return name;
      } catch {}
    }
    throw new Error('no stack name accepted');
  };

  it.each([
    ['the delivery log', {}, 60],
    ['both sources', BOTH, 59],
  ])(
    'with %s: every name fits its limit, and one character more is refused in one line',
    (_, context, expected) => {
      const stackName = longest(context);
      expect(stackName).toHaveLength(expected);
      const { template } = synthStack({ ...context, stackName });
      const resources = template.toJSON().Resources as Resources;
      const render = resolver(stackName, resources);
      let checked = 0;
      for (const [id, resource] of Object.entries(resources)) {
        for (const [property, max] of NAMED[resource.Type] ?? []) {
          const value = resource.Properties?.[property];
          if (max === 0) {
            expect(value, `${id}.${property} is left to CloudFormation`).toBeUndefined();
            continue;
          }
          const name = String(render(value));
          expect(name.length, `${id}.${property} = ${name}`).toBeLessThanOrEqual(max);
          checked += 1;
        }
      }
      expect(checked).toBeGreaterThan(10);
      if (expected < 60) {
        const tooLong = `${stackName}x`;
        expect(() =>
          stackConfigFromContext({
            WEBHOOK_ID: 'w',
            GENESYS_CLOUD_REGION: 'us-east-1',
            ...context,
            stackName: tooLong,
          }),
        ).toThrow(
          `  - stackName is too long for "${tooLong}-eventbridge-failures": SQS queue names hold at most 80 characters (this one has 81); use at most 59 characters`,
        );
      }
    },
  );
});

import type { CfnTemplate } from './synth-deployed';

/** What a resource's Ref and Fn::GetAtt give once it exists. */
export interface PhysicalResource {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface Pseudo {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
}

/**
 * The physical names and ARNs CloudFormation would give the template's resources in `pseudo`'s account and
 * region: the template's own name where it sets one, otherwise `<stack>-<logical id>` (CloudFormation adds a
 * random suffix; none is needed here). A queue's URL points at `sqsBase` (the layer's SQS endpoint), whose path
 * is the account and the queue name, as AWS's are.
 */
export function physicalResources(
  template: CfnTemplate,
  pseudo: Pseudo,
  sqsBase: string,
): Record<string, PhysicalResource> {
  const { account, region, stackName } = pseudo;
  const out: Record<string, PhysicalResource> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    const p = resource.Properties ?? {};
    const named = (key: string) => (typeof p[key] === 'string' ? (p[key] as string) : `${stackName}-${id}`);
    switch (resource.Type) {
      case 'AWS::SQS::Queue': {
        const name = named('QueueName');
        const arn = `arn:aws:sqs:${region}:${account}:${name}`;
        out[id] = { ref: `${sqsBase}/${account}/${name}`, attributes: { Arn: arn, QueueName: name } };
        break;
      }
      case 'AWS::DynamoDB::Table': {
        const name = named('TableName');
        out[id] = { ref: name, attributes: { Arn: `arn:aws:dynamodb:${region}:${account}:table/${name}` } };
        break;
      }
      case 'AWS::SecretsManager::Secret': {
        // Secrets Manager appends six random characters to a secret's ARN.
        const name = named('Name');
        const arn = `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${suffix(id)}`;
        out[id] = { ref: arn, attributes: { Id: arn } };
        break;
      }
      case 'AWS::Lambda::Function': {
        const name = named('FunctionName');
        out[id] = { ref: name, attributes: { Arn: `arn:aws:lambda:${region}:${account}:function:${name}` } };
        break;
      }
      case 'AWS::IAM::Role': {
        const name = named('RoleName');
        out[id] = { ref: name, attributes: { Arn: `arn:aws:iam::${account}:role/${name}` } };
        break;
      }
      case 'AWS::Logs::LogGroup': {
        const name = named('LogGroupName');
        out[id] = { ref: name, attributes: { Arn: `arn:aws:logs:${region}:${account}:log-group:${name}:*` } };
        break;
      }
      case 'AWS::Events::EventBus': {
        const name = named('Name');
        out[id] = { ref: name, attributes: { Arn: `arn:aws:events:${region}:${account}:event-bus/${name}` } };
        break;
      }
      case 'AWS::Events::Rule': {
        const name = named('Name');
        out[id] = { ref: name, attributes: { Arn: `arn:aws:events:${region}:${account}:rule/${name}` } };
        break;
      }
      case 'AWS::SNS::Topic': {
        const name = named('TopicName');
        out[id] = { ref: `arn:aws:sns:${region}:${account}:${name}`, attributes: { TopicName: name } };
        break;
      }
      default:
        out[id] = { ref: `${stackName}-${id}`, attributes: {} };
    }
  }
  return out;
}

/** A stable six-character suffix per logical id, standing in for Secrets Manager's random one. */
function suffix(id: string): string {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(36).padStart(6, 'a').slice(-6);
}

/**
 * Resolves the intrinsic functions CloudFormation evaluates at deploy time — Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * Fn::Select, Fn::Split, Fn::If-free subsets — and the pseudo parameters, to plain values. An unknown function or
 * a reference to nothing throws, so the layer never runs with a half-resolved value.
 */
export function resolveIntrinsics(
  value: unknown,
  resources: Readonly<Record<string, PhysicalResource>>,
  pseudo: Pseudo,
): unknown {
  const resolve = (v: unknown): unknown => resolveIntrinsics(v, resources, pseudo);
  if (Array.isArray(value)) return value.map(resolve);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [key, arg] = entries[0] ?? [];
  if (entries.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'))) {
    switch (key) {
      case 'Ref':
        return ref(String(arg), resources, pseudo);
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
        const found = resources[id ?? '']?.attributes[attribute ?? ''];
        if (found === undefined) throw new Error(`Fn::GetAtt ${id}.${attribute}: not known to the layer`);
        return found;
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        return (resolve(parts) as unknown[]).map(String).join(sep);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        return (resolve(list) as unknown[])[Number(resolve(index))];
      }
      case 'Fn::Split': {
        const [sep, text] = arg as [string, unknown];
        return String(resolve(text)).split(sep);
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg)
          ? (arg as [string, Record<string, unknown>])
          : [String(arg), {}];
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
          if (name in vars) return String(resolve(vars[name]));
          const [id, attribute] = name.split('.');
          if (attribute !== undefined) return String(resolve({ 'Fn::GetAtt': [id, attribute] }));
          return ref(name, resources, pseudo);
        });
      }
      default:
        throw new Error(`${key}: an intrinsic function the layer does not resolve`);
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
}

function ref(name: string, resources: Readonly<Record<string, PhysicalResource>>, pseudo: Pseudo): string {
  switch (name) {
    case 'AWS::AccountId':
      return pseudo.account;
    case 'AWS::Region':
      return pseudo.region;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return pseudo.stackName;
  }
  const found = resources[name];
  if (!found) throw new Error(`Ref ${name}: no such resource in the template`);
  return found.ref;
}

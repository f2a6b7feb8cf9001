import { ALARM_NAMES, deployedAlarmName } from './constructs/recovery-alarms';
import { metricsNamespace } from './constructs/recovery-function';

/**
 * Every physical name the pipeline sets itself, built from the name prefix in one place: the constructs use these
 * builders, and stack-config checks each name against its AWS limit, so a prefix too long for one of them fails
 * the synth in one line instead of the deploy. Functions, roles, log groups, rules, the schedule, the failed-polls
 * queue and the topic have no name of ours: CloudFormation generates theirs and keeps them within the limits.
 */
export const queueNames = {
  retry: (prefix: string) => `${prefix}-retry`,
  deadLetter: (prefix: string) => `${prefix}-retry-dlq`,
  eventBridgeFailures: (prefix: string) => `${prefix}-eventbridge-failures`,
} as const;

export const secretNames = {
  genesys: (prefix: string) => `${prefix}/genesys-credentials`,
  signing: (prefix: string) => `${prefix}/webhook-signing-secret`,
} as const;

/** The EventBridge source's alarms (lib/constructs/eventbridge-source.ts). */
export const EVENTBRIDGE_ALARM_NAMES = ['EventBridgeIntakeFailures', 'EventBridgeUnmatchedEvents'] as const;

/** The operator policy's name: IAM names are per account, so the region is part of it (a token when unresolved). */
export function operatorPolicyName(prefix: string, region: string): string {
  return `${prefix}-operator-${region}`;
}
/** The longest region name of AWS today (e.g. ap-southeast-5, eusc-de-east-1), for the length check at synth. */
export const LONGEST_REGION_NAME = 14;

/** AWS's limits, with the page that states each. */
export const NAME_LIMITS = {
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
  queue: { max: 80, what: 'SQS queue names' },
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
  alarm: { max: 255, what: 'CloudWatch alarm names' },
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html
  dashboard: { max: 255, what: 'CloudWatch dashboard names' },
  // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html
  secret: { max: 512, what: 'Secrets Manager secret names' },
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
  managedPolicy: { max: 128, what: 'IAM managed policy names' },
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html (Namespace)
  namespace: { max: 255, what: 'CloudWatch metric namespaces' },
} as const;

export interface PhysicalName {
  readonly name: string;
  readonly limit: keyof typeof NAME_LIMITS;
}

/** The names a pipeline with this prefix sets; `eventBridge`/`deliveryLog` say which sources it has. */
export function physicalNames(
  prefix: string,
  sources: { readonly eventBridge: boolean; readonly deliveryLog: boolean },
): PhysicalName[] {
  const region = 'x'.repeat(LONGEST_REGION_NAME);
  return [
    { name: queueNames.retry(prefix), limit: 'queue' },
    { name: queueNames.deadLetter(prefix), limit: 'queue' },
    ...(sources.eventBridge
      ? [{ name: queueNames.eventBridgeFailures(prefix), limit: 'queue' } as const]
      : []),
    ...[...ALARM_NAMES, ...(sources.eventBridge ? EVENTBRIDGE_ALARM_NAMES : [])].map(
      (alarm) => ({ name: deployedAlarmName(prefix, alarm), limit: 'alarm' }) as const,
    ),
    { name: prefix, limit: 'dashboard' },
    { name: secretNames.signing(prefix), limit: 'secret' },
    ...(sources.deliveryLog ? [{ name: secretNames.genesys(prefix), limit: 'secret' } as const] : []),
    { name: operatorPolicyName(prefix, region), limit: 'managedPolicy' },
    { name: metricsNamespace(prefix), limit: 'namespace' },
  ];
}

/** One line per name over its limit, naming the setting, the name, the limit and the longest prefix that fits. */
export function nameLengthProblems(key: string, prefix: string, names: readonly PhysicalName[]): string[] {
  return names
    .filter((n) => n.name.length > NAME_LIMITS[n.limit].max)
    .map((n) => {
      const { max, what } = NAME_LIMITS[n.limit];
      const room = prefix.length - (n.name.length - max);
      return `  - ${key} is too long for ${JSON.stringify(n.name)}: ${what} hold at most ${max} characters (this one has ${n.name.length}); use at most ${room} characters`;
    });
}

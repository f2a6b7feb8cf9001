import { Aws, CfnCondition, Fn, Stack, Token } from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';

/**
 * The AWS Management Console's domain in each partition whose console is public. CDK's region-info has a
 * partition and a service domain suffix per region but no console domain, and neither suffix gives it (China's
 * services are under amazonaws.com.cn, its console under amazonaws.cn; GovCloud shares the commercial suffix).
 * See https://docs.aws.amazon.com/general/latest/gr/mgmt-console.html and the China and GovCloud user guides.
 */
export const CONSOLE_DOMAINS = {
  aws: 'console.aws.amazon.com',
  'aws-cn': 'console.amazonaws.cn',
  'aws-us-gov': 'console.amazonaws-us-gov.com',
} as const;

type Partition = keyof typeof CONSOLE_DOMAINS;

const isKnown = (partition: string | undefined): partition is Partition =>
  partition !== undefined && Object.hasOwn(CONSOLE_DOMAINS, partition);

/**
 * The console domain for the stack's partition. A stack bound to a region gets it at synth from region-info; an
 * environment-agnostic stack gets it at deploy time from `AWS::Partition`, through two conditions (a partition
 * without a public console of its own falls back to the commercial domain rather than failing the deployment).
 */
export function consoleDomain(scope: Construct): string {
  const stack = Stack.of(scope);
  if (!Token.isUnresolved(stack.region)) {
    const partition = RegionInfo.get(stack.region).partition;
    return CONSOLE_DOMAINS[isKnown(partition) ? partition : 'aws'];
  }
  const condition = (id: string, partition: Partition): CfnCondition =>
    (stack.node.tryFindChild(id) as CfnCondition | undefined) ??
    new CfnCondition(stack, id, { expression: Fn.conditionEquals(Aws.PARTITION, partition) });
  return Fn.conditionIf(
    condition('ConsoleInChina', 'aws-cn').logicalId,
    CONSOLE_DOMAINS['aws-cn'],
    Fn.conditionIf(
      condition('ConsoleInGovCloud', 'aws-us-gov').logicalId,
      CONSOLE_DOMAINS['aws-us-gov'],
      CONSOLE_DOMAINS.aws,
    ),
  ).toString();
}

/**
 * A link into the console: `https://<console domain>/<path>?region=<region><fragment>`. The console picks the
 * region from the query, which every partition's console accepts, so no regional subdomain is needed.
 */
export function consoleUrl(scope: Construct, path: string, fragment: string): string {
  const region = Stack.of(scope).region;
  return Fn.join('', ['https://', consoleDomain(scope), `/${path}?region=`, region, fragment]);
}

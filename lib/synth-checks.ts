import { Stack, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ConfigError } from '../lambdas/shared/errors';
import { crossAccountProblems } from './secret-settings';
import type { StackConfig } from './stack-config';

/**
 * Checks of a GenesysWebhookRecovery that need its place in the app, not only its settings: run by its
 * constructor, each failing the synth with one line.
 */

/** The name prefixes taken in each stack, with the path of the instance that took each. */
const prefixesByStack = new WeakMap<Stack, Map<string, string>>();

/**
 * Two instances in one stack with one name prefix would try to create the same queues, alarms and secrets (and
 * add into the same metrics): fail the synth in one line naming both.
 */
export function refuseSharedPrefix(recovery: Construct, namePrefix: string): void {
  const stack = Stack.of(recovery);
  const taken = prefixesByStack.get(stack) ?? new Map<string, string>();
  prefixesByStack.set(stack, taken);
  const other = taken.get(namePrefix);
  if (other !== undefined) {
    throw new ConfigError(
      `GenesysWebhookRecovery at ${recovery.node.path}: namePrefix ${JSON.stringify(namePrefix)} is already used by ${other} in this stack; give each instance its own namePrefix (its queue, alarm, secret and metric names derive from it)`,
    );
  }
  taken.set(namePrefix, recovery.node.path);
}

/**
 * A secret ARN in another account than the stack's needs its customer-managed key (secret-settings.ts). The
 * stack's account when it is known; else the account `cdk deploy` and `cdk synth` run with (CDK_DEFAULT_ACCOUNT,
 * which the CDK CLI sets from the credentials), since an environment-agnostic stack deploys there. With neither
 * (a synth without credentials) the check cannot be made and is skipped; `cdk deploy` always has credentials.
 */
export function refuseForeignSecretsWithoutKey(recovery: Construct, config: StackConfig): void {
  const stackAccount = Stack.of(recovery).account;
  const account = Token.isUnresolved(stackAccount) ? process.env.CDK_DEFAULT_ACCOUNT : stackAccount;
  if (account === undefined || !/^\d{12}$/.test(account)) return;
  const problems = crossAccountProblems(config, account);
  if (problems.length > 0) {
    throw new ConfigError(
      `Invalid GenesysWebhookRecovery settings at ${recovery.node.path}:\n${problems.join('\n')}`,
    );
  }
}

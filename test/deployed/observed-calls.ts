import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DeployedStack } from './deployed-stack';

/**
 * Role → IAM action → the resources (logical ids without CDK's hash) it was used on; and likewise for each AWS
 * service that called as its own principal, allowed by a resource's policy (`events.amazonaws.com`: EventBridge
 * sending to a rule's queue target or invoking its function).
 */
export type ObservedCalls = Record<string, Record<string, string[]>>;

export const OBSERVED_CALLS_FILE = fileURLToPath(new URL('./observed-calls.json', import.meta.url));
const BIOME = fileURLToPath(new URL('../../node_modules/.bin/biome', import.meta.url));

/** A service principal, such as events.amazonaws.com (its calls are allowed by resource policies alone). */
export const SERVICE_PRINCIPAL = /^[a-z0-9-]+\.amazonaws\.com$/;

/** A logical id without the 8-character hash CDK appends, so the file reads as construct paths. */
export function withoutHash(logicalId: string): string {
  return logicalId.replace(/[0-9A-F]{8}$/, '');
}

/** What the run did, per role and per service principal: every allowed call, action by action, on which resources. */
export function observedCalls(stack: DeployedStack): ObservedCalls {
  const byArn = new Map<string, string>();
  for (const [id, r] of Object.entries(stack.resources)) {
    byArn.set(r.ref, id);
    for (const value of Object.values(r.attributes)) byArn.set(value, id);
  }
  const roles = new Set(
    Object.entries(stack.synth.template.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .map(([id]) => id),
  );
  const out: ObservedCalls = {};
  for (const call of stack.proxy.calls) {
    const principal = roles.has(call.caller) || SERVICE_PRINCIPAL.test(call.caller);
    if (!principal || !call.allowed) continue;
    const role = withoutHash(call.caller);
    const resource = withoutHash(byArn.get(call.resource) ?? call.resource);
    const actions = out[role] ?? {};
    out[role] = actions;
    const list = actions[call.action] ?? [];
    actions[call.action] = list;
    if (!list.includes(resource)) list.push(resource);
  }
  return sortDeep(out);
}

function sortDeep(calls: ObservedCalls): ObservedCalls {
  return Object.fromEntries(
    Object.keys(calls)
      .sort()
      .map((role) => [
        role,
        Object.fromEntries(
          Object.keys(calls[role] ?? {})
            .sort()
            .map((action) => [action, [...(calls[role]?.[action] ?? [])].sort()]),
        ),
      ]),
  );
}

export function readObservedCalls(): ObservedCalls {
  return JSON.parse(readFileSync(OBSERVED_CALLS_FILE, 'utf8')) as ObservedCalls;
}

/**
 * Fails when the run's calls differ from the checked-in file, which the least-privilege test derives the roles'
 * grants from. With UPDATE_OBSERVED_CALLS=1 it writes the file instead (then review the diff: a new action is a
 * new grant).
 */
export function checkObservedCalls(observed: ObservedCalls): void {
  if (process.env.UPDATE_OBSERVED_CALLS === '1') {
    writeFileSync(OBSERVED_CALLS_FILE, `${JSON.stringify(observed, null, 2)}\n`);
    // In the project's JSON style, so that lint passes on the written file.
    spawnSync(BIOME, ['format', '--write', OBSERVED_CALLS_FILE], { stdio: 'ignore' });
    return;
  }
  const recorded = readObservedCalls();
  if (JSON.stringify(recorded) !== JSON.stringify(observed)) {
    throw new Error(
      `The deployed stack made other AWS calls than test/deployed/observed-calls.json records.\n` +
        `Run: UPDATE_OBSERVED_CALLS=1 npx vitest run test/deployed/deployed-stack.test.ts, review the diff, and ` +
        `make test/infra/least-privilege.test.ts pass against it.\n` +
        `Observed: ${JSON.stringify(observed, null, 2)}`,
    );
  }
}

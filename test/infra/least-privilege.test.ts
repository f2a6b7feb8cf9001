import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYED_CONTEXT } from '../deployed/deployed-context';
import {
  type ObservedCalls,
  readObservedCalls,
  SERVICE_PRINCIPAL,
  withoutHash,
} from '../deployed/observed-calls';
import { synthStack } from './synth-stack';
import { arnOf, byType, logicalId, type Statement, statementsOf } from './template-queries';

/**
 * Each role may do exactly what the deployed-stack layer saw it do (test/deployed/observed-calls.json, written
 * from the calls its IAM proxy allowed), plus the short list below of grants that run outside the layer's reach.
 * A grant nobody uses fails here, and so does a call no grant allows (the layer refuses it, and its own test
 * fails): the list is derived, not written by hand.
 */

/** Role → action → resources (logical ids without CDK's hash; `X:*` for the qualified ARNs of X). */
type Grants = Record<string, Record<string, string[]>>;

/** A call made by an AWS service with the role, which the layer does not run. */
const LOG_WRITES = (logGroup: string) => ({
  'logs:CreateLogStream': [logGroup],
  'logs:PutLogEvents': [logGroup],
});

/**
 * Granted but not exercised by the layer, each with its reason. The first kind is needed in AWS: the Lambda
 * service writes each function's logs with its role, and Scheduler sends to its DLQ only when it cannot invoke.
 * The second kind CDK adds with the grant it makes (grantSendMessages, grantConsumeMessages, the Scheduler
 * target's qualified ARNs); no call needs them (issue 19's note names them).
 */
const NOT_EXERCISED: Readonly<Record<string, { grants: Grants[string]; why: string }[]>> = {
  PollerRole: [
    { grants: LOG_WRITES('PollerLogGroup'), why: 'Lambda writes the function’s logs with its role' },
    {
      grants: {
        'sqs:GetQueueAttributes': ['PollerFailedPollsQueue'],
        'sqs:GetQueueUrl': ['PollerFailedPollsQueue'],
      },
      why: 'CDK’s SqsDestination grants grantSendMessages; Lambda’s on-failure destination needs only sqs:SendMessage',
    },
  ],
  RedelivererRole: [
    { grants: LOG_WRITES('RedelivererLogGroup'), why: 'Lambda writes the function’s logs with its role' },
    {
      grants: { 'sqs:GetQueueUrl': ['QueuesRetryQueue'] },
      why: 'CDK’s SqsEventSource grants grantConsumeMessages; the event source mapping and the handler use the queue URL',
    },
  ],
  PollerSchedulerRole: [
    {
      grants: { 'sqs:SendMessage': ['PollerFailedPollsQueue'] },
      why: 'Scheduler sends to its dead-letter queue only when it cannot invoke the poller',
    },
    {
      grants: { 'lambda:InvokeFunction': ['PollerFunction:*'] },
      why: 'the Scheduler Lambda target grants the qualified ARNs too; the schedule invokes the unqualified one',
    },
  ],
};

/** A policy Resource as a logical id without its hash (`X:*` for `Fn::Join ['', [X.Arn, ':*']]`). */
function resourceName(resource: unknown): string {
  const r = resource as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
  if (r.Ref) return withoutHash(r.Ref);
  if (r['Fn::GetAtt']) return withoutHash(r['Fn::GetAtt'][0]);
  const parts = r['Fn::Join']?.[1];
  if (parts?.length === 2 && parts[1] === ':*') return `${resourceName(parts[0])}:*`;
  return JSON.stringify(resource);
}

function merge(into: Grants[string], grants: Grants[string]): void {
  for (const [action, resources] of Object.entries(grants)) {
    into[action] = [...new Set([...(into[action] ?? []), ...resources])].sort();
  }
}

function granted(template: Template, role: string): Grants[string] {
  const out: Grants[string] = {};
  for (const s of statementsOf(template, role)) {
    expect(s.Effect).toBe('Allow');
    for (const action of [s.Action].flat()) merge(out, { [action]: [s.Resource].flat().map(resourceName) });
  }
  return out;
}

function sorted(grants: Grants[string]): Grants[string] {
  return Object.fromEntries(
    Object.keys(grants)
      .sort()
      .map((a) => [a, [...(grants[a] ?? [])].sort()]),
  );
}

describe('IAM: least privilege, derived from the deployed-stack layer', () => {
  let template: Template;
  let observed: ObservedCalls;
  let roles: string[];
  beforeAll(() => {
    template = synthStack(DEPLOYED_CONTEXT).template;
    observed = readObservedCalls();
    roles = byType(template, 'AWS::IAM::Role').map(([id]) => withoutHash(id));
  });

  it('knows every role of the stack (both sources)', () => {
    const observedRoles = Object.keys(observed).filter((caller) => !SERVICE_PRINCIPAL.test(caller));
    expect(roles.sort()).toEqual([...new Set([...observedRoles, ...Object.keys(NOT_EXERCISED)])].sort());
  });

  it('lets EventBridge send to the retry queue exactly as it was seen doing, one statement per rule', () => {
    // Queue policies, not roles: what events.amazonaws.com may do on each queue, for the stack's rules only.
    const allowed: Grants[string] = {};
    for (const [, policy] of byType(template, 'AWS::SQS::QueuePolicy')) {
      const queue = resourceName((policy.Properties.Queues as unknown[])[0]);
      for (const st of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
        const principal = (st as { Principal?: { Service?: string } }).Principal?.Service;
        if (st.Effect !== 'Allow' || principal !== 'events.amazonaws.com') continue;
        expect(JSON.stringify((st as { Condition?: unknown }).Condition)).toContain('aws:SourceArn');
        for (const action of [st.Action].flat()) merge(allowed, { [action]: [queue] });
      }
    }
    const expected: Grants[string] = {};
    merge(expected, observed['events.amazonaws.com'] ?? {});
    // EventBridge sends to the failures queue only when a target refuses (the layer's refusal test does it on a
    // stack of its own); CDK's SqsQueue target grants GetQueueAttributes and GetQueueUrl with SendMessage.
    merge(expected, { 'sqs:SendMessage': ['EventBridgeSourceIntakeFailuresQueue'] });
    merge(expected, {
      'sqs:GetQueueAttributes': ['QueuesRetryQueue'],
      'sqs:GetQueueUrl': ['QueuesRetryQueue'],
    });
    expect(sorted(allowed)).toEqual(sorted(expected));
  });

  it.each(Object.keys(NOT_EXERCISED))(
    'grants %s exactly what it was seen doing, plus its listed exceptions',
    (role) => {
      const expected: Grants[string] = {};
      merge(expected, observed[role] ?? {});
      for (const { grants, why } of NOT_EXERCISED[role] ?? []) {
        expect(why.length).toBeGreaterThan(0);
        merge(expected, grants);
      }
      expect(sorted(granted(template, role))).toEqual(sorted(expected));
    },
  );

  it('names one resource in every statement, never "*"', () => {
    for (const [, policy] of byType(template, 'AWS::IAM::Policy')) {
      for (const s of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
        expect(JSON.stringify(s.Resource)).not.toContain('"*"');
      }
    }
  });

  it('lets nobody send to the DLQ', () => {
    const dlq = logicalId(template, 'AWS::SQS::Queue', 'QueuesDeadLetterQueue');
    for (const [, policy] of byType(template, 'AWS::IAM::Policy')) {
      for (const s of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
        if ([s.Action].flat().includes('sqs:SendMessage')) expect(s.Resource).not.toEqual(arnOf(dlq));
      }
    }
  });
});

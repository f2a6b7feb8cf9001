import { describe, expect, it } from 'vitest';
import { synthStack } from './synth-stack';

/**
 * A first deploy into a new account succeeds (issue 19): nothing reserves concurrency (a new account's quota of
 * 10 has none to give, and a reservation fails the deploy), a failed create rolls back without leaving named
 * resources that block the retry (RetainExceptOnCreate), and what must survive `cdk destroy` does.
 */
const ROUTES = JSON.stringify([{ name: 'a', topics: ['v2.x.{id}'], url: 'https://hooks.example.com/a' }]);
const BOTH = { ROUTES, eventSource: 'aws.partner/genesys.com/cloud/org/suffix' };

type Resource = {
  Type: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Properties?: Record<string, unknown>;
};

describe('first deploy into a new account', () => {
  const resources = Object.values(synthStack(BOTH).template.toJSON().Resources as Record<string, Resource>);
  const ofType = (type: string) => resources.filter((r) => r.Type === type);

  it('reserves no concurrency for either function (poller, redeliverer)', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(2);
    for (const fn of functions) expect(fn.Properties?.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('keeps the secrets, the ledger table and the partner bus on delete and replacement, but not after a failed create', () => {
    const kept = [
      ...ofType('AWS::SecretsManager::Secret'),
      ...ofType('AWS::DynamoDB::Table'),
      ...ofType('AWS::Events::EventBus'),
    ];
    expect(kept.map((r) => r.Type).sort()).toEqual([
      'AWS::DynamoDB::Table',
      'AWS::Events::EventBus',
      'AWS::SecretsManager::Secret',
      'AWS::SecretsManager::Secret',
    ]);
    for (const r of kept) {
      expect([r.Type, r.DeletionPolicy, r.UpdateReplacePolicy]).toEqual([
        r.Type,
        'RetainExceptOnCreate',
        'Retain',
      ]);
    }
  });

  it('retains nothing else with a name that a retry would find taken', () => {
    const others = resources.filter(
      (r) =>
        !['AWS::SecretsManager::Secret', 'AWS::DynamoDB::Table', 'AWS::Events::EventBus'].includes(r.Type) &&
        r.DeletionPolicy !== undefined &&
        r.DeletionPolicy !== 'Delete',
    );
    expect(others.map((r) => `${r.Type} ${r.DeletionPolicy}`)).toEqual([]);
  });
});

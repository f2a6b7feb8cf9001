import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { routesSchema } from '../../lambdas/shared/domain/routes';
import { GENESYS_SOURCE_PREFIX, matchingRoutes } from '../../lambdas/shared/domain/topic-match';

/** examples/eventbridge: put-events entry files of Genesys's public event shape, and routes that take them. */
const dir = resolve(import.meta.dirname, '../../examples/eventbridge');
const read = (name: string) => JSON.parse(readFileSync(resolve(dir, name), 'utf8')) as unknown;
const routes = routesSchema.parse(read('routes.json'));

describe('examples/eventbridge', () => {
  it.each([
    ['user-presence-audit.json', 'audits'],
    ['conversation-customer-end.json', 'conversation-ends'],
  ])('%s is a put-events entries file of a Genesys event that route %s takes', (file, route) => {
    const entries = read(file) as { Source: string; DetailType: string; Detail: string }[];
    expect(entries).toHaveLength(1);
    for (const e of entries) {
      expect(Object.keys(e).sort()).toEqual(['Detail', 'DetailType', 'Source']);
      expect(e.Source.startsWith(GENESYS_SOURCE_PREFIX)).toBe(true);
      const detail = JSON.parse(e.Detail) as Record<string, unknown>;
      expect(Object.keys(detail)).toEqual(['topicName', 'version', 'eventBody', 'metadata', 'timestamp']);
      expect(matchingRoutes(routes, String(detail.topicName)).map((r) => r.name)).toEqual([route]);
    }
  });
});

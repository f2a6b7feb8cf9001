import { describe, expect, it } from 'vitest';
import {
  genesysEventKey,
  genesysRetryMessage,
  readGenesysEvent,
} from '../../lambdas/shared/domain/genesys-event';
import { retryMessageSchema } from '../../lambdas/shared/domain/retry-message';
import type { Route } from '../../lambdas/shared/domain/routes';
import {
  compileTopic,
  matchingRoutes,
  routeEventPattern,
  topicMatches,
  unmatchedEventPattern,
} from '../../lambdas/shared/domain/topic-match';
import { parsePipelineSettings } from '../../lambdas/shared/settings';
import { patternMatches } from '../support/event-pattern';
import { realExampleEvent, GENESYS_EXAMPLE_SOURCE as SOURCE } from '../support/genesys-events';

const CONV = 'v2.detail.events.conversation.3b1a5d6e-0c8f-4a3e-9d2b-6f7e8a9b0c1d';

/** template, concrete topic, matches? */
const cases: [string, string, boolean][] = [
  ['v2.audits.entitytype.{id}.entityid.{id}', realExampleEvent.detail.topicName, true],
  ['v2.audits.entitytype.UserPresence.entityid.{id}', realExampleEvent.detail.topicName, true],
  ['v2.audits.entitytype.Queue.entityid.{id}', realExampleEvent.detail.topicName, false],
  ['v2.audits.*', realExampleEvent.detail.topicName, true],
  ['v2.detail.events.conversation.{id}.customer.end', `${CONV}.customer.end`, true],
  ['v2.detail.events.conversation.{id}.customer.end', `${CONV}.customer.start`, false],
  ['v2.detail.events.conversation.{id}.customer.end', `${CONV}.customer.end.extra`, false],
  ['v2.detail.events.conversation.{id}.customer.end', 'v2.detail.events.conversation.customer.end', false],
  ['v2.detail.events.conversation.{id}.*', `${CONV}.acd.start`, true],
  ['v2.detail.events.conversation.{id}.*', `${CONV}.acw`, true],
  ['v2.detail.events.conversation.*.acd.end', `${CONV}.acd.end`, true],
  ['v2.detail.events.conversation.*.acd.end', `${CONV}.acd.start`, false],
  ['v2.operations.events.{orgId}', 'v2.operations.events.9f0e', true],
  ['v2.operations.events.{orgId}', 'v2.operations.event.9f0e', false],
  ['v2.analytics.flow.{id}.aggregates', 'v2.analytics.flow.abc.aggregates', true],
  ['v2.analytics.flow.{id}.aggregates', 'v2.analytics.flow.abc.aggregates2', false],
  ['v2.users.{id}.presence', 'v2.users.u1.presence', true],
  ['v2.users.{id}.presence', 'V2.users.u1.presence', false],
  ['*', 'anything.at.all', true],
  // Documented limit: a placeholder is EventBridge's `*`, so it also spans dots (Genesys ids have none).
  ['v2.users.{id}.presence', 'v2.users.a.b.presence', true],
];

const route = (name: string, topics: string[], url = `https://hooks.example.com/${name}`): Route => ({
  name,
  topics,
  url,
});

const eventFor = (topicName: string, source = SOURCE) => ({
  ...realExampleEvent,
  source,
  detail: { ...realExampleEvent.detail, topicName },
});

describe('topic templates (domain matcher and rule pattern, same cases)', () => {
  it.each(cases)('%s ~ %s → %s', (template, topic, expected) => {
    expect(topicMatches(template, topic)).toBe(expected);
    const pattern = routeEventPattern(route('r', [template]), { eventSource: SOURCE });
    expect(patternMatches(pattern, eventFor(topic))).toBe(expected);
    const inAccount = routeEventPattern(route('r', [template]), {
      eventSource: SOURCE,
      account: '123456789',
    });
    expect(patternMatches(inAccount, eventFor(topic))).toBe(expected);
  });

  it('compiles placeholders and runs of stars to one EventBridge wildcard', () => {
    expect(compileTopic('v2.detail.events.conversation.{id}.customer.end')).toBe(
      'v2.detail.events.conversation.*.customer.end',
    );
    expect(compileTopic('a.{x}*{y}.b')).toBe('a.*.b');
  });

  it('routes an event to every matching route, and the unmatched rule takes exactly the rest', () => {
    const routes = [
      route('ends', ['v2.detail.events.conversation.{id}.customer.end']),
      route('all-conversations', ['v2.detail.events.conversation.{id}.*']),
      route('audits', ['v2.audits.entitytype.{id}.entityid.{id}', 'v2.audits.entitytype.{id}.entityid.{id}']),
    ];
    const topics = [...new Set(cases.map(([, topic]) => topic))];
    for (const topic of topics) {
      const event = eventFor(topic);
      const byMatcher = matchingRoutes(routes, topic).map((r) => r.name);
      const byRules = routes
        .filter((r) => patternMatches(routeEventPattern(r, { eventSource: SOURCE }), event))
        .map((r) => r.name);
      expect(byRules, topic).toEqual(byMatcher);
      const unmatched = patternMatches(unmatchedEventPattern(routes, { eventSource: SOURCE }), event);
      expect(unmatched, topic).toBe(byMatcher.length === 0);
    }
    expect(matchingRoutes(routes, `${CONV}.customer.end`).map((r) => r.name)).toEqual([
      'ends',
      'all-conversations',
    ]);
  });

  it('rule patterns take only the configured partner source, and only the account given', () => {
    const r = route('audits', ['v2.audits.*']);
    const other = eventFor(realExampleEvent.detail.topicName, 'aws.partner/genesys.com/cloud/other-org/x');
    expect(patternMatches(routeEventPattern(r, { eventSource: SOURCE }), other)).toBe(false);
    const mine = eventFor(realExampleEvent.detail.topicName);
    const inAccount = { eventSource: SOURCE, account: realExampleEvent.account };
    expect(patternMatches(routeEventPattern(r, inAccount), mine)).toBe(true);
    expect(patternMatches(routeEventPattern(r, inAccount), { ...mine, account: '999999999999' })).toBe(false);
    expect(patternMatches(unmatchedEventPattern([r], inAccount), { ...mine, account: '999999999999' })).toBe(
      false,
    );
    expect(routeEventPattern(r, inAccount)).toEqual({
      source: [SOURCE],
      account: [realExampleEvent.account],
      detail: { topicName: [{ wildcard: 'v2.audits.*' }] },
    });
    expect(routeEventPattern(r, { eventSource: SOURCE })).toEqual({
      source: [SOURCE],
      detail: { topicName: [{ wildcard: 'v2.audits.*' }] },
    });
  });
});

describe('Genesys EventBridge events', () => {
  const audits = route('audits', ['v2.audits.*']);
  const now = new Date('2026-01-01T00:00:00Z');

  it('turns the real example into a retry message whose body is exactly detail', () => {
    const read = readGenesysEvent(realExampleEvent);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    const message = genesysRetryMessage(read.event, audits, { forwardCredentials: false, now });
    expect(retryMessageSchema.parse(message)).toEqual(message);
    expect(message).toMatchObject({
      deliveryId: realExampleEvent.id,
      webhookId: 'eventbridge:audits',
      targetUrl: 'https://hooks.example.com/audits',
      body: JSON.stringify(realExampleEvent.detail),
      contentType: 'application/json',
      headers: { 'Content-Type': 'application/json' },
      originalStatus: null,
      failedAt: '2021-06-25T15:11:52.000Z',
      source: 'eventbridge',
      route: 'audits',
    });
  });

  it('keys on content: a new EventBridge id or time keeps the key; another route or detail changes it', () => {
    const key = genesysEventKey(audits, realExampleEvent.detail);
    const reordered = Object.fromEntries(Object.entries(realExampleEvent.detail).reverse());
    expect(genesysEventKey(audits, reordered)).toBe(key);
    const again = readGenesysEvent({ ...realExampleEvent, id: 'new-id', time: '2021-06-26T00:00:00Z' });
    if (!again.ok) throw new Error('not read');
    expect(genesysRetryMessage(again.event, audits, { forwardCredentials: false, now }).eventKey).toBe(key);
    expect(genesysEventKey({ ...audits, name: 'audits-2' }, realExampleEvent.detail)).not.toBe(key);
    const changed = { ...realExampleEvent.detail, timestamp: '2021-06-25T15:11:53.000Z' };
    expect(genesysEventKey(audits, changed)).not.toBe(key);
  });

  it.each([
    [null, 'event is not an object'],
    [{ ...realExampleEvent, id: undefined }, 'event has no id'],
    [{ ...realExampleEvent, detail: 'x' }, 'event has no detail object'],
    [{ ...realExampleEvent, detail: { version: '2' } }, 'detail has no topicName'],
  ])('refuses %j: %s', (value, reason) => {
    const read = readGenesysEvent(value);
    expect(read).toMatchObject({ ok: false, reason });
  });
});

describe('ROUTES setting', () => {
  const routes = [
    {
      name: 'ends',
      topics: ['v2.detail.events.conversation.{id}.customer.end'],
      url: 'https://h.example.com/e',
    },
  ];

  it('parses a JSON array and makes WEBHOOK_ID optional', () => {
    const s = parsePipelineSettings({ ROUTES: JSON.stringify(routes) });
    expect(s.ROUTES).toEqual(routes);
    expect(s.WEBHOOK_ID).toEqual([]);
  });

  it.each([
    ['not json', /ROUTES must be a JSON array of routes/],
    [
      JSON.stringify([{ ...routes[0], url: 'ftp://x' }]),
      /ROUTES\.0\.url: a route url is an http or https URL/,
    ],
    [JSON.stringify([{ ...routes[0], topics: [] }]), /ROUTES\.0\.topics: a route lists at least one topic/],
    [JSON.stringify([{ ...routes[0], topics: ['a\\*b'] }]), /ROUTES\.0\.topics\.0: a topic is/],
    [JSON.stringify([routes[0], routes[0]]), /route name ends is used twice/],
    [
      JSON.stringify([{ ...routes[0], headers: { Authorization: 'Bearer x' } }]),
      /header Authorization of route ends is a credential/,
    ],
    [
      JSON.stringify([{ ...routes[0], headers: { Connection: 'close' } }]),
      /header Connection of route ends describes one connection/,
    ],
    [
      JSON.stringify([{ ...routes[0], url: 'http://169.254.169.254/' }]),
      /ROUTES\.0\.url: target host 169\.254\.169\.254 is a link-local/,
    ],
  ])('refuses %s', (value, message) => {
    expect(() => parsePipelineSettings({ ROUTES: value })).toThrow(message);
  });

  it('never echoes ROUTES back (header values may be credentials)', () => {
    expect(() => parsePipelineSettings({ ROUTES: '{"secret-ish":1}' })).toThrow(/^(?![\s\S]*secret-ish)/);
  });

  it('allows a credential header when FORWARD_CREDENTIAL_HEADERS is on', () => {
    const withAuth = [{ ...routes[0], headers: { Authorization: 'Bearer x' } }];
    const s = parsePipelineSettings({ ROUTES: JSON.stringify(withAuth), FORWARD_CREDENTIAL_HEADERS: 'true' });
    expect(s.ROUTES[0]?.headers).toEqual({ Authorization: 'Bearer x' });
  });

  it('requires one source: WEBHOOK_ID or routes', () => {
    expect(() => parsePipelineSettings({})).toThrow(/WEBHOOK_ID .*empty.*ROUTES or ROUTES_FILE/);
    expect(parsePipelineSettings({}, { requireSource: false }).ROUTES).toEqual([]);
  });
});

describe('ROUTES_FILE', () => {
  it('reads the routes from a file, and refuses ROUTES beside it', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = join(mkdtempSync(join(tmpdir(), 'routes-')), 'routes.json');
    const routes = [{ name: 'a', topics: ['v2.audits.*'], url: 'https://h.example.com/a' }];
    writeFileSync(file, JSON.stringify(routes));
    expect(parsePipelineSettings({ ROUTES_FILE: file }).ROUTES).toEqual(routes);
    expect(() => parsePipelineSettings({ ROUTES_FILE: file, ROUTES: '[]' })).toThrow(/give one of them/);
    expect(() => parsePipelineSettings({ ROUTES_FILE: `${file}.missing` })).toThrow(
      /ROUTES_FILE: could not read/,
    );
  });
});

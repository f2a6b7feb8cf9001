import type { Route } from './routes';

/**
 * Topic matching, in one place for both sides of the EventBridge source: local mode and the intake decide with
 * {@link matchingRoutes}; the stack's rules use the patterns {@link routeEventPattern} emits. Both rest on the
 * same compiled wildcard and the same semantics, EventBridge's `wildcard` operator: `*` matches any run of
 * characters, dots included. A placeholder such as `{id}` compiles to `*`, so it matches any id; Genesys ids
 * hold no dots, so in practice it matches exactly one segment.
 */

/** Prefix of every Genesys Cloud partner event source: `aws.partner/genesys.com/cloud/<orgId>/<suffix>`. */
export const GENESYS_SOURCE_PREFIX = 'aws.partner/genesys.com/cloud/';

/** Compiles a topic template to an EventBridge wildcard string: placeholders become `*`, runs of `*` one `*`. */
export function compileTopic(template: string): string {
  return template.replace(/\{[^}]*\}/g, '*').replace(/\*+/g, '*');
}

/** EventBridge `wildcard` semantics: `*` is any run of characters (possibly empty); everything else literal. */
export function wildcardMatches(wildcard: string, value: string): boolean {
  const parts = wildcard.split('*');
  const first = parts[0] ?? '';
  if (parts.length === 1) return value === first;
  const last = parts[parts.length - 1] ?? '';
  if (!value.startsWith(first) || value.length < first.length + last.length) return false;
  let at = first.length;
  for (const middle of parts.slice(1, -1)) {
    const found = value.indexOf(middle, at);
    if (found < 0) return false;
    at = found + middle.length;
  }
  return value.length - last.length >= at && value.endsWith(last);
}

/** True when the concrete topic name matches the template. */
export function topicMatches(template: string, topicName: string): boolean {
  return wildcardMatches(compileTopic(template), topicName);
}

/** The routes whose topics match the concrete `detail.topicName`, in the order they are listed. */
export function matchingRoutes(routes: readonly Route[], topicName: string): Route[] {
  return routes.filter((route) => route.topics.some((t) => topicMatches(t, topicName)));
}

/**
 * Which events a rule considers: those of one Genesys partner source, and (in a stack) of one account. A bus given
 * by name may take events from any source and any account its policy lets in: the rules take only these.
 */
export interface SourceFilter {
  readonly eventSource: string;
  /** The account the events must name (the stack's own); @default - any account */
  readonly account?: string;
}

/** An EventBridge event pattern, limited to the operators this project emits. */
export interface GenesysEventPattern {
  readonly source: readonly string[];
  readonly account?: readonly string[];
  readonly detail: {
    readonly topicName: readonly (
      | { readonly wildcard: string }
      | { readonly 'anything-but': { readonly wildcard: readonly string[] } }
    )[];
  };
}

function sourcePattern(filter: SourceFilter): Pick<GenesysEventPattern, 'source' | 'account'> {
  return {
    source: [filter.eventSource],
    ...(filter.account !== undefined ? { account: [filter.account] } : {}),
  };
}

/** Distinct compiled wildcards of some topics, in order: EventBridge refuses a pattern with repeated values. */
function wildcards(topics: readonly string[]): string[] {
  return [...new Set(topics.map(compileTopic))];
}

/** The event pattern of a route's rule: its source, and `detail.topicName` matching any of its topics. */
export function routeEventPattern(route: Route, filter: SourceFilter): GenesysEventPattern {
  return {
    ...sourcePattern(filter),
    detail: { topicName: wildcards(route.topics).map((wildcard) => ({ wildcard })) },
  };
}

/**
 * The pattern of the catch-all rule for events no route takes: the same source, and a `detail.topicName` that
 * matches none of the routes' wildcards. An event without a `topicName` is not Genesys's shape and matches
 * neither this rule nor any route (EventBridge's `anything-but` needs the field to be present).
 */
export function unmatchedEventPattern(routes: readonly Route[], filter: SourceFilter): GenesysEventPattern {
  return {
    ...sourcePattern(filter),
    detail: { topicName: [{ 'anything-but': { wildcard: wildcards(routes.flatMap((r) => r.topics)) } }] },
  };
}

/** A template as a regular expression over whole topic names: `{…}` captures its value, `*` matches any run. */
function templateRegex(template: string): RegExp {
  const source = template
    .split(/(\{[^}]*\}|\*+)/)
    .map((part) => {
      if (part.startsWith('{')) return '(.*?)';
      if (part.startsWith('*')) return '.*';
      return part.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`, 's');
}

/**
 * The entity of an event on an ordered route: the value that fills the first `{…}` placeholder of the first of
 * the route's topic templates that matches `topicName` (the conversation id in
 * `v2.detail.events.conversation.{id}.customer.end`, the user id in `v2.users.{id}.presence`). Undefined when no
 * template with a placeholder matches, or the value is empty.
 */
export function entityOf(route: Pick<Route, 'topics'>, topicName: string): string | undefined {
  for (const template of route.topics) {
    if (!template.includes('{') || !topicMatches(template, topicName)) continue;
    const value = templateRegex(template).exec(topicName)?.[1];
    if (value) return value;
  }
  return undefined;
}

// zod/mini as a namespace: esbuild keeps only what is used (see settings.ts).
import * as z from 'zod/mini';

/**
 * A topic template as Genesys Cloud writes them: dot-separated segments of letters, digits, `_` and `-`, where a
 * segment (or part of one) may be a placeholder `{id}` (any name in braces) or `*`. Backslashes and other
 * characters are refused: they would need escaping in an EventBridge `wildcard` pattern.
 */
const TOPIC = /^(?:[A-Za-z0-9_-]|\{[A-Za-z0-9_]+\}|\*)+(?:\.(?:[A-Za-z0-9_-]|\{[A-Za-z0-9_]+\}|\*)+)*$/;

/** A route name becomes part of a rule name and of the retry message; keep it short and plain. */
const ROUTE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/;

/** A `{name}` placeholder in a topic template: its value is the event's entity on an ordered route. */
const PLACEHOLDER = /\{[A-Za-z0-9_]+\}/;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** One route: Genesys topics (templates or wildcards) whose events go to one HTTP target. */
export const routeSchema = z
  .object({
    name: z
      .string()
      .check(
        z.regex(ROUTE_NAME, 'a route name is 1-48 letters, digits, - or _, starting with a letter or digit'),
      ),
    topics: z
      .array(
        z
          .string()
          .check(
            z.regex(
              TOPIC,
              'a topic is a Genesys topic name or template, e.g. v2.detail.events.conversation.{id}.customer.end (segments of letters, digits, - _, {placeholders} or *)',
            ),
            z.maxLength(256, 'a topic is at most 256 characters'),
          ),
      )
      .check(z.minLength(1, 'a route lists at least one topic')),
    url: z.url({ protocol: /^https?$/, error: 'a route url is an http or https URL' }),
    headers: z.optional(
      z.record(
        z.string().check(z.regex(HEADER_NAME, 'a header name is a token (letters, digits, ! # $ % & etc.)')),
        z
          .string()
          .check(z.regex(/^[\t\x20-\x7E\x80-\xFF]*$/, 'a header value is visible ASCII, spaces and tabs')),
      ),
    ),
    /**
     * `per-entity`: each entity's events (the value of the first `{…}` placeholder of the topic that matched) reach
     * the target in the order of their Genesys timestamp (docs/sources.md, ordering). @default - no order
     */
    order: z.optional(z.literal('per-entity', { error: 'a route order is "per-entity" (or absent)' })),
    /** With `order`: an event older than one already delivered for its entity is superseded, never sent. */
    latestOnly: z.optional(z.boolean({ error: 'a route latestOnly is true or false' })),
  })
  .check(
    z.superRefine((route, ctx) => {
      if (route.latestOnly === true && route.order !== 'per-entity') {
        ctx.addIssue({
          code: 'custom',
          path: ['latestOnly'],
          message: `route ${route.name}: latestOnly needs "order": "per-entity"`,
        });
      }
      if (route.order !== 'per-entity') return;
      for (const [i, topic] of route.topics.entries()) {
        if (!PLACEHOLDER.test(topic)) {
          ctx.addIssue({
            code: 'custom',
            path: ['topics', i],
            message: `route ${route.name} is ordered per entity, but topic ${topic} has no {placeholder} to name the entity (e.g. v2.users.{id}.presence)`,
          });
        }
      }
    }),
  );

/** One validated route. */
export type Route = z.output<typeof routeSchema>;

/** The ROUTES setting: a JSON array of routes with distinct names. */
export const routesSchema = z
  .array(routeSchema, {
    error:
      'ROUTES must be a JSON array of routes {"name","topics":[…],"url","headers"?,"order"?,"latestOnly"?}',
  })
  .check(
    z.superRefine((routes, ctx) => {
      const seen = new Set<string>();
      for (const [i, route] of routes.entries()) {
        if (seen.has(route.name)) {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'name'],
            message: `route name ${route.name} is used twice`,
          });
        }
        seen.add(route.name);
      }
    }),
  );

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

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** One route: Genesys topics (templates or wildcards) whose events go to one HTTP target. */
export const routeSchema = z.object({
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
});

/** One validated route. */
export type Route = z.output<typeof routeSchema>;

/** The ROUTES setting: a JSON array of routes with distinct names. */
export const routesSchema = z
  .array(routeSchema, {
    error: 'ROUTES must be a JSON array of routes {"name","topics":[…],"url","headers"?}',
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

import type { ServerResponse } from 'node:http';

/** The platform's ErrorBody, as Genesys Cloud returns it for every error. */
export interface ErrorBody {
  message: string;
  code: string;
  status: number;
  contextId: string;
  details: unknown[];
  errors: unknown[];
}

/** The code Genesys Cloud uses for each status the emulator answers with. */
export const defaultCodes: Readonly<Record<number, string>> = {
  400: 'bad.request',
  401: 'authentication.required',
  404: 'not.found',
  429: 'too.many.requests.retry.after',
  500: 'internal.server.error',
  503: 'service.unavailable',
};

/** Builds an ErrorBody whose contextId is the response's correlation id. */
export function errorBody(status: number, code: string, message: string, contextId: string): ErrorBody {
  return { message, code, status, contextId, details: [], errors: [] };
}

/** The 429 body, worded as the platform words it. */
export function rateLimitBody(retryAfterSeconds: number, contextId: string): ErrorBody {
  return errorBody(
    429,
    'too.many.requests.retry.after',
    `Rate limit exceeded the maximum. Retry the request in [${retryAfterSeconds}] seconds`,
    contextId,
  );
}

/** Writes a JSON response; the caller has already set the correlation id header. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

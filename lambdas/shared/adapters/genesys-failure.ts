import { GenesysApiError } from '../errors';

/** What a failed Genesys call told us, with nothing secret in it. */
export interface GenesysFailure {
  /** HTTP status; undefined when no response arrived (network error, timeout). */
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly correlationId: string | undefined;
  /** The platform's message, or the network error's. */
  readonly message: string;
  /** Retry-After in seconds, when the response had one. */
  readonly retryAfterSeconds: number | undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function header(headers: unknown, name: string): string | undefined {
  if (!isRecord(headers)) return undefined;
  const direct = headers[name] ?? headers[name.toLowerCase()];
  if (typeof direct === 'string') return direct;
  if (typeof direct === 'number') return String(direct);
  const match = Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  return typeof match === 'string' ? match : undefined;
}

/**
 * Reads a rejection from the SDK: an extended response `{status, headers, body}` (callApi with
 * setReturnExtendedResponses), an axios error with `response` (login), or a bare network error. Only the
 * facts are kept: the SDK's error objects hold the request config, whose headers carry the Basic credentials
 * or the bearer token, so they must never travel on as a `cause`.
 */
export function describeGenesysFailure(rejection: unknown): GenesysFailure {
  let status: number | undefined;
  let headers: unknown;
  let body: unknown;
  if (isRecord(rejection) && typeof rejection.status === 'number' && 'body' in rejection) {
    ({ status, headers, body } = rejection as { status: number; headers: unknown; body: unknown });
  } else if (isRecord(rejection) && isRecord(rejection.response)) {
    const r = rejection.response;
    status = typeof r.status === 'number' ? r.status : undefined;
    headers = r.headers;
    body = r.data;
  }
  const errorBody = isRecord(body) ? body : {};
  const retryAfter = Number(header(headers, 'Retry-After'));
  const networkMessage =
    rejection instanceof Error
      ? [isRecord(rejection) && typeof rejection.code === 'string' ? rejection.code : '', rejection.message]
          .filter(Boolean)
          .join(': ')
      : String(rejection);
  return {
    status,
    code: typeof errorBody.code === 'string' ? errorBody.code : undefined,
    correlationId:
      header(headers, 'ININ-Correlation-Id') ??
      (typeof errorBody.contextId === 'string' ? errorBody.contextId : undefined),
    message:
      typeof errorBody.message === 'string'
        ? errorBody.message
        : typeof body === 'string' && body.length > 0
          ? body.slice(0, 500)
          : status === undefined
            ? networkMessage
            : `HTTP ${status}`,
    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
  };
}

/** Removes every occurrence of the given secrets (and their Basic-auth form) from a text. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

/** Builds the GenesysApiError for a failure; its cause is a plain Error holding the (redacted) facts. */
export function genesysError(message: string, failure: GenesysFailure, secrets: readonly string[]) {
  const safe = redact(message, secrets);
  const cause = new Error(
    redact(
      `status=${failure.status ?? 'none'} code=${failure.code ?? 'none'} correlationId=${failure.correlationId ?? 'none'}: ${failure.message}`,
      secrets,
    ),
  );
  return new GenesysApiError(safe, failure.status, failure.code, failure.correlationId, { cause });
}

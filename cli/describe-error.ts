import { WebhookRecoveryError } from '../lambdas/shared/errors';

function codeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (e instanceof AggregateError) {
      const inner = e.errors.map(codeOf).find((c) => c !== undefined);
      if (inner) return inner;
    }
  }
  return undefined;
}

/**
 * One clear line for an operator: the project's own errors as they are; the AWS SDK's usual failures (no
 * credentials, no region, endpoint unreachable, access denied) with what to do about them.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof WebhookRecoveryError) return error.message;
  const text = `${error.name}: ${error.message}`;
  if (error.name === 'CredentialsProviderError' || /Could not load credentials/i.test(error.message)) {
    return 'no AWS credentials found: sign in (aws configure, aws sso login) or set AWS_PROFILE; for local mode pass --local';
  }
  if (/Region is missing/i.test(error.message)) return 'no AWS region: set AWS_REGION or pass --region';
  if (/ExpiredToken|security token included in the request is expired/i.test(text)) {
    return `your AWS credentials have expired: sign in again (${error.message})`;
  }
  if (/AccessDenied|not authorized/i.test(text)) return `AWS refused the request: ${error.message}`;
  const code = codeOf(error);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT') {
    return `cannot reach the AWS endpoint (${code}): for local mode, is npm start running?`;
  }
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') return error.message;
  if (error.name === 'QueueDoesNotExist' || /NonExistentQueue/.test(error.name)) {
    return `a queue does not exist: ${error.message}`;
  }
  if (error.name === 'ResourceNotFoundException') return `the ledger table was not found: ${error.message}`;
  return error.message.split('\n')[0] ?? error.name;
}

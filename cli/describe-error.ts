import { WebhookRecoveryError } from '../lambdas/shared/errors';
import type { EndpointTag } from './resolve-resources';

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
  if (/Region is missing/i.test(error.message)) {
    return 'no AWS region: for a deployed stack set AWS_REGION or pass --region; for local mode (npm start) pass --local, or run the export line its banner prints (export AWS_ENDPOINT_URL_SQS=… AWS_ENDPOINT_URL_DYNAMODB=…)';
  }
  if (/ExpiredToken|security token included in the request is expired/i.test(text)) {
    return `your AWS credentials have expired: sign in again (${error.message})`;
  }
  if (/AccessDenied|not authorized/i.test(text)) return `AWS refused the request: ${error.message}`;
  const code = codeOf(error);
  const tag = error as Partial<EndpointTag>;
  const service = tag.cliService ?? 'AWS';
  const endpoint = `the ${service} endpoint${tag.cliEndpoint ? ` ${tag.cliEndpoint}` : ''}`;
  const variable = service === 'AWS' ? 'AWS_ENDPOINT_URL' : `AWS_ENDPOINT_URL_${service.toUpperCase()}`;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT') {
    return tag.cliLocal === false
      ? `cannot reach ${endpoint} (${code}): check your network, proxy and --region`
      : `cannot reach ${endpoint} (${code}): is local mode (npm start) running? If it runs on other ports, set ${variable} to the URL its banner prints`;
  }
  if (
    error instanceof SyntaxError ||
    /Deserialization error|Unexpected token|not valid JSON|char 0/i.test(text)
  ) {
    return `${endpoint} did not answer as ${service} does (${error.message.split('\n')[0]}): is another program listening there? Point ${variable} at the URL npm start prints, or start local mode on free ports (LOCAL_SQS_PORT, LOCAL_DYNAMODB_PORT)`;
  }
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') return error.message;
  if (error.name === 'QueueDoesNotExist' || /NonExistentQueue/.test(error.name)) {
    return `a queue does not exist: ${error.message}`;
  }
  if (error.name === 'ResourceNotFoundException') return `the ledger table was not found: ${error.message}`;
  return error.message.split('\n')[0] ?? error.name;
}

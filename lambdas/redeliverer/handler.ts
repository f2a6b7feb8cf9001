import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDbLedger } from '../shared/adapters/dynamodb-ledger';
import { SigningWebhookSender } from '../shared/adapters/signing-webhook-sender';
import { SqsRetryQueue } from '../shared/adapters/sqs-retry-queue';
import { ConfigError } from '../shared/errors';
import type { WebhookSender } from '../shared/ports';
import {
  parsePipelineSettings,
  parseRuntimeSettings,
  parseSigningSettings,
  processEnvironment,
  SIGNING_SECRET_ENV,
} from '../shared/settings';
import { createTargetGate, createWebhookSender } from './create-webhook-sender';
import { redelivererHandler } from './redeliverer-handler';

// Cold start: a bad setting fails the init, not the first record. Clients and the keep-alive pool live here so
// warm invocations reuse them. Service name and metrics namespace come from POWERTOOLS_* variables the stack sets.
const settings = parsePipelineSettings(processEnvironment());
const runtime = parseRuntimeSettings(processEnvironment());
const signing = parseSigningSettings(processEnvironment());
const logger = new Logger();

/** Signs every request unless the stack turned signing off; the key is read lazily and cached (see below). */
function sender(): WebhookSender {
  const http = createWebhookSender(settings);
  if (!signing.SIGN_REDELIVERIES) return http;
  const secretId = signing.SIGNING_SECRET_ID;
  if (!secretId) {
    throw new ConfigError(
      `${SIGNING_SECRET_ENV} must name the Secrets Manager secret of the signing key (or set SIGN_REDELIVERIES=false)`,
    );
  }
  return new SigningWebhookSender({
    sender: http,
    // Cached for 5 minutes across warm invocations, so a rotation reaches every instance without a redeploy.
    secret: () => getSecret<string>(secretId, { maxAge: 300 }),
    secretSource: secretId,
    onReadError: (error) =>
      logger.warn('could not re-read the signing secret; signing with the key(s) read before', {
        error: `${error.name}: ${error.message}`,
      }),
  });
}

/** The redeliverer Lambda (SQS event source with ReportBatchItemFailures). */
export const handler = redelivererHandler({
  sender: sender(),
  gate: createTargetGate(settings),
  queue: new SqsRetryQueue({ queueUrl: runtime.RETRY_QUEUE_URL }),
  ledger: new DynamoDbLedger({ tableName: runtime.LEDGER_TABLE_NAME, ttlDays: settings.LEDGER_TTL_DAYS }),
  settings,
  random: Math.random,
  now: () => new Date(),
  logger,
  metrics: new Metrics(),
});

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { documentClient } from '../shared/adapters/dynamodb-document-client';
import { DynamoDbEntityOrderStore } from '../shared/adapters/dynamodb-entity-order';
import { DynamoDbLedger } from '../shared/adapters/dynamodb-ledger';
import { DynamoDbTargetStateStore } from '../shared/adapters/dynamodb-target-state';
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
// Either source feeds the retry queue; the redeliverer needs neither list (routes stay with the rules).
const settings = parsePipelineSettings(processEnvironment(), { requireSource: false });
const runtime = parseRuntimeSettings(processEnvironment());
const signing = parseSigningSettings(processEnvironment());
const logger = new Logger();

/** Signs every request unless the stack turned signing off; the key is read on the first send, then every 5 min. */
function sender(): WebhookSender {
  const http = createWebhookSender(settings);
  if (!signing.SIGN_REDELIVERIES) return http;
  const secretId = signing.SIGNING_SECRET_ID;
  if (!secretId) {
    throw new ConfigError(
      `${SIGNING_SECRET_ENV} must name the Secrets Manager secret of the signing key (or set SIGN_REDELIVERIES=false)`,
    );
  }
  // The SDK client rather than Powertools' getSecret: the signer caches already, and Powertools Parameters would
  // cost 5 KB of the bundle's 500 KB budget.
  const secrets = new SecretsManagerClient({});
  return new SigningWebhookSender({
    sender: http,
    secret: async () => (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString,
    // Read again every 5 minutes in a warm instance, so a rotation reaches every instance without a redeploy.
    maxAgeSeconds: 300,
    secretSource: secretId,
    onReadError: (error) =>
      logger.warn('could not re-read the signing secret; signing with the key(s) read before', {
        error: `${error.name}: ${error.message}`,
      }),
  });
}

// One DynamoDB client for the three stores on the ledger table (each would otherwise build its own at init).
const dynamo = documentClient();

/** The redeliverer Lambda (SQS event source with ReportBatchItemFailures). */
export const handler = redelivererHandler({
  sender: sender(),
  // Holds are shared by every instance through the ledger table; this instance's memory only caches them.
  gate: createTargetGate(
    settings,
    new DynamoDbTargetStateStore({ tableName: runtime.LEDGER_TABLE_NAME, client: dynamo }),
  ),
  queue: new SqsRetryQueue({ queueUrl: runtime.RETRY_QUEUE_URL }),
  ledger: new DynamoDbLedger({
    tableName: runtime.LEDGER_TABLE_NAME,
    ttlDays: settings.LEDGER_TTL_DAYS,
    client: dynamo,
  }),
  orders: new DynamoDbEntityOrderStore({
    tableName: runtime.LEDGER_TABLE_NAME,
    ttlDays: settings.LEDGER_TTL_DAYS,
    client: dynamo,
  }),
  settings,
  // EventBridge rules put the events of unordered routes on the queue: only this partner source, this account.
  eventSource: runtime.GENESYS_EVENT_SOURCE,
  checkAccount: runtime.GENESYS_EVENT_SOURCE !== undefined,
  random: Math.random,
  now: () => new Date(),
  logger,
  metrics: new Metrics(),
});

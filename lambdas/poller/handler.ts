import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { documentClient } from '../shared/adapters/dynamodb-document-client';
import { DynamoDbLedger } from '../shared/adapters/dynamodb-ledger';
import { DynamoDbPollLease } from '../shared/adapters/dynamodb-poll-lease';
import { GenesysDeliverySource } from '../shared/adapters/genesys-delivery-source';
import { SqsRetryQueue } from '../shared/adapters/sqs-retry-queue';
import { ConfigError } from '../shared/errors';
import {
  GENESYS_SECRET_ENV,
  parseGenesysSecret,
  parsePipelineSettings,
  parseRuntimeSettings,
  processEnvironment,
} from '../shared/settings';
import { pollerHandler } from './poller-handler';

// Cold start: configuration is read and checked once, so a bad setting fails the init, not a poll.
const env = processEnvironment();
const settings = parsePipelineSettings(env);
const runtime = parseRuntimeSettings(env);
if (settings.WEBHOOK_ID.length === 0) {
  throw new ConfigError(
    'WEBHOOK_ID must name the webhook(s) whose delivery log the poller reads (it is empty)',
  );
}
const secretId = env[GENESYS_SECRET_ENV];
if (!secretId)
  throw new ConfigError(
    `${GENESYS_SECRET_ENV} must name the Secrets Manager secret of the Genesys credentials`,
  );

// One DynamoDB client for the ledger and the poll lease, both on the ledger table.
const dynamo = documentClient();

export const handler = pollerHandler({
  settings,
  source: new GenesysDeliverySource({
    region: settings.GENESYS_CLOUD_REGION,
    // Cached for 5 minutes, so a rotated secret is picked up without a redeploy.
    credentials: async () => parseGenesysSecret(await getSecret<string>(secretId, { maxAge: 300 }), secretId),
  }),
  queue: new SqsRetryQueue({ queueUrl: runtime.RETRY_QUEUE_URL }),
  ledger: new DynamoDbLedger({
    tableName: runtime.LEDGER_TABLE_NAME,
    ttlDays: settings.LEDGER_TTL_DAYS,
    client: dynamo,
  }),
  lease: new DynamoDbPollLease({ tableName: runtime.LEDGER_TABLE_NAME, client: dynamo }),
  logger: new Logger(),
  metrics: new Metrics(),
});

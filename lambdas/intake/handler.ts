import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { documentClient } from '../shared/adapters/dynamodb-document-client';
import { DynamoDbEntityOrderStore } from '../shared/adapters/dynamodb-entity-order';
import { DynamoDbLedger } from '../shared/adapters/dynamodb-ledger';
import { SqsRetryQueue } from '../shared/adapters/sqs-retry-queue';
import { parsePipelineSettings, parseRuntimeSettings, processEnvironment } from '../shared/settings';
import { intakeHandler } from './intake-handler';

// Cold start: configuration is read and checked once. The routes are not in the environment (Lambda allows
// 4 KB of it): each rule passes its own route in the invocation's input.
const settings = parsePipelineSettings(processEnvironment(), { requireSource: false });
const runtime = parseRuntimeSettings(processEnvironment());

// One DynamoDB client for the ledger and the entities of ordered routes, both on the ledger table.
const dynamo = documentClient();

/** The EventBridge intake Lambda: one Genesys event, one route (or none), onto the retry queue. */
export const handler = intakeHandler({
  settings,
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
  // The rules take only this partner source and this account; so does the intake, if a rule or the bus lets more in.
  eventSource: runtime.GENESYS_EVENT_SOURCE,
  checkAccount: true,
  logger: new Logger(),
  metrics: new Metrics(),
});

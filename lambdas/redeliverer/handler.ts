import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDbLedger } from '../shared/adapters/dynamodb-ledger';
import { SqsRetryQueue } from '../shared/adapters/sqs-retry-queue';
import { parsePipelineSettings, parseRuntimeSettings, processEnvironment } from '../shared/settings';
import { createWebhookSender } from './create-webhook-sender';
import { redelivererHandler } from './redeliverer-handler';

// Cold start: a bad setting fails the init, not the first record. Clients and the keep-alive pool live here so
// warm invocations reuse them. Service name and metrics namespace come from POWERTOOLS_* variables the stack sets.
// Either source feeds the retry queue; the redeliverer needs neither list (routes stay with the rules).
const settings = parsePipelineSettings(processEnvironment(), { requireSource: false });
const runtime = parseRuntimeSettings(processEnvironment());

/** The redeliverer Lambda (SQS event source with ReportBatchItemFailures). */
export const handler = redelivererHandler({
  sender: createWebhookSender(settings),
  queue: new SqsRetryQueue({ queueUrl: runtime.RETRY_QUEUE_URL }),
  ledger: new DynamoDbLedger({ tableName: runtime.LEDGER_TABLE_NAME, ttlDays: settings.LEDGER_TTL_DAYS }),
  settings,
  random: Math.random,
  now: () => new Date(),
  logger: new Logger(),
  metrics: new Metrics(),
});

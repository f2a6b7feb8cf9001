import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDbLedger } from '../shared/adapters/dynamodb-ledger';
import { SqsRetryQueue } from '../shared/adapters/sqs-retry-queue';
import { parsePipelineSettings, parseRuntimeSettings, processEnvironment } from '../shared/settings';
import { createTargetGate, createWebhookSender } from './create-webhook-sender';
import { redelivererHandler } from './redeliverer-handler';

// Cold start: a bad setting fails the init, not the first record. Clients and the keep-alive pool live here so
// warm invocations reuse them. Service name and metrics namespace come from POWERTOOLS_* variables the stack sets.
const settings = parsePipelineSettings(processEnvironment());
const runtime = parseRuntimeSettings(processEnvironment());

/** The redeliverer Lambda (SQS event source with ReportBatchItemFailures). */
export const handler = redelivererHandler({
  sender: createWebhookSender(settings),
  gate: createTargetGate(settings),
  queue: new SqsRetryQueue({ queueUrl: runtime.RETRY_QUEUE_URL }),
  ledger: new DynamoDbLedger({ tableName: runtime.LEDGER_TABLE_NAME, ttlDays: settings.LEDGER_TTL_DAYS }),
  settings,
  random: Math.random,
  now: () => new Date(),
  logger: new Logger(),
  metrics: new Metrics(),
});

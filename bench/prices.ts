/**
 * Every price and modelling assumption of the cost model, in one place to update. Prices are AWS's published
 * on-demand list prices for us-east-1 (US East, N. Virginia) as this project understood them on the date below;
 * free tiers are ignored (they would make small workloads look free). Check them against
 * https://aws.amazon.com/pricing/ before quoting a figure to anyone.
 */
export const PRICES_AS_OF = '2026-11-28';

/** US dollars, us-east-1. */
export const PRICES = {
  /** Lambda on arm64 (Graviton), per GB-second of billed duration; the INIT phase is billed too (since 2025-08-01). */
  lambdaArmGbSecond: 0.000_013_333_4,
  /** Lambda, per request. */
  lambdaRequest: 0.2 / 1e6,
  /** SQS standard queue, per request; every 64 KB chunk of a request's payload counts as one request. */
  sqsRequest: 0.4 / 1e6,
  /** DynamoDB on-demand, per write request unit (1 KB) and read request unit (4 KB strongly consistent). */
  dynamoDbWriteUnit: 0.625 / 1e6,
  dynamoDbReadUnit: 0.125 / 1e6,
  /** DynamoDB standard table class storage, per GB-month. */
  dynamoDbStorageGbMonth: 0.25,
  /** EventBridge Scheduler, per invocation after the free tier (14 million a month). */
  schedulerInvocation: 1.0 / 1e6,
  /** Secrets Manager, per secret-month and per API call. */
  secretMonth: 0.4,
  secretApiCall: 0.05 / 10_000,
  /** CloudWatch standard-resolution alarm, per alarm-month. */
  alarmMonth: 0.1,
  /** CloudWatch custom metric (EMF), per metric-month, first 10,000 metrics; prorated by the hour. */
  customMetricMonth: 0.3,
  /** CloudWatch dashboard, per dashboard-month beyond the account's first three. */
  dashboardMonth: 3.0,
  /** CloudWatch Logs standard ingestion, per GB. */
  logsIngestedGb: 0.5,
  /** EventBridge custom events (PutEvents), per event; every 64 KB chunk of an entry counts as one event. */
  eventBridgePutEvent: 1.0 / 1e6,
  /** EventBridge API destinations, per invocation (the connection's Secrets Manager secret is included). */
  apiDestinationInvocation: 0.2 / 1e6,
  /**
   * EventBridge partner events (Genesys Cloud's integration), per event ingested on the partner bus; every
   * 64 KB chunk counts as one. Rules and their delivery to targets are not charged.
   */
  eventBridgePartnerEvent: 1.0 / 1e6,
} as const;

/**
 * What the cost model cannot measure on this machine and therefore assumes. Each is a round figure chosen to be
 * typical, not flattering; change one and rerun `npm run bench` to see its weight.
 */
export const ASSUMPTIONS = {
  /** Days per month for monthly figures. */
  daysPerMonth: 30,
  /** How long a webhook target takes to answer a redelivery (an internet endpoint doing a little work). */
  targetLatencyMs: 200,
  /** One DynamoDB or SQS round trip from a Lambda function in the same region. */
  awsCallMs: 8,
  /** One page (100 entries) of the Genesys Cloud delivery log, from AWS. */
  genesysPageMs: 300,
  /** Memory of the functions, as lib/constructs sets it. */
  redelivererMemoryMb: 256,
  pollerMemoryMb: 512,
  /** Poll interval (the default POLL_INTERVAL_SECONDS). */
  pollIntervalSeconds: 60,
  /** Redeliverer batches are full: the poller enqueues in bursts of 10 and the event source waits up to 1 s. */
  batchSize: 10,
  /**
   * An idle SQS event source keeps about five long polls (20 s) open, per AWS's description of its scaling:
   * 5 × 3 a minute.
   */
  idleEventSourceReceivesPerMinute: 15,
  /** Cold starts per function per month (an environment recycled about hourly). */
  coldStartsPerMonth: 720,
  /** The poller reads the secret through a 5-minute cache (maxAge 300 in lambdas/poller/handler.ts). */
  secretReadsPerHour: 12,
  /** Lambda's own START/END/REPORT lines per invocation, JSON log format. */
  platformLogBytesPerInvocation: 600,
  /** How long ledger items live (LEDGER_TTL_DAYS default), for storage held per million deliveries. */
  ledgerTtlDays: 30,
} as const;

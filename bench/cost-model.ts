import { ASSUMPTIONS, PRICES, PRICES_AS_OF } from './prices';

/** The measured figures the cost model is built from. */
export interface CostInputs {
  /** Records per second of one warm redeliverer at batch size 10 against a fast receiver (its CPU cost). */
  readonly handlerRecordsPerSecond: number;
  /** Log bytes the redeliverer writes per delivered record (INFO line and EMF metrics). */
  readonly redelivererLogBytesPerRecord: number;
  /** SQS billable requests (64 KB units) per recovered delivery, all commands together. */
  readonly sqsUnitsPerDelivery: number;
  /**
   * DynamoDB writes per recovered delivery (poller and redeliverer) when failures arrive continuously, so that
   * each is listed again by the polls that re-read the overlap; and the poller's share alone.
   */
  readonly dynamoDbWritesPerDelivery: number;
  readonly pollerWritesPerDelivery: number;
  /** Reads per recovered delivery (poller and redeliverer, as for the writes), and the poller's share alone. */
  readonly dynamoDbReadsPerDelivery: number;
  readonly pollerReadsPerDelivery: number;
  /** Through the EventBridge source (rules straight to the retry queue): DynamoDB writes, reads, SQS units. */
  readonly eventBridgeWritesPerEvent: number;
  readonly eventBridgeReadsPerEvent: number;
  readonly eventBridgeSqsUnitsPerEvent: number;
  /** Approximate size of a delivered event's ledger item. */
  readonly eventItemBytes: number;
  /** DynamoDB writes and reads of a poll that finds nothing new, and the bytes it logs. */
  readonly idlePollDynamoDbWrites: number;
  readonly idlePollDynamoDbReads: number;
  readonly idlePollLogBytes: number;
  /** Genesys log requests a poll that finds nothing makes. */
  readonly idlePollGenesysRequests: number;
  /** Median init times of the bundles, with source maps as deployed. */
  readonly pollerInitMs: number;
  readonly redelivererInitMs: number;
  /** Alarms, secrets and dashboards in the synthesised template; custom metrics an idle poll publishes (its EMF). */
  readonly alarms: number;
  readonly secrets: number;
  readonly dashboards: number;
  readonly pollerMetricsPerPoll: number;
  /** Their names, for the basis. */
  readonly pollerMetricNames?: readonly string[];
}

/** One line of a cost breakdown, in US dollars. */
export interface CostLine {
  readonly item: string;
  readonly dollars: number;
  readonly basis: string;
}

/** The model's answer: per million recovered deliveries and per month at idle, for both designs. */
export interface CostModel {
  readonly pricesAsOf: string;
  readonly perMillion: { readonly thisStack: CostLine[]; readonly apiDestinations: CostLine[] };
  /**
   * Per million Genesys events arriving through the EventBridge source, one route each, delivered on the first
   * attempt: this stack's path (partner bus → rule → retry queue → redeliverer) next to a rule
   * on the same partner bus targeting an API destination directly (same events, same targets).
   */
  readonly eventBridgePerMillion: {
    readonly thisStack: CostLine[];
    readonly apiDestinations: CostLine[];
  };
  readonly idlePerMonth: { readonly thisStack: CostLine[]; readonly apiDestinations: CostLine[] };
}

/** Sums a breakdown. */
export function total(lines: readonly CostLine[]): number {
  return lines.reduce((sum, l) => sum + l.dollars, 0);
}

const MILLION = 1e6;
const GB = 1024 ** 3;

function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}

/**
 * Prices one million deliveries recovered on their first redelivery, and a month with nothing to recover, from
 * the measured figures and the stated prices and assumptions. The alternative is the same poller and ledger
 * feeding an EventBridge bus (PutEvents) whose rule targets an API destination, which then does the HTTP work
 * (and its retries) in place of SQS and the redeliverer; it keeps the dedupe claim but not per-attempt history.
 */
export function costModel(m: CostInputs): CostModel {
  const a = ASSUMPTIONS;
  const pages = MILLION / 100;
  // A page: the Genesys request, then the claims, the SQS sends and the confirmations, each a parallel round trip.
  const pollerBusyGbSeconds =
    ((pages * (a.genesysPageMs + 3 * a.awsCallMs)) / 1000) * (a.pollerMemoryMb / 1024);
  const batches = MILLION / a.batchSize;
  // A batch lasts as long as its records: the ledger's claim, the POST, the ledger's settle; CPU as measured.
  const cpuMsPerBatch = (a.batchSize / m.handlerRecordsPerSecond) * 1000;
  // Claim, call, settle: a first receive claims without reading the item first (later receives read too).
  const batchMs = a.awsCallMs + a.targetLatencyMs + a.awsCallMs + cpuMsPerBatch;
  const redelivererGbSeconds = ((batches * batchMs) / 1000) * (a.redelivererMemoryMb / 1024);
  const wcuPerWrite = writeUnits(m.eventItemBytes);
  const logBytes = MILLION * m.redelivererLogBytesPerRecord + batches * a.platformLogBytesPerInvocation;
  const storageGbMonths = ((MILLION * m.eventItemBytes) / GB) * (a.ledgerTtlDays / a.daysPerMonth);

  const thisStack: CostLine[] = [
    {
      item: 'Poller Lambda (duration)',
      dollars: pollerBusyGbSeconds * PRICES.lambdaArmGbSecond,
      basis: `${pages} pages × (${a.genesysPageMs} ms Genesys + 3 × ${a.awsCallMs} ms AWS) at ${a.pollerMemoryMb} MB`,
    },
    {
      item: 'Redeliverer Lambda (requests)',
      dollars: batches * PRICES.lambdaRequest,
      basis: `${batches} invocations (batches of ${a.batchSize})`,
    },
    {
      item: 'Redeliverer Lambda (duration)',
      dollars: redelivererGbSeconds * PRICES.lambdaArmGbSecond,
      basis: `${batches} × ${batchMs.toFixed(0)} ms (target ${a.targetLatencyMs} ms + 2 ledger calls + ${cpuMsPerBatch.toFixed(1)} ms CPU measured) at ${a.redelivererMemoryMb} MB`,
    },
    {
      item: 'SQS requests',
      dollars: MILLION * m.sqsUnitsPerDelivery * PRICES.sqsRequest,
      basis: `${m.sqsUnitsPerDelivery.toFixed(2)} billable requests per delivery (measured)`,
    },
    {
      item: 'DynamoDB writes',
      dollars: MILLION * m.dynamoDbWritesPerDelivery * wcuPerWrite * PRICES.dynamoDbWriteUnit,
      basis: `${m.dynamoDbWritesPerDelivery.toFixed(2)} writes per delivery (measured, re-listings included) × ${wcuPerWrite} WRU (item ≈ ${Math.round(m.eventItemBytes)} B)`,
    },
    {
      item: 'DynamoDB reads',
      dollars: MILLION * m.dynamoDbReadsPerDelivery * PRICES.dynamoDbReadUnit,
      basis: `${m.dynamoDbReadsPerDelivery.toFixed(2)} reads per delivery (measured, re-listings included), 1 RRU each`,
    },
    {
      item: 'DynamoDB storage',
      dollars: storageGbMonths * PRICES.dynamoDbStorageGbMonth,
      basis: `items kept ${a.ledgerTtlDays} days (TTL)`,
    },
    {
      item: 'CloudWatch Logs ingestion',
      dollars: (logBytes / GB) * PRICES.logsIngestedGb,
      basis: `${Math.round(m.redelivererLogBytesPerRecord)} B per record (measured) + ${a.platformLogBytesPerInvocation} B per invocation`,
    },
  ];
  const apiDestinations: CostLine[] = [
    thisStack[0] as CostLine,
    {
      item: 'EventBridge PutEvents',
      dollars: MILLION * PRICES.eventBridgePutEvent,
      basis: 'one custom event per delivery (payloads under 64 KB)',
    },
    {
      item: 'API destination invocations',
      dollars: MILLION * PRICES.apiDestinationInvocation,
      basis: 'one per delivery; EventBridge does the HTTP call and its retries',
    },
    {
      item: 'DynamoDB writes',
      dollars: MILLION * m.pollerWritesPerDelivery * wcuPerWrite * PRICES.dynamoDbWriteUnit,
      basis: `${m.pollerWritesPerDelivery.toFixed(2)}: the poller's dedupe writes only; no attempt history`,
    },
    {
      item: 'DynamoDB storage',
      dollars: storageGbMonths * PRICES.dynamoDbStorageGbMonth,
      basis: `items kept ${a.ledgerTtlDays} days (TTL)`,
    },
  ];

  const polls = (a.daysPerMonth * 86_400) / a.pollIntervalSeconds;
  const idlePollMs = 2 * a.awsCallMs + m.idlePollGenesysRequests * a.genesysPageMs;
  const initGbSeconds =
    (a.coldStartsPerMonth / 1000) *
    ((m.pollerInitMs * a.pollerMemoryMb) / 1024 + (m.redelivererInitMs * a.redelivererMemoryMb) / 1024);
  const idleStack: CostLine[] = [
    {
      item: 'EventBridge Scheduler',
      dollars: polls * PRICES.schedulerInvocation,
      basis: `${polls} invocations (inside the 14 M free tier: $0 in practice)`,
    },
    {
      item: 'Poller Lambda',
      dollars:
        polls * PRICES.lambdaRequest +
        ((polls * idlePollMs) / 1000) * (a.pollerMemoryMb / 1024) * PRICES.lambdaArmGbSecond,
      basis: `${polls} polls × ${idlePollMs} ms (${m.idlePollGenesysRequests} Genesys request, 2 ledger calls)`,
    },
    {
      item: 'Lambda init (cold starts)',
      dollars: initGbSeconds * PRICES.lambdaArmGbSecond,
      basis: `${a.coldStartsPerMonth} per function; measured init ${Math.round(m.pollerInitMs)} / ${Math.round(m.redelivererInitMs)} ms`,
    },
    {
      item: 'DynamoDB (watermark)',
      dollars:
        polls *
        (m.idlePollDynamoDbWrites * PRICES.dynamoDbWriteUnit +
          m.idlePollDynamoDbReads * PRICES.dynamoDbReadUnit),
      basis: `${m.idlePollDynamoDbWrites} write + ${m.idlePollDynamoDbReads} read per poll (measured)`,
    },
    {
      item: 'SQS (event source long polls)',
      dollars: a.idleEventSourceReceivesPerMinute * 60 * 24 * a.daysPerMonth * PRICES.sqsRequest,
      basis: `${a.idleEventSourceReceivesPerMinute} ReceiveMessage a minute`,
    },
    {
      item: 'Secrets Manager',
      // The signing key is the second secret; the redeliverer reads it only while it runs, so not at idle.
      dollars:
        m.secrets * PRICES.secretMonth + a.secretReadsPerHour * 24 * a.daysPerMonth * PRICES.secretApiCall,
      basis: `${m.secrets} secrets (the template's), ${a.secretReadsPerHour} reads an hour`,
    },
    {
      item: 'CloudWatch alarms',
      dollars: m.alarms * PRICES.alarmMonth,
      basis: `${m.alarms} alarms (the template's)`,
    },
    {
      item: 'CloudWatch custom metrics',
      dollars: m.pollerMetricsPerPoll * PRICES.customMetricMonth,
      basis:
        m.pollerMetricsPerPoll === 0
          ? 'an idle poll publishes none (measured from its output: no EMF)'
          : `${m.pollerMetricsPerPoll} metrics an idle poll publishes (measured from its EMF: ${(m.pollerMetricNames ?? []).join(', ')})`,
    },
    {
      item: 'CloudWatch Logs ingestion',
      dollars:
        ((polls * (m.idlePollLogBytes + a.platformLogBytesPerInvocation)) / GB) * PRICES.logsIngestedGb,
      basis: `${m.idlePollLogBytes} B per idle poll (measured) + ${a.platformLogBytesPerInvocation} B platform lines`,
    },
    {
      item: 'CloudWatch dashboard',
      dollars: m.dashboards * PRICES.dashboardMonth,
      basis: `${m.dashboards} dashboard (the template's); $0 if among the account's first three`,
    },
  ];
  // Same poller, schedule, secret, ledger and monitoring; no event source polling, no redeliverer cold starts,
  // no signing key (an API destination authenticates through its connection instead).
  const idleApiDestinations = idleStack
    .filter((l) => l.item !== 'SQS (event source long polls)')
    .map((l) =>
      l.item === 'Secrets Manager'
        ? {
            ...l,
            dollars: l.dollars - PRICES.secretMonth,
            basis: `${m.secrets - 1} secret(s), ${a.secretReadsPerHour} reads an hour`,
          }
        : l.item === 'Lambda init (cold starts)'
          ? {
              ...l,
              dollars:
                ((a.coldStartsPerMonth * m.pollerInitMs) / 1000) *
                (a.pollerMemoryMb / 1024) *
                PRICES.lambdaArmGbSecond,
              basis: `${a.coldStartsPerMonth} poller cold starts`,
            }
          : l,
    );
  return {
    pricesAsOf: PRICES_AS_OF,
    perMillion: { thisStack, apiDestinations },
    eventBridgePerMillion: eventBridgeSourceCost(m, thisStack, storageGbMonths, wcuPerWrite),
    idlePerMonth: { thisStack: idleStack, apiDestinations: idleApiDestinations },
  };
}

/**
 * The EventBridge source per million events, on unordered routes: each rule puts the event on the retry queue
 * itself (one SendMessage by EventBridge), and the redeliverer takes it in on its first receive with the claim it
 * makes for every event, so from the queue on the cost is the delivery-log path's redeliverer share, as measured.
 * A route ordered per entity adds the intake (an invocation, a claim, a registration and a confirmation an
 * event), which this table leaves out.
 */
function eventBridgeSourceCost(
  m: CostInputs,
  deliveryLog: readonly CostLine[],
  storageGbMonths: number,
  wcuPerWrite: number,
): { thisStack: CostLine[]; apiDestinations: CostLine[] } {
  const a = ASSUMPTIONS;
  const redeliverer = deliveryLog.filter((l) => l.item.startsWith('Redeliverer'));
  // Measured end to end through local mode's EventBridge source: the rule's SendMessage (local mode sends it
  // for the rule), the redeliverer's receives, deletes and ledger calls.
  const sqsUnits = m.eventBridgeSqsUnitsPerEvent;
  const writes = m.eventBridgeWritesPerEvent;
  const reads = m.eventBridgeReadsPerEvent;
  const partner: CostLine = {
    item: 'EventBridge partner events',
    dollars: MILLION * PRICES.eventBridgePartnerEvent,
    basis: 'one per Genesys event (under 64 KB); rules and target delivery are not charged',
  };
  const thisStack: CostLine[] = [
    partner,
    ...redeliverer,
    {
      item: 'SQS requests',
      dollars: MILLION * sqsUnits * PRICES.sqsRequest,
      basis: `${sqsUnits.toFixed(2)} per event (measured): the rule's SendMessage, the redeliverer's receives and deletes`,
    },
    {
      item: 'DynamoDB writes',
      dollars: MILLION * writes * wcuPerWrite * PRICES.dynamoDbWriteUnit,
      basis: `${writes.toFixed(2)} per event (measured): the redeliverer's claim and settlement; no intake`,
    },
    {
      item: 'DynamoDB reads',
      dollars: MILLION * reads * PRICES.dynamoDbReadUnit,
      basis: `${reads.toFixed(2)} per event (measured): the redeliverer's`,
    },
    {
      item: 'DynamoDB storage',
      dollars: storageGbMonths * PRICES.dynamoDbStorageGbMonth,
      basis: `items kept ${a.ledgerTtlDays} days (TTL)`,
    },
    {
      item: 'CloudWatch Logs ingestion',
      dollars:
        ((MILLION * m.redelivererLogBytesPerRecord +
          (MILLION / a.batchSize) * a.platformLogBytesPerInvocation) /
          GB) *
        PRICES.logsIngestedGb,
      basis: `redeliverer ${Math.round(m.redelivererLogBytesPerRecord)} B per record (measured) + ${a.platformLogBytesPerInvocation} B platform per invocation`,
    },
  ];
  const apiDestinations: CostLine[] = [
    partner,
    {
      item: 'API destination invocations',
      dollars: MILLION * PRICES.apiDestinationInvocation,
      basis: 'a rule on the partner bus targets the URL; no dedupe, no ledger, no per-attempt history',
    },
  ];
  return { thisStack, apiDestinations };
}

import { BatchGetCommand, type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ledgerKeys } from '../lambdas/shared/adapters/dynamodb-ledger';
import type { AttemptRecord, EventRecord, EventStatus } from '../lambdas/shared/ports';

/** An event item of the ledger as the CLI shows it: the port's EventRecord plus the item's other fields. */
export interface LedgerEvent extends Omit<EventRecord, 'duplicateDeliveryIds' | 'updatedAt'> {
  readonly failedAt?: string;
  readonly originalStatus?: number | null;
  readonly duplicateDeliveryIds: readonly string[];
  readonly createdAt?: string;
  readonly updatedAt?: string;
  readonly deliveredAt?: string;
}

/** A delivery-log entry the poller refused (recorded as `invalid#…`, never enqueued). */
export interface LedgerInvalidEntry {
  readonly webhookId: string;
  readonly deliveryId: string;
  readonly reason: string;
  readonly recordedAt?: string;
  /** The entry as Genesys listed it (JSON text, possibly cut short). */
  readonly raw?: string;
  readonly rawTruncated: boolean;
}

/** What `status` reports from the ledger. */
export interface LedgerSummary {
  readonly watermarks: { webhookId: string; through: string; lastPollAt: string }[];
  readonly eventsByStatus: Record<string, number>;
  /** Delivery-log entries the poller refused (EventBridge's are counted apart, below). */
  readonly invalidEntries: number;
  /** Events by source: `delivery-log`, or `eventbridge:<route>` for the EventBridge source. */
  readonly eventsBySource: Record<string, number>;
  /** EventBridge events no route took (or not of Genesys shape), recorded as invalid#eventbridge#<event id>. */
  readonly unmatchedEventBridgeEvents: number;
  /** Earliest createdAt of events still pending or enqueued: an upper bound on the retry queue's oldest age. */
  readonly oldestOpenSince?: string;
  /** Earliest decision (updatedAt) of events given up on (permanent or exhausted). */
  readonly oldestGivenUpAt?: string;
}

/** BatchGetItem's limit of keys per call. */
const BATCH_KEYS = 100;

/**
 * Read-only access to the ledger for the CLI: batched lookups by event key (so 100,000 dead letters cost 1,000
 * calls, not 100,000), lookups by delivery id and a summarising scan.
 */
export class LedgerReader {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** The events with these keys; missing ones are absent from the map. */
  async events(eventKeys: readonly string[]): Promise<Map<string, LedgerEvent>> {
    const found = new Map<string, LedgerEvent>();
    // BatchGetItem rejects a request naming one key twice.
    const unique = [...new Set(eventKeys)];
    for (let i = 0; i < unique.length; i += BATCH_KEYS) {
      let keys: Record<string, unknown>[] = unique
        .slice(i, i + BATCH_KEYS)
        .map((k) => ({ pk: ledgerKeys.event(k) }));
      for (let round = 0; keys.length > 0; round++) {
        if (round > 0) await this.sleep(Math.min(2_000, 50 * 2 ** round));
        const out = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const event = toLedgerEvent(item);
          found.set(event.eventKey, event);
        }
        // Throttling or the 16 MB response limit leaves keys unprocessed: ask again, with backoff.
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        if (round > 10 && keys.length > 0) throw new Error('the ledger kept throttling BatchGetItem');
      }
    }
    return found;
  }

  /**
   * Events whose first delivery id, or one of whose folded repeats, is `deliveryId`, and the entries of that id
   * the poller refused as invalid (one scan).
   */
  async findByDeliveryId(
    deliveryId: string,
  ): Promise<{ events: LedgerEvent[]; invalid: LedgerInvalidEntry[] }> {
    const events: LedgerEvent[] = [];
    const invalid: LedgerInvalidEntry[] = [];
    for await (const item of this.scan({
      FilterExpression:
        '(kind = :event AND (deliveryId = :id OR contains(duplicateDeliveryIds, :id))) OR (kind = :invalid AND deliveryId = :id)',
      ExpressionAttributeValues: { ':event': 'event', ':invalid': 'invalid', ':id': deliveryId },
    })) {
      if (item.kind === 'invalid') {
        invalid.push({
          webhookId: String(item.webhookId ?? ''),
          deliveryId: String(item.deliveryId ?? ''),
          reason: String(item.reason ?? ''),
          ...(typeof item.recordedAt === 'string' ? { recordedAt: item.recordedAt } : {}),
          ...(typeof item.raw === 'string' ? { raw: item.raw } : {}),
          rawTruncated: item.rawTruncated === true,
        });
      } else events.push(toLedgerEvent(item));
    }
    return { events, invalid };
  }

  /** Watermarks, events by status and invalid entries, from one scan of small projections. */
  async summary(): Promise<LedgerSummary> {
    const watermarks: LedgerSummary['watermarks'] = [];
    const eventsByStatus: Record<string, number> = {};
    let invalidEntries = 0;
    const eventsBySource: Record<string, number> = {};
    let unmatchedEventBridgeEvents = 0;
    let oldestOpenSince: string | undefined;
    let oldestGivenUpAt: string | undefined;
    for await (const item of this.scan({
      ProjectionExpression: 'pk, kind, #status, webhookId, through, lastPollAt, createdAt, updatedAt',
      ExpressionAttributeNames: { '#status': 'status' },
    })) {
      const pk = String(item.pk);
      if (pk.startsWith('webhook#')) {
        watermarks.push({
          webhookId: String(item.webhookId ?? pk.slice('webhook#'.length)),
          through: String(item.through ?? ''),
          lastPollAt: String(item.lastPollAt ?? ''),
        });
      } else if (pk.startsWith('invalid#')) {
        if (pk.startsWith('invalid#eventbridge#')) unmatchedEventBridgeEvents += 1;
        else invalidEntries += 1;
      } else if (pk.startsWith('event#')) {
        const status = String(item.status ?? 'unknown');
        eventsByStatus[status] = (eventsByStatus[status] ?? 0) + 1;
        // EventBridge messages are filed under webhookId `eventbridge:<route>`.
        const webhookId = String(item.webhookId ?? '');
        const source = webhookId.startsWith('eventbridge:') ? webhookId : 'delivery-log';
        eventsBySource[source] = (eventsBySource[source] ?? 0) + 1;
        const created = typeof item.createdAt === 'string' ? item.createdAt : undefined;
        const updated = typeof item.updatedAt === 'string' ? item.updatedAt : undefined;
        if (['pending', 'enqueued', 'held', 'claimed'].includes(status) && created) {
          oldestOpenSince = minIso(oldestOpenSince, created);
        }
        if ((status === 'permanent' || status === 'exhausted') && updated) {
          oldestGivenUpAt = minIso(oldestGivenUpAt, updated);
        }
      }
    }
    watermarks.sort((a, b) => a.webhookId.localeCompare(b.webhookId));
    return {
      watermarks,
      eventsByStatus,
      invalidEntries,
      eventsBySource,
      unmatchedEventBridgeEvents,
      ...(oldestOpenSince ? { oldestOpenSince } : {}),
      ...(oldestGivenUpAt ? { oldestGivenUpAt } : {}),
    };
  }

  private async *scan(
    params: Omit<ConstructorParameters<typeof ScanCommand>[0], 'TableName' | 'ExclusiveStartKey'>,
  ): AsyncGenerator<Record<string, unknown>> {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new ScanCommand({ ...params, TableName: this.tableName, ExclusiveStartKey: start }),
      );
      for (const item of out.Items ?? []) yield item;
      start = out.LastEvaluatedKey;
    } while (start);
  }
}

function minIso(a: string | undefined, b: string): string {
  return a === undefined || b < a ? b : a;
}

function num(v: unknown, otherwise: number): number {
  return typeof v === 'number' ? v : otherwise;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Reads an event item defensively: the CLI must show what is there even if an item is odd. */
export function toLedgerEvent(item: Record<string, unknown>): LedgerEvent {
  const dupes = item.duplicateDeliveryIds;
  const optional = {
    failedAt: str(item.failedAt),
    finalReason: str(item.finalReason),
    decidedForMessageId: str(item.decidedForMessageId),
    createdAt: str(item.createdAt),
    updatedAt: str(item.updatedAt),
    deliveredAt: str(item.deliveredAt),
  };
  const status = item.originalStatus;
  return {
    eventKey: String(item.eventKey ?? String(item.pk).replace(/^event#/, '')),
    deliveryId: String(item.deliveryId ?? ''),
    webhookId: String(item.webhookId ?? ''),
    targetUrl: String(item.targetUrl ?? ''),
    status: String(item.status ?? 'pending') as EventStatus,
    attempts: Array.isArray(item.attempts) ? (item.attempts as AttemptRecord[]) : [],
    version: num(item.version, 0),
    budget: num(item.budget, 1),
    budgetAttempts: num(item.budgetAttempts, 0),
    attemptsTotal: num(item.attemptsTotal, Array.isArray(item.attempts) ? item.attempts.length : 0),
    redrives: num(item.redrives, 0),
    ...(typeof status === 'number' || status === null ? { originalStatus: status } : {}),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    duplicateDeliveryIds: dupes instanceof Set ? [...dupes].map(String).sort() : [],
  };
}

import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  type DynamoDBClientConfig,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RetryMessage } from '../domain/retry-message';
import type { AttemptRecord, BudgetUpdate, EventRecord, EventStatus, Ledger, Watermark } from '../ports';

/** The document client is injected or configured, never both. */
type ClientOption =
  | { client: DynamoDBDocumentClient; clientConfig?: never }
  | { clientConfig?: DynamoDBClientConfig; client?: never };

export type DynamoDbLedgerOptions = {
  readonly tableName: string;
  /** Days an item lives after its last write (the table's TTL attribute is `expiresAt`). */
  readonly ttlDays: number;
  readonly now?: () => Date;
} & ClientOption;

/** Partition keys: one item per event, per webhook watermark and per invalid log entry. */
export const ledgerKeys = {
  event: (eventKey: string) => `event#${eventKey}`,
  webhook: (webhookId: string) => `webhook#${webhookId}`,
  /** A key too long for DynamoDB (2,048 bytes) is replaced by one ending in a hash of the id, so it still dedupes. */
  invalid: (webhookId: string, deliveryId: string) => {
    const key = `invalid#${webhookId}#${deliveryId}`;
    if (Buffer.byteLength(key, 'utf8') <= MAX_KEY_BYTES) return key;
    return `invalid#${webhookId}#sha256:${createHash('sha256').update(deliveryId).digest('hex')}`;
  },
} as const;

/** Longest partition key written; DynamoDB's limit is 2,048 bytes. */
const MAX_KEY_BYTES = 1_024;
/** Longest delivery id kept on an invalid-entry item (the key holds a hash of the whole). */
const MAX_ID_CHARS = 512;

/** Longest error text kept per attempt, so a chatty target cannot push an item past 400 KB. */
const MAX_ERROR_CHARS = 500;
/** Longest raw copy of a refused entry; with the other capped fields an item stays far under DynamoDB's 400 KB. */
const MAX_RAW_CHARS = 16_384;

/** A prefix of at most `max` characters, with no half surrogate pair (DynamoDB takes only valid UTF-8). */
function cap(text: string, max: number): string {
  return (text.length > max ? text.slice(0, max) : text).toWellFormed();
}

/**
 * The ledger on one DynamoDB table keyed by `pk`. Conditional writes make the claim of an event atomic, so two
 * polls that overlap enqueue an event once.
 */
export class DynamoDbLedger implements Ledger {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #now: () => Date;

  constructor(options: DynamoDbLedgerOptions) {
    this.#doc =
      options.client ??
      DynamoDBDocumentClient.from(new DynamoDBClient(options.clientConfig ?? {}), {
        marshallOptions: { removeUndefinedValues: true },
      });
    this.#table = options.tableName;
    this.#ttlSeconds = options.ttlDays * 86_400;
    this.#now = options.now ?? (() => new Date());
  }

  #stamps() {
    const now = this.#now();
    return { at: now.toISOString(), expiresAt: Math.floor(now.getTime() / 1000) + this.#ttlSeconds };
  }

  async claim(message: RetryMessage): Promise<'new' | 'duplicate'> {
    const { at, expiresAt } = this.#stamps();
    const key = { pk: ledgerKeys.event(message.eventKey) };
    // Overlapping polls list most events again: a read (a quarter of a write's price, eventually consistent)
    // answers those without the two failed conditional writes that would otherwise be billed.
    const known = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: key,
        ProjectionExpression: '#status, deliveryId, duplicateDeliveryIds',
        ExpressionAttributeNames: { '#status': 'status' },
      }),
    );
    if (known.Item && known.Item.status !== 'pending') {
      const dupes = known.Item.duplicateDeliveryIds;
      const seen =
        known.Item.deliveryId === message.deliveryId ||
        (dupes instanceof Set && dupes.has(message.deliveryId));
      if (!seen) await this.#rememberDuplicate(message);
      return 'duplicate';
    }
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...key,
            kind: 'event',
            eventKey: message.eventKey,
            deliveryId: message.deliveryId,
            webhookId: message.webhookId,
            targetUrl: message.targetUrl,
            failedAt: message.failedAt,
            originalStatus: message.originalStatus,
            status: 'pending' satisfies EventStatus,
            attempts: [],
            createdAt: at,
            updatedAt: at,
            expiresAt,
          },
          // A pending claim was never confirmed on the queue (the send failed or the poll died): take it again.
          ConditionExpression: 'attribute_not_exists(pk) OR #status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending' },
        }),
      );
      return 'new';
    } catch (error) {
      // Claimed since the read: someone else enqueued it.
      if (error instanceof ConditionalCheckFailedException) return 'duplicate';
      throw error;
    }
  }

  /** Notes another Genesys attempt id of an event already claimed. */
  async #rememberDuplicate(message: RetryMessage): Promise<void> {
    await this.#doc
      .send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: ledgerKeys.event(message.eventKey) },
          UpdateExpression: 'ADD duplicateDeliveryIds :id',
          ConditionExpression: 'attribute_exists(pk) AND deliveryId <> :plain',
          ExpressionAttributeValues: { ':id': new Set([message.deliveryId]), ':plain': message.deliveryId },
        }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }

  async markEnqueued(eventKeys: readonly string[]): Promise<void> {
    const { at } = this.#stamps();
    await Promise.all(
      eventKeys.map((key) =>
        this.#doc
          .send(
            new UpdateCommand({
              TableName: this.#table,
              Key: { pk: ledgerKeys.event(key) },
              UpdateExpression: 'SET #status = :enqueued, enqueuedAt = :at, updatedAt = :at',
              ConditionExpression: '#status = :pending',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':enqueued': 'enqueued', ':pending': 'pending', ':at': at },
            }),
          )
          .catch((error: unknown) => {
            // Already past pending (the redeliverer was faster): nothing to confirm.
            if (!(error instanceof ConditionalCheckFailedException)) throw error;
          }),
      ),
    );
  }

  async recordInvalid(entry: {
    webhookId: string;
    deliveryId: string;
    reason: string;
    raw: string;
  }): Promise<'new' | 'duplicate'> {
    const { at, expiresAt } = this.#stamps();
    const put = this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk: ledgerKeys.invalid(entry.webhookId, entry.deliveryId),
          kind: 'invalid',
          webhookId: entry.webhookId,
          deliveryId: cap(entry.deliveryId, MAX_ID_CHARS),
          ...(entry.deliveryId.length > MAX_ID_CHARS ? { deliveryIdTruncated: true } : {}),
          reason: cap(entry.reason, MAX_ERROR_CHARS),
          raw: cap(entry.raw, MAX_RAW_CHARS),
          rawTruncated: entry.raw.length > MAX_RAW_CHARS,
          recordedAt: at,
          expiresAt,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    try {
      await put;
      return 'new';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'duplicate';
      throw error;
    }
  }

  async getWatermark(webhookId: string): Promise<Watermark | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: ledgerKeys.webhook(webhookId) },
        ConsistentRead: true,
      }),
    );
    const item = out.Item;
    if (!item || typeof item.through !== 'string') return undefined;
    return {
      webhookId,
      through: item.through,
      lastPollAt: String(item.lastPollAt ?? item.through),
      ...(typeof item.readAt === 'string' ? { readAt: item.readAt } : {}),
    };
  }

  async setWatermark(watermark: Watermark): Promise<void> {
    await this.#doc
      .send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: ledgerKeys.webhook(watermark.webhookId) },
          UpdateExpression: `SET kind = :kind, webhookId = :id, through = :through, lastPollAt = :last${watermark.readAt === undefined ? '' : ', readAt = :readAt'}`,
          // ISO-8601 UTC strings of one format sort as time does: the watermark only moves forward.
          ConditionExpression: 'attribute_not_exists(through) OR through <= :through',
          ExpressionAttributeValues: {
            ':kind': 'watermark',
            ':id': watermark.webhookId,
            ':through': watermark.through,
            ':last': watermark.lastPollAt,
            ...(watermark.readAt === undefined ? {} : { ':readAt': watermark.readAt }),
          },
        }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }

  async getEvent(eventKey: string): Promise<EventRecord | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: ledgerKeys.event(eventKey) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toEventRecord(out.Item) : undefined;
  }

  async recordAttempt(
    eventKey: string,
    attempt: AttemptRecord,
    status: EventStatus,
    finalReason?: string,
    budget: BudgetUpdate = {},
  ): Promise<void> {
    const { at, expiresAt } = this.#stamps();
    const decided = status === 'permanent' || status === 'exhausted';
    const counted = budget.counted !== false;
    const sets = ['attempts = list_append(if_not_exists(attempts, :empty), :attempt)', '#status = :status'];
    sets.push('updatedAt = :at', 'expiresAt = :exp');
    if (finalReason !== undefined) sets.push('finalReason = :reason');
    if (decided) sets.push('decidedForMessageId = :mid');
    if (status === 'delivered') sets.push('deliveredAt = :at');
    // The budget is a counter on the item, so it survives the message being sent again while held back.
    if (budget.fresh) sets.push('budgetAttempts = :spent');
    else if (counted) sets.push('budgetAttempts = if_not_exists(budgetAttempts, :zero) + :one');
    const remove = budget.fresh ? ' REMOVE heldSince' : '';
    const add = decided ? ' ADD decidedMessageIds :mids' : '';
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: ledgerKeys.event(eventKey) },
        UpdateExpression: `SET ${sets.join(', ')}${remove}${add}`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':empty': [],
          ':attempt': [
            { ...attempt, ...(attempt.error ? { error: attempt.error.slice(0, MAX_ERROR_CHARS) } : {}) },
          ],
          ':status': status,
          ':at': at,
          ':exp': expiresAt,
          ...(finalReason !== undefined ? { ':reason': finalReason.slice(0, MAX_ERROR_CHARS) } : {}),
          ...(decided ? { ':mid': attempt.messageId, ':mids': new Set([attempt.messageId]) } : {}),
          ...(budget.fresh ? { ':spent': counted ? 1 : 0 } : counted ? { ':zero': 0, ':one': 1 } : {}),
        },
      }),
    );
  }

  async recordHold(eventKey: string, at: string, fresh: boolean): Promise<void> {
    const { expiresAt } = this.#stamps();
    const update = fresh
      ? // A redriven message held before its first attempt: a new budget, and no longer dead-lettered.
        'SET heldSince = :at, budgetAttempts = :zero, #status = :enqueued, updatedAt = :at, expiresAt = :exp'
      : 'SET heldSince = if_not_exists(heldSince, :at), updatedAt = :at, expiresAt = :exp';
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: ledgerKeys.event(eventKey) },
        UpdateExpression: update,
        ExpressionAttributeValues: {
          ':at': at,
          ':exp': expiresAt,
          ...(fresh ? { ':zero': 0, ':enqueued': 'enqueued' } : {}),
        },
        ...(fresh ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
      }),
    );
  }
}

function toEventRecord(item: Record<string, unknown>): EventRecord {
  const dupes = item.duplicateDeliveryIds;
  return {
    eventKey: String(item.eventKey),
    deliveryId: String(item.deliveryId),
    webhookId: String(item.webhookId),
    targetUrl: String(item.targetUrl),
    status: item.status as EventStatus,
    attempts: Array.isArray(item.attempts) ? (item.attempts as AttemptRecord[]) : [],
    ...(typeof item.finalReason === 'string' ? { finalReason: item.finalReason } : {}),
    ...(typeof item.decidedForMessageId === 'string'
      ? { decidedForMessageId: item.decidedForMessageId }
      : {}),
    ...(item.decidedMessageIds instanceof Set
      ? { decidedMessageIds: [...item.decidedMessageIds].map(String).sort() }
      : {}),
    ...(dupes instanceof Set ? { duplicateDeliveryIds: [...dupes].map(String).sort() } : {}),
    ...(typeof item.budgetAttempts === 'number' ? { budgetAttempts: item.budgetAttempts } : {}),
    ...(typeof item.heldSince === 'string' ? { heldSince: item.heldSince } : {}),
    updatedAt: String(item.updatedAt ?? ''),
  };
}

import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type LifecycleWrite, MAX_KEPT_ATTEMPTS } from '../domain/event-lifecycle';
import type { RetryMessage } from '../domain/retry-message';
import type {
  AttemptRecord,
  ClaimOptions,
  EventIdentity,
  EventRecord,
  EventStatus,
  Ledger,
  TransitionResult,
  Watermark,
} from '../ports';
import { type DocumentClientOption, documentClient } from './dynamodb-document-client';

export type DynamoDbLedgerOptions = {
  readonly tableName: string;
  /** Days an item lives after its last write (the table's TTL attribute is `expiresAt`). */
  readonly ttlDays: number;
  readonly now?: () => Date;
} & DocumentClientOption;

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

/**
 * The condition of a write made on the guess that the item reads as ABSENT (isUntouched in
 * ../domain/event-lifecycle): absent, or only ever written by the poller or the intake. Items written before
 * versions existed have no version either, but an attempt, a budget or a hold clock, or a status of their own.
 */
const UNTOUCHED =
  'attribute_not_exists(#version) AND (attribute_not_exists(#status) OR #status IN (:pending, :enqueued))' +
  ' AND attribute_not_exists(budgetAttempts) AND attribute_not_exists(heldSince)' +
  ' AND (attribute_not_exists(attempts) OR size(attempts) = :zero)';

/** Longest partition key written; DynamoDB's limit is 2,048 bytes. */
const MAX_KEY_BYTES = 1_024;
/** Longest delivery id kept on an invalid-entry item (the key holds a hash of the whole). */
const MAX_ID_CHARS = 512;

/** Other Genesys delivery ids remembered per event; with MAX_ID_CHARS each, at most 50 KB. */
const MAX_DUPLICATE_IDS = 100;

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
    this.#doc = documentClient(options);
    this.#table = options.tableName;
    this.#ttlSeconds = options.ttlDays * 86_400;
    this.#now = options.now ?? (() => new Date());
  }

  #stamps() {
    const now = this.#now();
    return { at: now.toISOString(), expiresAt: Math.floor(now.getTime() / 1000) + this.#ttlSeconds };
  }

  async claim(message: RetryMessage, options: ClaimOptions = {}): Promise<'new' | 'duplicate'> {
    const { at, expiresAt } = this.#stamps();
    const key = { pk: ledgerKeys.event(message.eventKey) };
    // Overlapping polls list most events again: a read (a quarter of a write's price, eventually consistent)
    // answers those without the two failed conditional writes that would otherwise be billed. An event that
    // is most likely new skips it: the conditional write below is the claim either way.
    const known = options.likelyNew
      ? undefined
      : await this.#doc.send(
          new GetCommand({
            TableName: this.#table,
            Key: key,
            ProjectionExpression: '#status, deliveryId, duplicateDeliveryIds',
            ExpressionAttributeNames: { '#status': 'status' },
          }),
        );
    if (known?.Item && known.Item.status !== 'pending') {
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
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Claimed since the read, or before it when none was made: someone else enqueued it. Without the read, the
      // delivery id may be one the event does not know yet (the update's own condition skips a known one).
      if (options.likelyNew) await this.#rememberDuplicate(message);
      return 'duplicate';
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
          // Bounded, like the attempts: past MAX_DUPLICATE_IDS more ids are not remembered (they still dedupe).
          ConditionExpression:
            'attribute_exists(pk) AND deliveryId <> :plain AND (attribute_not_exists(duplicateDeliveryIds) OR size(duplicateDeliveryIds) < :max)',
          ExpressionAttributeValues: {
            ':id': new Set([cap(message.deliveryId, MAX_ID_CHARS)]),
            ':plain': message.deliveryId,
            ':max': MAX_DUPLICATE_IDS,
          },
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

  async transition(
    eventKey: string,
    write: LifecycleWrite,
    identity: EventIdentity,
  ): Promise<TransitionResult> {
    const { at, expiresAt } = this.#stamps();
    const names: Record<string, string> = { '#version': 'version' };
    const values: Record<string, unknown> = { ':at': at, ':exp': expiresAt, ':kind': 'event' };
    const sets = ['updatedAt = :at', 'expiresAt = :exp', 'kind = if_not_exists(kind, :kind)'];
    // The item's identity, for an event the ledger has not seen (a replay, or an item past its TTL).
    const who = { eventKey, ...identity, createdAt: at };
    for (const [i, [field, value]] of Object.entries(who).entries()) {
      names[`#i${i}`] = field;
      values[`:i${i}`] = value;
      sets.push(`#i${i} = if_not_exists(#i${i}, :i${i})`);
    }
    for (const [i, [field, value]] of Object.entries(write.set).entries()) {
      names[`#s${i}`] = field;
      values[`:s${i}`] =
        field === 'attempts' ? (value as AttemptRecord[]).map(capAttempt) : capField(field, value);
      sets.push(`#s${i} = :s${i}`);
    }
    const removes = write.remove
      .filter((f) => !(f in write.set))
      .map((field, i) => {
        names[`#r${i}`] = field;
        return `#r${i}`;
      });
    if (write.untouched) {
      names['#status'] = 'status';
      Object.assign(values, { ':pending': 'pending', ':enqueued': 'enqueued', ':zero': 0 });
    } else {
      values[':expect'] = write.expectVersion;
    }
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: ledgerKeys.event(eventKey) },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          // Every transition is conditional on the version read: a copy that lost the race changes nothing.
          ConditionExpression: write.untouched
            ? UNTOUCHED
            : write.expectVersion === 0
              ? 'attribute_not_exists(#version) OR #version = :expect'
              : '#version = :expect',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          // A refusal brings the item back (no read capacity is charged for it), so the caller can decide on it.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { result: 'applied' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The document client does not unmarshall an error's item. DynamoDB returns none when there is no item,
      // and an emulator that ignores the option (dynalite) none at all: a read then tells which it is.
      const item = error.Item;
      const current = item ? toEventRecord(unmarshall(item)) : await this.getEvent(eventKey);
      return { result: 'conflict', current };
    }
  }
}

function capAttempt(a: AttemptRecord): AttemptRecord {
  return a.error ? { ...a, error: cap(a.error, MAX_ERROR_CHARS) } : a;
}

function capField(field: string, value: unknown): unknown {
  return field === 'finalReason' && typeof value === 'string' ? cap(value, MAX_ERROR_CHARS) : value;
}

function toEventRecord(item: Record<string, unknown>): EventRecord {
  const dupes = item.duplicateDeliveryIds;
  const legacy = item.decidedMessageIds;
  const attempts = Array.isArray(item.attempts) ? (item.attempts as AttemptRecord[]) : [];
  const optional = (name: string) => (typeof item[name] === 'string' ? { [name]: item[name] as string } : {});
  const claim = item.claim as Record<string, unknown> | undefined;
  return {
    eventKey: String(item.eventKey),
    deliveryId: String(item.deliveryId),
    webhookId: String(item.webhookId),
    targetUrl: String(item.targetUrl),
    status: item.status as EventStatus,
    version: typeof item.version === 'number' ? item.version : 0,
    budget: typeof item.budget === 'number' ? item.budget : 1,
    budgetAttempts: typeof item.budgetAttempts === 'number' ? item.budgetAttempts : 0,
    // Items written before attempts were bounded keep them all: the next transition keeps the newest only.
    attempts: attempts.slice(-MAX_KEPT_ATTEMPTS),
    attemptsTotal: typeof item.attemptsTotal === 'number' ? item.attemptsTotal : attempts.length,
    redrives: typeof item.redrives === 'number' ? item.redrives : 0,
    ...(claim && typeof claim.messageId === 'string'
      ? { claim: { messageId: claim.messageId, until: String(claim.until), attempt: Number(claim.attempt) } }
      : {}),
    ...optional('heldSince'),
    ...optional('retryOwner'),
    ...optional('nextAttemptAt'),
    ...optional('decidedAt'),
    ...optional('decidedForMessageId'),
    ...optional('finalReason'),
    ...optional('deliveredAt'),
    ...(legacy instanceof Set ? { legacyDecidedMessageIds: [...legacy].map(String).sort() } : {}),
    ...(dupes instanceof Set ? { duplicateDeliveryIds: [...dupes].map(String).sort() } : {}),
    updatedAt: String(item.updatedAt ?? ''),
  };
}

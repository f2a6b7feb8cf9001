import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type EntityState, type EntityWrite, NO_ENTITY, type PendingEntry } from '../domain/entity-order';
import type { EntityOrderStore, EntityRef } from '../ports';
import { type DocumentClientOption, documentClient } from './dynamodb-document-client';

export type DynamoDbEntityOrderStoreOptions = {
  /** The ledger table: one item per entity of an ordered route (`pk` = `entity#sha256:…`, kind `entity`). */
  readonly tableName: string;
  /** Days an item lives after its last write, as the ledger's events (the table's TTL attribute `expiresAt`). */
  readonly ttlDays: number;
  readonly now?: () => Date;
} & DocumentClientOption;

/** Pending events are top-level attributes `p_<event key>`, so a registration never rewrites the others. */
const PENDING_PREFIX = 'p_';
/** Longest route and entity text kept on an item (the key is a hash, so it never limits what is stored). */
const MAX_TEXT_CHARS = 256;

/** The partition key of an entity's item: a hash of the route and the entity, so any id fits DynamoDB's key. */
export function entityKey(ref: EntityRef): string {
  return `entity#sha256:${createHash('sha256').update(ref.route).update('\u0000').update(ref.entity).digest('hex')}`;
}

/**
 * The entities of ordered routes in the ledger table, one item each. A registration is an UpdateItem that sets
 * one attribute (if it is not there yet) and conflicts with nothing; every other write is an UpdateItem
 * conditional on the version read, which removes the event's attribute and sets the entity's position and gaps.
 * These are the item calls the intake's and the redeliverer's roles already have on the table.
 */
export class DynamoDbEntityOrderStore implements EntityOrderStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #now: () => Date;

  constructor(options: DynamoDbEntityOrderStoreOptions) {
    this.#doc = documentClient(options);
    this.#table = options.tableName;
    this.#ttlSeconds = options.ttlDays * 86_400;
    this.#now = options.now ?? (() => new Date());
  }

  #expiresAt(): number {
    return Math.floor(this.#now().getTime() / 1000) + this.#ttlSeconds;
  }

  async register(ref: EntityRef, eventKey: string, entry: PendingEntry): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: entityKey(ref) },
        UpdateExpression:
          'SET #p = if_not_exists(#p, :entry), kind = :kind, route = :route, entity = :entity, expiresAt = :exp',
        ExpressionAttributeNames: { '#p': `${PENDING_PREFIX}${eventKey}` },
        ExpressionAttributeValues: {
          ':entry': { at: entry.atMs, arrived: entry.arrivedMs },
          ':kind': 'entity',
          ':route': ref.route.slice(0, MAX_TEXT_CHARS),
          ':entity': ref.entity.slice(0, MAX_TEXT_CHARS),
          ':exp': this.#expiresAt(),
        },
      }),
    );
  }

  async read(ref: EntityRef): Promise<EntityState> {
    const got = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { pk: entityKey(ref) }, ConsistentRead: true }),
    );
    return got.Item ? toEntityState(got.Item) : NO_ENTITY;
  }

  async write(ref: EntityRef, write: EntityWrite): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ':v': write.version,
      ':gaps': Object.fromEntries(write.gaps),
      ':exp': this.#expiresAt(),
      ':kind': 'entity',
    };
    const sets = ['version = :v', 'gaps = :gaps', 'expiresAt = :exp', 'kind = :kind'];
    if (write.lastDeliveredAtMs !== undefined) {
      sets.push('lastAt = :lastAt', 'lastKey = :lastKey');
      values[':lastAt'] = write.lastDeliveredAtMs;
      values[':lastKey'] = write.lastDeliveredKey ?? '';
    }
    const removes = write.removePending.map((key, i) => {
      names[`#p${i}`] = `${PENDING_PREFIX}${key}`;
      return `#p${i}`;
    });
    let condition = 'version = :expect';
    if (write.expectVersion === 0) condition = 'attribute_not_exists(version)';
    else values[':expect'] = write.expectVersion;
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: entityKey(ref) },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: condition,
          ...(removes.length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Reads an item defensively: an odd field is dropped, never trusted. */
export function toEntityState(item: Record<string, unknown>): EntityState {
  const pending = new Map<string, PendingEntry>();
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(PENDING_PREFIX) || typeof value !== 'object' || value === null) continue;
    const entry = value as Record<string, unknown>;
    const atMs = num(entry.at);
    if (atMs !== undefined) {
      pending.set(name.slice(PENDING_PREFIX.length), { atMs, arrivedMs: num(entry.arrived) ?? atMs });
    }
  }
  const gaps = new Map<string, number>();
  if (typeof item.gaps === 'object' && item.gaps !== null) {
    for (const [key, at] of Object.entries(item.gaps)) {
      const atMs = num(at);
      if (atMs !== undefined) gaps.set(key, atMs);
    }
  }
  const lastAt = num(item.lastAt);
  return {
    version: num(item.version) ?? 0,
    pending,
    ...(lastAt !== undefined
      ? { lastDeliveredAtMs: lastAt, lastDeliveredKey: typeof item.lastKey === 'string' ? item.lastKey : '' }
      : {}),
    gaps,
  };
}

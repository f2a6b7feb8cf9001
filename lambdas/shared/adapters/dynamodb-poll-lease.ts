import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PollLease } from '../ports';
import { type DocumentClientOption, documentClient } from './dynamodb-document-client';

/** The lease's item in the ledger table; no other item's key starts with `lease#`. */
export const POLL_LEASE_KEY = 'lease#poll';

/** The lease item outlives its last expiry by a day, then TTL removes it (the next poll writes it again). */
const TTL_AFTER_EXPIRY_SECONDS = 86_400;

export type DynamoDbPollLeaseOptions = {
  /** The ledger table (partition key `pk`, TTL attribute `expiresAt`). */
  readonly tableName: string;
  readonly now?: () => Date;
} & DocumentClientOption;

/**
 * The poll lease as one item of the ledger table. Taking it is a conditional put (free, expired, or ours), giving
 * it back a conditional update (still ours): two polls racing for it cannot both win, and a poll that died
 * holding it blocks the next ones only until its expiry. Uses only the PutItem and UpdateItem the poller's role
 * already has on the table.
 */
export class DynamoDbPollLease implements PollLease {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => Date;

  constructor(options: DynamoDbPollLeaseOptions) {
    this.#doc = documentClient(options);
    this.#table = options.tableName;
    this.#now = options.now ?? (() => new Date());
  }

  async acquire(holder: string, until: Date): Promise<boolean> {
    const now = this.#now();
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: POLL_LEASE_KEY,
            kind: 'lease',
            holder,
            takenAt: now.toISOString(),
            leaseUntil: until.getTime(),
            expiresAt: Math.floor(until.getTime() / 1000) + TTL_AFTER_EXPIRY_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil <= :now OR holder = :holder',
          ExpressionAttributeValues: { ':now': now.getTime(), ':holder': holder },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async release(holder: string): Promise<void> {
    const now = this.#now();
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: POLL_LEASE_KEY },
          UpdateExpression: 'SET leaseUntil = :now, releasedAt = :at',
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':now': now.getTime(), ':at': now.toISOString(), ':holder': holder },
        }),
      );
    } catch (error) {
      // Taken over after it expired: the new holder's lease is not ours to end.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

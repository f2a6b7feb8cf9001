import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { TargetHold, TargetHoldKind, TargetState } from '../domain/target-hold';
import type { TargetStateStore } from '../ports';
import { type DocumentClientOption, documentClient } from './dynamodb-document-client';

export type DynamoDbTargetStateStoreOptions = {
  /** The ledger table: one item per target beside the events (`pk` = `target#sha256:…`, kind `target`). */
  readonly tableName: string;
  /**
   * How long an item outlives the last time it mattered (its hold's end, its probe, its last answer): DynamoDB's
   * TTL (attribute `expiresAt`) then removes it. TTL deletes lazily, so the gate never relies on it: an ended hold
   * is read as ended.
   * @default 86_400
   */
  readonly keepSeconds?: number;
} & DocumentClientOption;

/** Longest target text kept on an item; the key is a hash, so it never limits what is stored. */
const MAX_TARGET_CHARS = 1_024;
const HOLD_KINDS: readonly TargetHoldKind[] = ['outage', 'rate', 'path'];

/** The partition key of a target's item: a hash, so a long URL path never meets DynamoDB's key limit. */
export function targetStateKey(target: string): string {
  return `target#sha256:${createHash('sha256').update(target).digest('hex')}`;
}

/**
 * The target gate's shared state in the ledger table, one item per host and per held path. Every write is a
 * PutItem conditional on the version read (GetItem and PutItem are the calls the redeliverer's role has on the
 * table), so two instances racing for a probe or a hold's level cannot both win.
 */
export class DynamoDbTargetStateStore implements TargetStateStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #keepSeconds: number;

  constructor(options: DynamoDbTargetStateStoreOptions) {
    this.#doc = documentClient(options);
    this.#table = options.tableName;
    this.#keepSeconds = options.keepSeconds ?? 86_400;
  }

  async read(targets: readonly string[]): Promise<ReadonlyMap<string, TargetState>> {
    // Two or three keys per event: parallel GetItems, consistent, rather than a BatchGetItem the role lacks.
    const items = await Promise.all(
      targets.map((target) =>
        this.#doc.send(
          new GetCommand({
            TableName: this.#table,
            Key: { pk: targetStateKey(target) },
            ConsistentRead: true,
          }),
        ),
      ),
    );
    const out = new Map<string, TargetState>();
    for (const [i, got] of items.entries()) {
      const target = targets[i];
      const state = got.Item && target !== undefined ? toTargetState(target, got.Item) : undefined;
      if (target !== undefined && state) out.set(target, state);
    }
    return out;
  }

  async write(next: TargetState, expectedVersion: number | undefined): Promise<boolean> {
    const lastMattersMs = Math.max(
      next.hold?.untilMs ?? 0,
      next.probeUntilMs ?? 0,
      next.answeredAtMs ?? 0,
      next.rampFromMs ?? 0,
    );
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: targetStateKey(next.target),
            kind: 'target',
            target: next.target.slice(0, MAX_TARGET_CHARS),
            version: next.version,
            ...(next.hold ? { hold: { ...next.hold, reason: next.hold.reason.slice(0, 500) } } : {}),
            ...(next.probeUntilMs !== undefined ? { probeUntilMs: next.probeUntilMs } : {}),
            ...(next.probeId !== undefined ? { probeId: next.probeId } : {}),
            ...(next.answeredAtMs !== undefined ? { answeredAtMs: next.answeredAtMs } : {}),
            ...(next.rampFromMs !== undefined ? { rampFromMs: next.rampFromMs } : {}),
            expiresAt: Math.floor(lastMattersMs / 1000) + this.#keepSeconds,
          },
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'version = :v',
                ExpressionAttributeValues: { ':v': expectedVersion },
              }),
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
function toTargetState(target: string, item: Record<string, unknown>): TargetState | undefined {
  const version = num(item.version);
  if (version === undefined) return undefined;
  const h = item.hold as Record<string, unknown> | undefined;
  const kind = HOLD_KINDS.find((k) => k === h?.kind);
  const untilMs = num(h?.untilMs);
  const hold: TargetHold | undefined =
    h && kind && untilMs !== undefined
      ? {
          kind,
          reason: String(h.reason ?? ''),
          untilMs,
          level: num(h.level) ?? 0,
          sinceMs: num(h.sinceMs) ?? untilMs,
        }
      : undefined;
  const probeUntilMs = num(item.probeUntilMs);
  const answeredAtMs = num(item.answeredAtMs);
  const rampFromMs = num(item.rampFromMs);
  return {
    target,
    version,
    ...(hold ? { hold } : {}),
    ...(probeUntilMs !== undefined ? { probeUntilMs } : {}),
    ...(typeof item.probeId === 'string' ? { probeId: item.probeId } : {}),
    ...(answeredAtMs !== undefined ? { answeredAtMs } : {}),
    ...(rampFromMs !== undefined ? { rampFromMs } : {}),
  };
}

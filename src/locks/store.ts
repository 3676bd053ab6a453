/**
 * Where locks live (DESIGN §8): one DynamoDB table (LKP_LOCKS_TABLE), partition key LockId, one
 * item per lock; ExpiresAt doubles as the table's TTL attribute. Reads are strongly consistent, so
 * a lock written by one CA instance stops the next request at every other one.
 */
import type { DynamoDbClient } from '../aws/dynamodb-json.js';
import { DynamoDbError } from '../aws/dynamodb-json.js';
import type { JsonObject } from '../aws/json-client.js';
import { LOCK_ID, LOCK_TYPES, type Lock, type LockType } from './lock.js';

export interface LockStore {
  /** Every stored lock, expired ones included (the caller filters by time). */
  list(): Promise<Lock[]>;
  add(lock: Lock): Promise<void>;
  /** The removed lock, or undefined when there was none with that id. */
  remove(lockId: string): Promise<Lock | undefined>;
}

/** Far more than any deployment locks; a table past it is refused rather than read for minutes. */
const MAX_LOCKS = 200_000;

export function dynamoDbLockStore(table: string, db: DynamoDbClient): LockStore {
  return {
    async list() {
      const locks: Lock[] = [];
      let start: JsonObject | undefined;
      do {
        const page = await db.call('Scan', {
          TableName: table,
          ConsistentRead: true,
          ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
        });
        const items = page['Items'];
        if (!Array.isArray(items)) throw new Error('DynamoDB Scan answer has no Items list');
        for (const item of items) locks.push(lockFromItem(item));
        if (locks.length > MAX_LOCKS) throw new Error(`the lock table holds more than ${MAX_LOCKS} locks`);
        const next = page['LastEvaluatedKey'];
        start = isObject(next) ? next : undefined;
      } while (start !== undefined);
      return locks;
    },
    async add(lock) {
      await db.call('PutItem', {
        TableName: table,
        Item: itemFromLock(lock),
        // Lock ids are random; a collision must fail, never overwrite someone else's lock.
        ConditionExpression: 'attribute_not_exists(LockId)',
      });
    },
    async remove(lockId) {
      try {
        const answer = await db.call('DeleteItem', {
          TableName: table,
          Key: { LockId: { S: lockId } },
          ConditionExpression: 'attribute_exists(LockId)',
          ReturnValues: 'ALL_OLD',
        });
        return lockFromItem(answer['Attributes']);
      } catch (e) {
        if (e instanceof DynamoDbError && e.code === 'ConditionalCheckFailedException') return undefined;
        throw e;
      }
    },
  };
}

export function itemFromLock(lock: Lock): JsonObject {
  return {
    LockId: { S: lock.LockId },
    Type: { S: lock.Type },
    Value: { S: lock.Value },
    Reason: { S: lock.Reason },
    CreatedBy: { S: lock.CreatedBy },
    CreatedAt: { N: String(lock.CreatedAt) },
    ...(lock.ExpiresAt !== undefined ? { ExpiresAt: { N: String(lock.ExpiresAt) } } : {}),
  };
}

/**
 * An item that is not a lock stops the read: skipping it could let a locked caller through, so
 * the CA fails closed instead and names the item.
 */
export function lockFromItem(raw: unknown): Lock {
  const item = isObject(raw) ? raw : {};
  const id = attribute(item, 'LockId', 'S');
  const bad = (what: string) => new Error(`lock item ${id ?? '(no LockId)'} in the lock table: ${what}`);
  if (id === undefined || !LOCK_ID.test(id)) throw bad('LockId is missing or malformed');
  const type = attribute(item, 'Type', 'S');
  if (!LOCK_TYPES.includes(type as LockType)) throw bad('Type is missing or unknown');
  const text = (name: string): string => {
    const v = attribute(item, name, 'S');
    if (v === undefined) throw bad(`${name} is missing`);
    return v;
  };
  const time = (name: string): number | undefined => {
    const v = attribute(item, name, 'N');
    if (v === undefined) return undefined;
    if (!/^\d{1,15}$/.test(v)) throw bad(`${name} is not a time in seconds`);
    return Number(v);
  };
  const createdAt = time('CreatedAt');
  if (createdAt === undefined) throw bad('CreatedAt is missing');
  const expiresAt = time('ExpiresAt');
  return {
    LockId: id,
    Type: type as LockType,
    Value: text('Value'),
    Reason: text('Reason'),
    CreatedBy: text('CreatedBy'),
    CreatedAt: createdAt,
    ...(expiresAt !== undefined ? { ExpiresAt: expiresAt } : {}),
  };
}

function attribute(item: JsonObject, name: string, type: 'S' | 'N'): string | undefined {
  const value = item[name];
  if (!isObject(value)) return undefined;
  const v = value[type];
  return typeof v === 'string' ? v : undefined;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The lock store on the wire (DESIGN §8): the DynamoDB stand-in driven by the real
 * @aws-sdk/client-dynamodb; the CA's own small client sending what the SDK sends; the lock service
 * over both (paging, caching, expiry) and failing closed when the table cannot be read.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteItemCommand, DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDbClient } from '../../src/aws/dynamodb-json.js';
import { LkpError } from '../../src/errors.js';
import { startDynamoDbStandin, type DynamoDbStandin } from '../../src/local/dynamodb-standin.js';
import type { Lock } from '../../src/locks/lock.js';
import { lockService } from '../../src/locks/service.js';
import { dynamoDbLockStore, itemFromLock } from '../../src/locks/store.js';
import { sendRaw } from '../helpers/raw-http.js';

const REGION = 'eu-west-1';
const TABLE = 'locks';
const ADMIN = 'arn:aws:iam::111122223333:user/admin';
const ALICE = 'arn:aws:iam::111122223333:user/alice';
const subject = {
  callerArn: ALICE,
  keyFingerprint: `SHA256:${'A'.repeat(43)}`,
  keyId: ALICE,
  instanceArn: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0',
};

let db: DynamoDbStandin;
let sdk: DynamoDBClient;

beforeAll(async () => {
  db = await startDynamoDbStandin({ region: REGION, tables: { [TABLE]: 'LockId' }, pageSize: 2 });
  sdk = new DynamoDBClient({ region: REGION, endpoint: db.url, credentials: db.credentials, maxAttempts: 1 });
});
afterAll(async () => {
  sdk?.destroy();
  await db?.close();
});

const ours = () =>
  dynamoDbClient({ region: REGION, endpoint: db.url, credentials: db.credentials, maxAttempts: 1 });
let counter = 0;
const sampleLock = (over: Partial<Lock> = {}): Lock => ({
  LockId: `lk-${(counter++).toString(16).padStart(16, '0')}`,
  Type: 'KeyId',
  Value: 'x',
  Reason: 'test',
  CreatedBy: ADMIN,
  CreatedAt: 1_800_000_000,
  ...over,
});

describe('DynamoDB stand-in with the official SDK', () => {
  it('puts, scans page by page and deletes with the conditions the lock store uses', async () => {
    const table = 'sdk-table';
    const standin = await startDynamoDbStandin({
      region: REGION,
      tables: { [table]: 'LockId' },
      pageSize: 2,
    });
    const client = new DynamoDBClient({
      region: REGION,
      endpoint: standin.url,
      credentials: standin.credentials,
      maxAttempts: 1,
    });
    try {
      for (const id of ['a', 'b', 'c'])
        await client.send(
          new PutItemCommand({
            TableName: table,
            Item: { LockId: { S: id }, N: { N: '1' } },
            ConditionExpression: 'attribute_not_exists(LockId)',
          }),
        );
      await expect(
        client.send(
          new PutItemCommand({
            TableName: table,
            Item: { LockId: { S: 'a' } },
            ConditionExpression: 'attribute_not_exists(LockId)',
          }),
        ),
      ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
      const first = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
      expect(first.Items?.map((i) => i['LockId']?.S)).toEqual(['a', 'b']);
      const second = await client.send(
        new ScanCommand({ TableName: table, ExclusiveStartKey: first.LastEvaluatedKey }),
      );
      expect(second.Items?.map((i) => i['LockId']?.S)).toEqual(['c']);
      expect(second.LastEvaluatedKey).toBeUndefined();
      const deleted = await client.send(
        new DeleteItemCommand({ TableName: table, Key: { LockId: { S: 'b' } }, ReturnValues: 'ALL_OLD' }),
      );
      expect(deleted.Attributes?.['N']).toEqual({ N: '1' });
      await expect(client.send(new ScanCommand({ TableName: 'nope' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    } finally {
      client.destroy();
      await standin.close();
    }
  });

  it('refuses unsigned and wrongly signed requests', async () => {
    const unsigned = await sendRaw(
      db.url,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'DynamoDB_20120810.Scan' },
      },
      JSON.stringify({ TableName: TABLE }),
    );
    expect(unsigned.status).toBe(400);
    expect(unsigned.body).toMatch(/MissingAuthenticationToken/);
    const wrong = new DynamoDBClient({
      region: REGION,
      endpoint: db.url,
      credentials: { ...db.credentials, secretAccessKey: 'wrong' },
      maxAttempts: 1,
    });
    await expect(wrong.send(new ScanCommand({ TableName: TABLE }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
    wrong.destroy();
  });
});

describe("the CA's DynamoDB client", () => {
  it('sends what the SDK sends: path, content type, target, body and signing scope', async () => {
    const seen: { headers: IncomingHttpHeaders; body: string; url: string }[] = [];
    const capture = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString(), url: req.url ?? '' });
        res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' }).end('{"Items":[],"Count":0}');
      });
    });
    await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(capture.address() as AddressInfo).port}`;
    const input = { TableName: TABLE, ConsistentRead: true };
    const mine = dynamoDbClient({ region: REGION, endpoint, credentials: db.credentials, maxAttempts: 1 });
    const theirs = new DynamoDBClient({
      region: REGION,
      endpoint,
      credentials: db.credentials,
      maxAttempts: 1,
    });
    try {
      await mine.call('Scan', input);
      await theirs.send(new ScanCommand(input));
    } finally {
      mine.destroy();
      theirs.destroy();
      capture.close();
    }
    const [a, b] = seen;
    expect(a?.url).toBe(b?.url);
    for (const header of ['content-type', 'x-amz-target', 'host'])
      expect(a?.headers[header], header).toBe(b?.headers[header]);
    expect(JSON.parse(a?.body ?? '')).toEqual(JSON.parse(b?.body ?? ''));
    const scope = (h: IncomingHttpHeaders | undefined) =>
      /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(String(h?.authorization))?.slice(1);
    expect(scope(a?.headers)).toEqual([REGION, 'dynamodb']);
    expect(scope(a?.headers)).toEqual(scope(b?.headers));
  });
});

describe('the lock service over the stand-in', () => {
  it('locks, lists across pages, stops a matching certificate and unlocks', async () => {
    const service = lockService(dynamoDbLockStore(TABLE, ours()), {
      caKeys: [],
      ownInstanceArn: () => undefined,
    });
    const now = new Date(1_800_000_000_000);
    const made: Lock[] = [];
    for (const value of ['one', 'two', 'three', 'four'])
      made.push(await service.lock({ Type: 'KeyId', Value: value, Reason: 'paging' }, ADMIN, now));
    const alice = await service.lock({ Type: 'Caller', Value: ALICE, Reason: 'laptop stolen' }, ADMIN, now);
    expect(alice).toMatchObject({ CreatedBy: ADMIN, CreatedAt: 1_800_000_000, Type: 'Caller' });
    expect((await service.list(now)).length).toBe(5);

    const denied = await service.check(subject, now).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(LkpError);
    expect(denied).toMatchObject({ code: 'Forbidden', message: expect.stringMatching(/laptop stolen/) });

    expect((await service.unlock(alice.LockId)).LockId).toBe(alice.LockId);
    await expect(service.check(subject, now)).resolves.toBeUndefined();
    await expect(service.unlock(alice.LockId)).rejects.toMatchObject({ code: 'BadRequest' });
    for (const l of made) await service.unlock(l.LockId);
  });

  it('another CA instance sees a new lock once its cache is older than cacheMs, and ignores expired ones', async () => {
    const reader = lockService(dynamoDbLockStore(TABLE, ours()), {
      caKeys: [],
      ownInstanceArn: () => undefined,
      cacheMs: 2000,
    });
    const writer = dynamoDbLockStore(TABLE, ours());
    const t0 = new Date(1_800_000_000_000);
    await reader.check(subject, t0);
    const lock = sampleLock({ Type: 'Caller', Value: ALICE, ExpiresAt: 1_800_000_010 });
    await writer.add(lock);
    // Within the cache window the reader may still answer from its last read ...
    await expect(reader.check(subject, new Date(t0.getTime() + 1999))).resolves.toBeUndefined();
    // ... never after it.
    await expect(reader.check(subject, new Date(t0.getTime() + 2000))).rejects.toMatchObject({
      code: 'Forbidden',
    });
    // Expired: gone, whether or not DynamoDB's TTL removed the item yet.
    await expect(reader.check(subject, new Date(1_800_000_010_000))).resolves.toBeUndefined();
    await writer.remove(lock.LockId);
  });

  it('fails closed, and says so, when the table cannot be read', async () => {
    const service = lockService(dynamoDbLockStore(TABLE, ours()), {
      caKeys: [],
      ownInstanceArn: () => undefined,
    });
    db.setFailing(true);
    try {
      const e = await service.check(subject, new Date()).catch((err: unknown) => err);
      expect(e).toMatchObject({
        code: 'Internal',
        message: expect.stringMatching(
          /lock store \(LKP_LOCKS_TABLE\) cannot be read, so no certificate is signed/,
        ),
      });
      await expect(service.krl('host', new Date())).rejects.toMatchObject({ code: 'Internal' });
    } finally {
      db.setFailing(false);
    }
    // A failed read is not cached: the next request reads again.
    await expect(service.check(subject, new Date())).resolves.toBeUndefined();
  });

  it('fails closed on an item that is not a lock', async () => {
    await sdk.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { ...itemFromLock(sampleLock()), Type: { S: 'Everything' } } as never,
      }),
    );
    const service = lockService(dynamoDbLockStore(TABLE, ours()), {
      caKeys: [],
      ownInstanceArn: () => undefined,
    });
    await expect(service.check(subject, new Date())).rejects.toMatchObject({ code: 'Internal' });
  });
});

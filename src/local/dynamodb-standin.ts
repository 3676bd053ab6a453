/**
 * A wire-compatible DynamoDB on loopback (DESIGN §6, §8): the JSON 1.0 protocol (POST /,
 * `X-Amz-Target: DynamoDB_20120810.<Op>`) with SigV4 verified, so the CA's lock store runs
 * unchanged against it (AWS_ENDPOINT_URL_DYNAMODB). Tables with one string partition key, kept in
 * memory and, when a state folder is given, in one JSON file per table. Implements the subset lkp
 * uses: PutItem, DeleteItem (ReturnValues ALL_OLD), Scan (paged by ExclusiveStartKey), with the
 * condition expressions attribute_exists(<key>) and attribute_not_exists(<key>); anything else
 * answers UnknownOperationException or ValidationException.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { readLimitedBody } from '../http-body.js';
import { localCredentials } from './credentials.js';
import type { SigningCredentials } from './sigv4-verify.js';
import {
  JSON_SIGV4_FAULTS,
  JsonServiceFault,
  sendAwsJson,
  startStandinServer,
  verifyStandinSignature,
} from './standin-server.js';

export interface DynamoDbStandinOptions {
  region: string;
  /** Table name → its partition key attribute (type S). */
  tables: Record<string, string>;
  /** Folder for the tables' items; absent → memory only. */
  stateDir?: string;
  port?: number;
  credentials?: SigningCredentials;
  /** Items per Scan page; default 100 (small, so paging is exercised). */
  pageSize?: number;
}

export interface DynamoDbStandin {
  url: string;
  credentials: SigningCredentials;
  /** Requests received: all, or those naming operation `op`. */
  requestCount(op?: string): number;
  /** While true every request fails with a 500, as an unreachable table would (tests of fail-closed paths). */
  setFailing(failing: boolean): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
type Item = Record<string, Json>;

const TARGET_PREFIX = 'DynamoDB_20120810.';
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';
const MAX_BODY_BYTES = 512 * 1024;
const MAX_SKEW_MS = 5 * 60 * 1000;

export async function startDynamoDbStandin(opts: DynamoDbStandinOptions): Promise<DynamoDbStandin> {
  const credentials = opts.credentials ?? localCredentials();
  const tables = new Map(
    Object.entries(opts.tables).map(([name, key]) => [name, new Table(name, key, opts.stateDir)]),
  );
  const pageSize = opts.pageSize ?? 100;
  const counts = new Map<string, number>();
  let failing = false;

  const server = await startStandinServer({
    port: opts.port,
    handle: async (req, res) => {
      const target = req.headers['x-amz-target'];
      const op =
        typeof target === 'string' && target.startsWith(TARGET_PREFIX)
          ? target.slice(TARGET_PREFIX.length)
          : undefined;
      if (op !== undefined) counts.set(op, (counts.get(op) ?? 0) + 1);
      if (failing)
        throw new JsonServiceFault('InternalServerError', 'the DynamoDB stand-in is set to fail', 500);
      const input = await readInput(req, opts.region, credentials);
      const operation = op === undefined ? undefined : OPERATIONS[op];
      if (operation === undefined)
        throw new JsonServiceFault(
          'UnknownOperationException',
          `unknown or unsupported operation ${op ?? '(none)'}`,
        );
      const name = input['TableName'];
      const table = typeof name === 'string' ? tables.get(tableName(name)) : undefined;
      if (table === undefined)
        throw new JsonServiceFault('ResourceNotFoundException', 'Requested resource not found');
      sendJson(res, 200, operation(input, table, pageSize));
    },
    fail: (_req, res, e) => {
      const fault =
        e instanceof JsonServiceFault
          ? e
          : new JsonServiceFault('InternalServerError', 'internal error in the stand-in', 500);
      sendJson(res, fault.status, {
        __type: `com.amazonaws.dynamodb.v20120810#${fault.type}`,
        message: fault.message,
      });
    },
  });
  return {
    url: server.url,
    credentials,
    requestCount: (op) => (op === undefined ? server.requestCount() : (counts.get(op) ?? 0)),
    setFailing: (f) => {
      failing = f;
    },
    close: server.close,
  };
}

async function readInput(
  req: IncomingMessage,
  region: string,
  credentials: SigningCredentials,
): Promise<Json> {
  if (req.method !== 'POST' || req.url !== '/')
    throw new JsonServiceFault('UnknownOperationException', 'the DynamoDB stand-in only serves POST /');
  const body = await readLimitedBody(req, MAX_BODY_BYTES);
  if (body === undefined) throw new JsonServiceFault('ValidationException', 'request body is too large', 413);
  const verdict = verifyStandinSignature(req, body, {
    region,
    service: 'dynamodb',
    maxSkewMs: MAX_SKEW_MS,
    credentials,
  });
  if (!verdict.ok) throw new JsonServiceFault(JSON_SIGV4_FAULTS[verdict.code], verdict.message);
  if (!(req.headers['content-type'] ?? '').startsWith(JSON_CONTENT_TYPE))
    throw new JsonServiceFault('SerializationException', `Content-Type must be ${JSON_CONTENT_TYPE}`);
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch {
    throw new JsonServiceFault('SerializationException', 'request body is not JSON');
  }
  if (!isObject(input))
    throw new JsonServiceFault('SerializationException', 'request body must be a JSON object');
  return input;
}

type Operation = (input: Json, table: Table, pageSize: number) => Json;

const OPERATIONS: Readonly<Record<string, Operation>> = {
  PutItem: (input, table) => {
    const item = itemOf(input['Item'], 'Item');
    const key = table.keyOf(item);
    table.checkCondition(input, key);
    table.put(key, item);
    return {};
  },
  DeleteItem: (input, table) => {
    const key = table.keyOf(itemOf(input['Key'], 'Key'));
    table.checkCondition(input, key);
    const old = table.delete(key);
    return input['ReturnValues'] === 'ALL_OLD' && old !== undefined ? { Attributes: old } : {};
  },
  Scan: (input, table, pageSize) => {
    const all = table.sorted();
    const start = input['ExclusiveStartKey'];
    const after = start === undefined ? undefined : table.keyOf(itemOf(start, 'ExclusiveStartKey'));
    const rest = after === undefined ? all : all.filter(([k]) => k > after);
    const page = rest.slice(0, pageSize);
    const last = page.at(-1);
    return {
      Items: page.map(([, item]) => item),
      Count: page.length,
      ScannedCount: page.length,
      ...(rest.length > pageSize && last !== undefined
        ? { LastEvaluatedKey: { [table.key]: { S: last[0] } } }
        : {}),
    };
  },
};

class Table {
  private readonly items = new Map<string, Item>();
  private readonly file: string | undefined;

  constructor(
    readonly name: string,
    readonly key: string,
    stateDir: string | undefined,
  ) {
    if (stateDir !== undefined) {
      mkdirSync(stateDir, { recursive: true });
      this.file = join(stateDir, `dynamodb-${name}.json`);
      if (existsSync(this.file))
        for (const [k, item] of Object.entries(
          JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, Item>,
        ))
          this.items.set(k, item);
    }
  }

  keyOf(item: Item): string {
    const value = item[this.key]?.['S'];
    if (typeof value !== 'string' || value === '')
      throw new JsonServiceFault(
        'ValidationException',
        'One of the required keys was not given a value (the key is a string attribute named ' +
          this.key +
          ')',
      );
    return value;
  }

  /** Only the two conditions lkp writes: exists / not exists of the partition key. */
  checkCondition(input: Json, key: string): void {
    const condition = input['ConditionExpression'];
    if (condition === undefined) return;
    const match =
      typeof condition === 'string' ? /^attribute_(not_)?exists\((\w+)\)$/.exec(condition.trim()) : null;
    if (match === null || match[2] !== this.key)
      throw new JsonServiceFault(
        'ValidationException',
        'the stand-in supports only attribute_(not_)exists(<key>)',
      );
    const exists = this.items.has(key);
    if (match[1] === undefined ? !exists : exists)
      throw new JsonServiceFault('ConditionalCheckFailedException', 'The conditional request failed');
  }

  put(key: string, item: Item): void {
    this.items.set(key, item);
    this.save();
  }

  delete(key: string): Item | undefined {
    const old = this.items.get(key);
    this.items.delete(key);
    this.save();
    return old;
  }

  sorted(): [string, Item][] {
    return [...this.items.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private save(): void {
    if (this.file === undefined) return;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.items)));
    renameSync(tmp, this.file);
  }
}

/** A table name, or the name inside a table ARN (the real service accepts both). */
function tableName(nameOrArn: string): string {
  return /^arn:[^:]+:dynamodb:[^:]*:\d{12}:table\/(.+)$/.exec(nameOrArn)?.[1] ?? nameOrArn;
}

function itemOf(raw: unknown, what: string): Item {
  if (!isObject(raw) || !Object.values(raw).every(isObject))
    throw new JsonServiceFault('ValidationException', `${what} must be a map of attribute values`);
  return raw as Item;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const sendJson = (res: ServerResponse, status: number, body: object): void =>
  sendAwsJson(res, status, body, JSON_CONTENT_TYPE);

/** The revocation requests through the CA pipeline (DESIGN §8): admin decisions, the lock check, the KRL. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAllowRules } from '../../../src/authorize/allow.js';
import { builtinPolicy } from '../../../src/authorize/builtin.js';
import { createCa, type CaDeps } from '../../../src/ca.js';
import { fingerprintOf, splitKeyLine } from '../../../src/cert/keys.js';
import { loadConfig } from '../../../src/config.js';
import { generateKeyPair } from '../../../src/local/openssh.js';
import type { Lock } from '../../../src/locks/lock.js';
import type { KrlResponse, LockResponse, LocksResponse } from '../../../src/locks/protocol.js';
import { lockService } from '../../../src/locks/service.js';
import type { LockStore } from '../../../src/locks/store.js';
import type { ErrorResponse, LkpIdentity } from '../../../src/protocol.js';
import { fileSigner } from '../../../src/signer/file.js';
import type { Signer } from '../../../src/signer/signer.js';
import { ALICE, INSTANCE_ARN, INSTANCE_SESSION } from '../../helpers/identities.js';

const ADMIN: LkpIdentity = { ...ALICE, Arn: 'arn:aws:iam::111122223333:user/admin', Name: 'admin' };
const ALLOW_ALICE = parseAllowRules(`${ALICE.Arn}=*`, []);
const identity = { Method: 'POST', Url: 'https://sts/', Body: '', Headers: {} };
const config = loadConfig({
  LKP_CA_KEY: 'file:/x',
  LKP_SERVER_ID: 'lkp-test',
  LKP_ALLOWED_ACCOUNTS: '111122223333',
  AWS_REGION: 'us-east-1',
});

let dir: string;
let signer: Signer;
let subjectKey: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-locks-ca-'));
  signer = await fileSigner((await generateKeyPair(dir, 'ca')).privatePath);
  const key = await generateKeyPair(dir, 'user');
  subjectKey = key.publicKey;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function memoryStore(): LockStore & { locks: Map<string, Lock>; broken: boolean } {
  const locks = new Map<string, Lock>();
  const store = {
    locks,
    broken: false,
    list: async () => {
      if (store.broken) throw new Error('table unreachable');
      return [...locks.values()];
    },
    add: async (l: Lock) => void locks.set(l.LockId, l),
    remove: async (id: string) => {
      const l = locks.get(id);
      locks.delete(id);
      return l;
    },
  };
  return store;
}

/** A CA over `store`, as `who` calls it; `send` adds the proof fields every request carries. */
function pipeline(store: LockStore | undefined, who: LkpIdentity, overrides: Partial<CaDeps> = {}) {
  const lines: string[] = [];
  const ca = createCa({
    config,
    signer,
    policy: builtinPolicy({
      allowedAccounts: config.allowedAccounts,
      allow: ALLOW_ALICE,
      admins: [ADMIN.Arn],
    }),
    verifyIdentity: vi.fn(async () => who),
    ...(store
      ? {
          locks: lockService(store, {
            caKeys: [splitKeyLine(signer.publicKey, 'ca').blob],
            ownInstanceArn: (id) => `arn:aws:ec2:us-east-1:111122223333:instance/${id}`,
            cacheMs: 0,
          }),
        }
      : {}),
    audit: (line) => lines.push(line),
    now: () => new Date('2026-11-23T10:00:00Z'),
    ...overrides,
  });
  const send = (payload: Record<string, unknown>) =>
    ca({ payload: { Identity: identity, PublicKey: subjectKey, ...payload } }, { transport: 'test' });
  const audit = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { send, audit };
}

const lockAlice = { Kind: 'Lock', Lock: { Type: 'Caller', Value: ALICE.Arn, Reason: 'laptop stolen' } };
const userRequest = { Kind: 'User', RemoteInstanceArn: INSTANCE_ARN, SshUsername: 'ec2-user' };

describe('Lock, Unlock, Locks', () => {
  it('an admin named in LKP_ADMINS locks, lists and unlocks; each decision is audited', async () => {
    const { send, audit } = pipeline(memoryStore(), ADMIN);
    const locked = await send(lockAlice);
    expect(locked.status).toBe(200);
    const lock = (locked.response as LockResponse).Lock;
    expect(lock).toMatchObject({
      Type: 'Caller',
      Value: ALICE.Arn,
      CreatedBy: ADMIN.Arn,
      LockId: expect.stringMatching(/^lk-[0-9a-f]{16}$/),
    });
    expect(((await send({ Kind: 'Locks' })).response as LocksResponse).Locks).toEqual([lock]);
    expect((await send({ Kind: 'Unlock', LockId: lock.LockId })).status).toBe(200);
    expect(((await send({ Kind: 'Locks' })).response as LocksResponse).Locks).toEqual([]);
    expect(audit()).toEqual([
      expect.objectContaining({
        decision: 'allow',
        kind: 'Lock',
        caller: ADMIN.Arn,
        policy: 'built-in',
        lock: expect.objectContaining({ lockId: lock.LockId, reason: 'laptop stolen' }),
      }),
      expect.objectContaining({ decision: 'allow', kind: 'Locks' }),
      expect.objectContaining({
        decision: 'allow',
        kind: 'Unlock',
        lock: expect.objectContaining({ lockId: lock.LockId }),
      }),
      expect.objectContaining({ decision: 'allow', kind: 'Locks' }),
    ]);
  });

  it('anyone else is refused every admin action, and nothing changes', async () => {
    const store = memoryStore();
    const { send, audit } = pipeline(store, ALICE);
    for (const req of [lockAlice, { Kind: 'Locks' }, { Kind: 'Unlock', LockId: 'lk-0123456789abcdef' }]) {
      const { status, response } = await send(req);
      expect(status).toBe(403);
      expect((response as ErrorResponse).Error.Message).toMatch(/not an lkp admin \(LKP_ADMINS\)/);
    }
    expect(store.locks.size).toBe(0);
    expect(audit().map((l) => l['decision'])).toEqual(['deny', 'deny', 'deny']);
  });

  it('the built-in policy without LKP_ADMINS lets nobody lock', async () => {
    const { send } = pipeline(memoryStore(), ADMIN, {
      policy: builtinPolicy({ allowedAccounts: config.allowedAccounts, allow: ALLOW_ALICE }),
    });
    const { status, response } = await send(lockAlice);
    expect(status).toBe(403);
    expect((response as ErrorResponse).Error.Message).toMatch(/names no admins/);
  });

  it('a CA without LKP_LOCKS_TABLE says so', async () => {
    const { status, response } = await pipeline(undefined, ADMIN).send(lockAlice);
    expect(status).toBe(400);
    expect((response as ErrorResponse).Error.Message).toMatch(/LKP_LOCKS_TABLE is not set/);
  });
});

describe('certificates for locked identities, keys and instances', () => {
  it('are refused at once, with the lock named; unlocking restores them', async () => {
    const store = memoryStore();
    const admin = pipeline(store, ADMIN);
    const alice = pipeline(store, ALICE);
    expect((await alice.send(userRequest)).status).toBe(200);
    const { Lock: lock } = (await admin.send(lockAlice)).response as LockResponse;
    const denied = await alice.send(userRequest);
    expect(denied.status).toBe(403);
    expect((denied.response as ErrorResponse).Error.Message).toBe(
      `Caller ${ALICE.Arn} is locked (${lock.LockId}, until unlocked): laptop stolen`,
    );
    expect(alice.audit().at(-1)).toMatchObject({ decision: 'deny', detail: { lockId: lock.LockId } });
    await admin.send({ Kind: 'Unlock', LockId: lock.LockId });
    expect((await alice.send(userRequest)).status).toBe(200);
  });

  it.each([
    ['Key', () => fingerprintOf(splitKeyLine(subjectKey, 'key').blob)],
    ['Instance', () => 'i-0123456789abcdef0'],
    ['KeyId', () => ALICE.Arn],
    ['Caller', () => 'arn:aws:iam::111122223333:user/*'],
  ])('a %s lock stops a user certificate', async (Type, value) => {
    const store = memoryStore();
    await pipeline(store, ADMIN).send({ Kind: 'Lock', Lock: { Type, Value: value(), Reason: 'r' } });
    expect(store.locks.size).toBe(1);
    expect((await pipeline(store, ALICE).send(userRequest)).status).toBe(403);
  });

  it('an Instance lock stops the host certificate too; a store that cannot be read stops every certificate', async () => {
    const store = memoryStore();
    const host = { Kind: 'Host', HostInstanceArn: INSTANCE_ARN, Principals: [] };
    expect((await pipeline(store, INSTANCE_SESSION).send(host)).status).toBe(200);
    await pipeline(store, ADMIN).send({
      Kind: 'Lock',
      Lock: { Type: 'Instance', Value: 'i-0123456789abcdef0', Reason: 'compromised' },
    });
    expect((await pipeline(store, INSTANCE_SESSION).send(host)).status).toBe(403);

    store.broken = true;
    store.locks.clear();
    const failed = await pipeline(store, ALICE).send(userRequest);
    expect(failed.status).toBe(500);
    expect((failed.response as ErrorResponse).Error.Message).toMatch(
      /lock store \(LKP_LOCKS_TABLE\) cannot be read, so no certificate is signed/,
    );
    expect((await pipeline(store, INSTANCE_SESSION).send(host)).status).toBe(500);
  });
});

describe('Krl', () => {
  const listing = (response: unknown): string => {
    const path = join(dir, 'answer.krl');
    writeFileSync(path, Buffer.from((response as KrlResponse).Krl, 'base64'));
    return spawnSync('ssh-keygen', ['-Q', '-l', '-f', path], { encoding: 'utf8' }).stdout;
  };

  it('gives a host its full KRL, which ssh-keygen reads; other callers get only host revocations', async () => {
    const store = memoryStore();
    const admin = pipeline(store, ADMIN);
    await admin.send(lockAlice);
    await admin.send({ Kind: 'Lock', Lock: { Type: 'Serial', Value: '12345', Reason: 'leaked cert' } });

    const forHost = await pipeline(store, INSTANCE_SESSION).send({
      Kind: 'Krl',
      HostInstanceArn: INSTANCE_ARN,
    });
    expect(forHost.status).toBe(200);
    expect(listing(forHost.response)).toMatch(/serial: 12345/);
    expect(listing(forHost.response)).toContain(`id: ${ALICE.Arn}`);

    // Alice is not that instance: no host list for her ...
    expect((await pipeline(store, ALICE).send({ Kind: 'Krl', HostInstanceArn: INSTANCE_ARN })).status).toBe(
      403,
    );
    // ... but the client list, which names no people.
    const forClient = await pipeline(store, ALICE).send({ Kind: 'Krl' });
    expect(forClient.status).toBe(200);
    expect(listing(forClient.response)).toMatch(/serial: 12345/);
    expect(listing(forClient.response)).not.toContain(ALICE.Arn);
  });
});

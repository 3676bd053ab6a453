/**
 * The CA's view of the lock store: locks read per request and cached a few seconds at most, the
 * check every certificate passes, and the admin actions. A store that cannot be read stops every
 * certificate (fail closed, DESIGN §8) and says so.
 */
import { randomBytes } from 'node:crypto';
import { badRequest, forbidden, internal } from '../errors.js';
import {
  activeLocks,
  checkLockSpec,
  describeLock,
  lockFor,
  type Lock,
  type LockSpec,
  type LockSubject,
} from './lock.js';
import { krlOfLocks, type KrlScope } from './krl.js';
import type { LockStore } from './store.js';

export interface LockService {
  /** Throws Forbidden when a lock stops a certificate for `subject`, Internal when the store cannot be read. */
  check(subject: LockSubject, now: Date): Promise<void>;
  /** Active locks, oldest first. */
  list(now: Date): Promise<Lock[]>;
  lock(spec: LockSpec, createdBy: string, now: Date): Promise<Lock>;
  unlock(lockId: string): Promise<Lock>;
  krl(scope: KrlScope, now: Date): Promise<Buffer>;
}

export interface LockServiceOptions {
  /** Blobs of the CA keys whose certificates the KRL revokes. */
  caKeys: readonly Buffer[];
  /** An instance id → its ARN in the CA's account and region; undefined when the CA's account is unknown. */
  ownInstanceArn: (id: string) => string | undefined;
  /** How long a read is reused; default 2 s. Another CA instance sees a new lock within this. */
  cacheMs?: number;
  random?: (size: number) => Buffer;
}

const DEFAULT_CACHE_MS = 2000;

export function lockService(store: LockStore, opts: LockServiceOptions): LockService {
  const cacheMs = opts.cacheMs ?? DEFAULT_CACHE_MS;
  const random = opts.random ?? randomBytes;
  let cached: { at: number; locks: Promise<Lock[]> } | undefined;

  /** One read in flight at a time; a failed read is never cached. */
  const read = (now: Date): Promise<Lock[]> => {
    const at = now.getTime();
    if (cached === undefined || at - cached.at >= cacheMs || at < cached.at) {
      const locks = store.list();
      const entry = { at, locks };
      cached = entry;
      locks.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.locks;
  };
  const readOrFail = async (now: Date, what: string): Promise<Lock[]> => {
    try {
      return activeLocks(await read(now), seconds(now));
    } catch (e) {
      throw internal(`the lock store (LKP_LOCKS_TABLE) cannot be read, so ${what}; see the CA logs`, e);
    }
  };

  return {
    async check(subject, now) {
      const lock = lockFor(subject, await readOrFail(now, 'no certificate is signed'));
      if (lock !== undefined) throw forbidden(describeLock(lock), { lockId: lock.LockId });
    },
    async list(now) {
      const locks = await readOrFail(now, 'locks cannot be listed');
      return locks.sort((a, b) => a.CreatedAt - b.CreatedAt || a.LockId.localeCompare(b.LockId));
    },
    async lock(spec, createdBy, now) {
      const checked = checkLockSpec(spec, seconds(now), opts.ownInstanceArn);
      const lock: Lock = {
        LockId: `lk-${random(8).toString('hex')}`,
        ...checked,
        CreatedBy: createdBy,
        CreatedAt: seconds(now),
      };
      await writeOrFail(() => store.add(lock));
      cached = undefined;
      return lock;
    },
    async unlock(lockId) {
      const removed = await writeOrFail(() => store.remove(lockId));
      cached = undefined;
      if (removed === undefined) throw badRequest(`there is no lock ${lockId}; lkp locks lists them`);
      return removed;
    },
    async krl(scope, now) {
      return krlOfLocks(await readOrFail(now, 'no revocation list is served'), opts.caKeys, now, scope);
    },
  };
}

async function writeOrFail<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    throw internal('the lock store (LKP_LOCKS_TABLE) cannot be written; see the CA logs', e);
  }
}

const seconds = (now: Date) => Math.floor(now.getTime() / 1000);

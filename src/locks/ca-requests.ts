/**
 * The CA's side of the revocation requests (DESIGN §8), called by the pipeline in src/ca.ts once a
 * request parsed: prove the caller, let the policy decide admin actions, act, fill the audit record.
 */
import type { AuditLock, AuditRecord } from '../audit.js';
import { checkHostCaller, checkHostRole } from '../authorize/host-caller.js';
import type { CaDeps } from '../ca.js';
import { parsePublicKey } from '../cert/index.js';
import { badRequest, forbidden } from '../errors.js';
import type { LkpIdentity } from '../protocol.js';
import type { Lock } from './lock.js';
import type {
  AdminRequest,
  LkpAdminAuthorizationRequest,
  RevocationRequest,
  RevocationResponse,
} from './protocol.js';
import type { LockService } from './service.js';

export async function handleRevocation(
  req: RevocationRequest,
  deps: CaDeps,
  record: AuditRecord,
  now: Date,
): Promise<RevocationResponse> {
  const locks = deps.locks;
  if (locks === undefined) throw badRequest('this CA keeps no locks (LKP_LOCKS_TABLE is not set)');
  const publicKey = parsePublicKey(req.PublicKey);
  record.keyFingerprint = publicKey.fingerprint;
  const who = await deps.verifyIdentity(req.Identity, publicKey.fingerprint, now);
  record.caller = who.Arn;

  if (req.Kind === 'Krl') {
    if (req.HostInstanceArn !== undefined) {
      record.target = req.HostInstanceArn;
      // The full list names locked people: only a host proving itself as for its certificate gets it.
      checkHostCaller(who, req.HostInstanceArn);
      if (deps.instances)
        checkHostRole(who, req.HostInstanceArn, await deps.instances.instanceRole(req.HostInstanceArn));
    }
    const krl = await locks.krl(req.HostInstanceArn !== undefined ? 'host' : 'client', now);
    return { Krl: krl.toString('base64'), GeneratedAt: Math.floor(now.getTime() / 1000) };
  }

  record.policy = deps.policy.name;
  await authorizeAdmin(req, who, deps);
  return act(req, who, locks, record, now);
}

async function authorizeAdmin(req: AdminRequest, who: LkpIdentity, deps: CaDeps): Promise<void> {
  const ask: LkpAdminAuthorizationRequest = {
    Kind: 'LkpAdminAuthorizationRequest',
    From: who,
    Action: req.Kind,
  };
  if (req.Kind === 'Lock') ask.Lock = req.Lock;
  if (req.Kind === 'Unlock') ask.LockId = req.LockId;
  if (deps.policy.authorizeAdmin === undefined)
    throw forbidden(`policy ${deps.policy.name} makes no admin decisions`);
  await deps.policy.authorizeAdmin(ask);
}

async function act(
  req: AdminRequest,
  who: LkpIdentity,
  locks: LockService,
  record: AuditRecord,
  now: Date,
): Promise<RevocationResponse> {
  switch (req.Kind) {
    case 'Lock': {
      const lock = await locks.lock(req.Lock, who.Arn, now);
      record.lock = auditLock(lock);
      return { Lock: lock };
    }
    case 'Unlock': {
      const lock = await locks.unlock(req.LockId);
      record.lock = auditLock(lock);
      return { Unlocked: lock };
    }
    case 'Locks':
      return { Locks: await locks.list(now) };
  }
}

function auditLock(lock: Lock): AuditLock {
  return {
    lockId: lock.LockId,
    type: lock.Type,
    value: lock.Value,
    reason: lock.Reason,
    ...(lock.ExpiresAt !== undefined ? { expiresAt: lock.ExpiresAt } : {}),
  };
}

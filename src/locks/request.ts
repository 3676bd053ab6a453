/** Raw JSON → a typed revocation request (src/locks/protocol.ts); shape only, like src/request.ts. */
import { badRequest } from '../errors.js';
import { instanceArn, object, onlyFields, parseIdentityProof, string, type Json } from '../request.js';
import { LOCK_ID, LOCK_TYPES, type LockSpec, type LockType } from './lock.js';
import type { RevocationRequest } from './protocol.js';

export const REVOCATION_KINDS = ['Lock', 'Unlock', 'Locks', 'Krl'] as const;

const AUTHENTICATED = ['Kind', 'Identity', 'PublicKey'] as const;

export function parseRevocationRequest(req: Json): RevocationRequest {
  const proof = () => ({
    Identity: parseIdentityProof(req.Identity),
    PublicKey: string(req.PublicKey, 'PublicKey'),
  });
  switch (req.Kind) {
    case 'Lock':
      onlyFields(req, 'request', [...AUTHENTICATED, 'Lock']);
      return { Kind: 'Lock', ...proof(), Lock: parseLockSpec(req.Lock) };
    case 'Unlock': {
      onlyFields(req, 'request', [...AUTHENTICATED, 'LockId']);
      const lockId = string(req.LockId, 'LockId');
      if (!LOCK_ID.test(lockId))
        throw badRequest('LockId must look like lk-0123456789abcdef (lkp locks lists them)');
      return { Kind: 'Unlock', ...proof(), LockId: lockId };
    }
    case 'Locks':
      onlyFields(req, 'request', [...AUTHENTICATED]);
      return { Kind: 'Locks', ...proof() };
    case 'Krl': {
      onlyFields(req, 'request', [...AUTHENTICATED, 'HostInstanceArn']);
      if (req.HostInstanceArn === undefined) return { Kind: 'Krl', ...proof() };
      return {
        Kind: 'Krl',
        ...proof(),
        HostInstanceArn: instanceArn(req.HostInstanceArn, 'HostInstanceArn'),
      };
    }
    default:
      throw badRequest(`request Kind must be one of ${REVOCATION_KINDS.join(', ')}`);
  }
}

function parseLockSpec(raw: unknown): LockSpec {
  const lock = object(raw, 'Lock');
  onlyFields(lock, 'Lock', ['Type', 'Value', 'Reason', 'ExpiresAt']);
  const type = string(lock.Type, 'Lock.Type');
  if (!LOCK_TYPES.includes(type as LockType))
    throw badRequest(`Lock.Type must be one of ${LOCK_TYPES.join(', ')}`);
  const spec: LockSpec = {
    Type: type as LockType,
    Value: string(lock.Value, 'Lock.Value'),
    Reason: string(lock.Reason, 'Lock.Reason'),
  };
  if (lock.ExpiresAt !== undefined) {
    if (typeof lock.ExpiresAt !== 'number')
      throw badRequest('Lock.ExpiresAt must be a number (Unix seconds)');
    spec.ExpiresAt = lock.ExpiresAt;
  }
  return spec;
}

/**
 * Wire types of the revocation requests (DESIGN §8; our addition to §3.2). Lock, Unlock and Locks
 * are admin actions the policy decides; Krl returns the current revocation list to an
 * authenticated host (or, without HostInstanceArn, the host revocations to any caller).
 */
import type { IdentityProof, LkpIdentity } from '../protocol.js';
import type { Lock, LockSpec } from './lock.js';

export type { Lock, LockSpec, LockType } from './lock.js';

interface Authenticated {
  Identity: IdentityProof;
  /** Bound into the proof like every request's key; otherwise unused. */
  PublicKey: string;
}

export interface LockRequest extends Authenticated {
  Kind: 'Lock';
  Lock: LockSpec;
}

export interface UnlockRequest extends Authenticated {
  Kind: 'Unlock';
  LockId: string;
}

export interface LocksRequest extends Authenticated {
  Kind: 'Locks';
}

export interface KrlRequest extends Authenticated {
  Kind: 'Krl';
  /** The asking host: its own role session gets the full list for sshd's RevokedKeys. */
  HostInstanceArn?: string;
}

export type AdminRequest = LockRequest | UnlockRequest | LocksRequest;
export type RevocationRequest = AdminRequest | KrlRequest;

export interface LockResponse {
  Lock: Lock;
}
export interface UnlockResponse {
  Unlocked: Lock;
}
export interface LocksResponse {
  Locks: Lock[];
}
export interface KrlResponse {
  /** The KRL file, base64. */
  Krl: string;
  /** Unix seconds. */
  GeneratedAt: number;
}

export type RevocationResponse = LockResponse | UnlockResponse | LocksResponse | KrlResponse;

/**
 * What the CA asks AUTHORIZATION_LAMBDA before an admin action (our addition). The answer is
 * `{ "Authorized": true | false }`; anything else is a PolicyError, and nothing changes.
 */
export interface LkpAdminAuthorizationRequest {
  Kind: 'LkpAdminAuthorizationRequest';
  From: LkpIdentity;
  Action: AdminRequest['Kind'];
  /** The lock asked for (Lock). */
  Lock?: LockSpec;
  /** The lock to remove (Unlock). */
  LockId?: string;
}

/** The policy's answer to an admin request: nothing but the decision. */
export interface LkpAdminAuthorizationResponse {
  Authorized: boolean;
  /** Why not (our addition, as for certificates): shown to the caller, cleaned (docs/access-policy.md). */
  Reason?: string;
}

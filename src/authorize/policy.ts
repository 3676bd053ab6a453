import type { AccountsGrant } from '../accounts/policy-answer.js';
import type {
  LkpAccountsAuthorizationRequest,
  LkpHostCertAuthorizationRequest,
  LkpUserCertAuthorizationRequest,
} from '../protocol.js';
import type { LkpAdminAuthorizationRequest } from '../locks/protocol.js';
import type { Grant } from './grant.js';

/**
 * Decides what a verified caller may have. Implementations: the built-in policy, and (later)
 * the AUTHORIZATION_LAMBDA client. Throws Forbidden for a denial, PolicyError for a broken policy.
 */
export interface Policy {
  readonly name: string;
  authorizeUser(req: LkpUserCertAuthorizationRequest): Promise<Grant>;
  authorizeHost(req: LkpHostCertAuthorizationRequest): Promise<Grant>;
  /** Which of the offered unix accounts the instance keeps; never more than offered. */
  authorizeAccounts(req: LkpAccountsAuthorizationRequest): Promise<AccountsGrant>;
  /** Lock, Unlock, Locks (DESIGN §8): resolves when allowed. Absent → every admin action is Forbidden. */
  authorizeAdmin?(req: LkpAdminAuthorizationRequest): Promise<void>;
}

import type { LkpHostCertAuthorizationRequest, LkpUserCertAuthorizationRequest } from '../protocol.js';
import type { Grant } from './grant.js';

/**
 * Decides what a verified caller may have. Implementations: the built-in policy, and (later)
 * the AUTHORIZATION_LAMBDA client. Throws Forbidden for a denial, PolicyError for a broken policy.
 */
export interface Policy {
  readonly name: string;
  authorizeUser(req: LkpUserCertAuthorizationRequest): Promise<Grant>;
  authorizeHost(req: LkpHostCertAuthorizationRequest): Promise<Grant>;
}

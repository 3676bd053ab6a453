/** The wire types a policy sees and answers with (DESIGN §3.4), re-exported for policy authors. */
export type {
  LkpAccount,
  LkpAccountsAuthorizationRequest,
  LkpAccountsAuthorizationResponse,
  LkpAuthorizationRequest,
  LkpAuthorizationResponse,
  LkpCertificateOptions,
  LkpHostCertAuthorizationRequest,
  LkpHostCertAuthorizationResponse,
  LkpIdentity,
  LkpInstanceConnectEndpoint,
  LkpJumpbox,
  LkpUserCertAuthorizationRequest,
  LkpUserCertAuthorizationResponse,
  LkpVoucher,
} from '../../src/protocol.js';
export type {
  LkpAdminAuthorizationRequest,
  LkpAdminAuthorizationResponse,
  Lock,
  LockSpec,
  LockType,
} from '../../src/locks/protocol.js';
export type { Grant, JumpboxGrant } from '../../src/authorize/grant.js';
export type { AccountsGrant } from '../../src/accounts/policy-answer.js';

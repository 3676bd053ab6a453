/**
 * The access-policy example of LastKeypair's docs, ported to the lkp SDK. Same rules; two bugs
 * fixed. The original answered `callback({ authorized: true })`, which hands the answer to Lambda
 * as the *error* argument: every "allow" was a FunctionError. It also kept going after an allow
 * and called back again. And its dev-region prefix had no trailing ':', so it matched any account
 * id that merely started with the same digits. Here each rule returns, and prefixes end at a boundary.
 *
 * Rules: main-account admin user always; one main-account user during UTC work hours; the support
 * partner's account outside them; one person who signs in through a SAML role; anyone on the party
 * host; anyone in the dev region of the main account. Added for lkp: the main-account admin user
 * alone may lock, unlock and list locks (docs/security.md, "Revocation").
 */
import {
  hasRoleId,
  inAccount,
  instanceArnStartsWith,
  isIamUser,
  roleSessionName,
  withinUtcHours,
} from '../sdk/checks.js';
import { allowInstanceOwnSession, definePolicy, deny, type PolicyHandler } from '../sdk/define-policy.js';
import type { LkpUserCertAuthorizationRequest } from '../sdk/types.js';

export const MAIN_ACCOUNT = '987654321098';
/** The third-party support provider: allowed in only when we are not at work. */
export const SUPPORT_ACCOUNT = '012345678901';
export const ADMIN_USER = 'admin@example.com';
export const WORK_HOURS_USER = 'daytime@example.com';
export const WORK_HOURS = { from: 9, to: 17 } as const;
/** The unique id (aws iam get-role) of the role SAML users assume, and one person's session on it. */
export const SAML_ROLE_ID = 'AROAEXAMPLESAMLROLE01';
export const SAML_SESSION_NAME = 'saml.user@example.com';
export const PARTY_HOST = `arn:aws:ec2:ap-southeast-2:${MAIN_ACCOUNT}:instance/i-0123abcd`;
export const DEV_REGION_PREFIX = `arn:aws:ec2:us-east-1:${MAIN_ACCOUNT}:`;

export function lastKeypairPolicy(now: () => Date = () => new Date()): PolicyHandler {
  return definePolicy({
    user: (req) => (userAllowed(req, now()) ? { Authorized: true } : deny('no rule allows this caller here')),
    // The original had no host certificates; allow what the CA allows anyway.
    host: allowInstanceOwnSession,
    admin: (req) =>
      inAccount(req, MAIN_ACCOUNT) && isIamUser(req, ADMIN_USER)
        ? { Authorized: true }
        : deny('only the main-account admin may lock or unlock'),
  });
}

function userAllowed(req: LkpUserCertAuthorizationRequest, now: Date): boolean {
  // Accounts are checked with names: a partner could create an IAM user with one of our names.
  const main = inAccount(req, MAIN_ACCOUNT);
  const atWork = withinUtcHours(now, WORK_HOURS.from, WORK_HOURS.to);
  return (
    (main && isIamUser(req, ADMIN_USER)) ||
    (main && isIamUser(req, WORK_HOURS_USER) && atWork) ||
    (inAccount(req, SUPPORT_ACCOUNT) && !atWork) ||
    (main && hasRoleId(req, SAML_ROLE_ID) && roleSessionName(req) === SAML_SESSION_NAME) ||
    req.RemoteInstanceArn === PARTY_HOST ||
    instanceArnStartsWith(req, DEV_REGION_PREFIX)
  );
}

export const handler = lastKeypairPolicy();

/**
 * Judges a policy answer exactly as the CA will, by calling the CA's own validator
 * (src/authorize/response.ts), so that an author sees a mistake in their own tests and logs
 * instead of as a PolicyError at the CA.
 */
import { parseAccountsPolicyResponse, type AccountsGrant } from '../../src/accounts/policy-answer.js';
import type { Grant } from '../../src/authorize/grant.js';
import {
  parseAdminPolicyResponse,
  parseHostPolicyResponse,
  parseUserPolicyResponse,
} from '../../src/authorize/response.js';
import { LkpError } from '../../src/errors.js';
import type { LkpAdminAuthorizationRequest } from '../../src/locks/protocol.js';
import type { LkpAuthorizationRequest } from '../../src/protocol.js';

/** Allowed: the certificate grant, or for an accounts request the accounts the instance keeps. */
export type Verdict =
  | { allowed: true; grant: Grant }
  | { allowed: true; accounts: AccountsGrant }
  | { allowed: false; reason: string };

/** The CA would answer PolicyError: the answer is malformed (DESIGN §3.4 fail closed). */
export class PolicyAnswerError extends Error {
  override readonly name = 'PolicyAnswerError';
}

/** Allowed with the grant the CA would sign, or denied; throws PolicyAnswerError for a broken answer. */
export function judgeAnswer(answer: unknown, req: LkpAuthorizationRequest): Verdict {
  return judged(() => {
    if (req.Kind === 'LkpAccountsAuthorizationRequest')
      return { allowed: true, accounts: parseAccountsPolicyResponse(answer, req) };
    const grant =
      req.Kind === 'LkpUserCertAuthorizationRequest'
        ? parseUserPolicyResponse(answer, req)
        : parseHostPolicyResponse(answer, req);
    return { allowed: true, grant };
  });
}

/** An admin answer (Lock, Unlock, Locks) as the CA judges it: allowed, denied, or PolicyAnswerError. */
export function judgeAdminAnswer(
  answer: unknown,
  req: LkpAdminAuthorizationRequest,
): { allowed: true } | { allowed: false; reason: string } {
  return judged(() => {
    parseAdminPolicyResponse(answer, req);
    return { allowed: true };
  });
}

/** The CA's Forbidden is a denial; any other refusal of the answer is the author's mistake. */
function judged<T>(judge: () => T): T | { allowed: false; reason: string } {
  try {
    return judge();
  } catch (e) {
    if (!(e instanceof LkpError)) throw e;
    if (e.code === 'Forbidden') return { allowed: false, reason: e.message };
    throw new PolicyAnswerError(`${e.message} (the CA refuses such an answer as a PolicyError)`, {
      cause: e,
    });
  }
}

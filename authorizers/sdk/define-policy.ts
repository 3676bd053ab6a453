/**
 * definePolicy: the Lambda handler around an author's rules. Input is checked strictly, each Kind
 * goes to its own function (none given → deny; for accounts, the CA's offer as it is: the deployer
 * chose the IAM groups, and a rule only narrows them), and the answer is judged by the CA's validator.
 * Admin requests (Lock, Unlock, Locks: docs/security.md, "Revocation") go to `admin`; none → deny.
 */
import { globMatch } from '../../src/authorize/allow.js';
import type {
  LkpAdminAuthorizationRequest,
  LkpAdminAuthorizationResponse,
} from '../../src/locks/protocol.js';
import type {
  LkpAccountsAuthorizationRequest,
  LkpAccountsAuthorizationResponse,
  LkpAuthorizationRequest,
  LkpAuthorizationResponse,
  LkpHostCertAuthorizationRequest,
  LkpHostCertAuthorizationResponse,
  LkpUserCertAuthorizationRequest,
  LkpUserCertAuthorizationResponse,
} from '../../src/protocol.js';
import { cleanReason } from '../../src/authorize/response.js';
import { judgeAdminAnswer, judgeAnswer } from './answer.js';
import { isInstanceOwnSession } from './checks.js';
import { parsePolicyRequest } from './parse-request.js';

type Awaitable<T> = T | Promise<T>;

export interface PolicyRules {
  user?: (req: LkpUserCertAuthorizationRequest) => Awaitable<LkpUserCertAuthorizationResponse>;
  host?: (req: LkpHostCertAuthorizationRequest) => Awaitable<LkpHostCertAuthorizationResponse>;
  /** Narrows the unix accounts the CA offers an instance; without it the instance gets the offer. */
  accounts?: (req: LkpAccountsAuthorizationRequest) => Awaitable<LkpAccountsAuthorizationResponse>;
  /** Decides who may lock, unlock and list locks (`lkp lock`, `unlock`, `locks`); see allowAdmins. */
  admin?: (req: LkpAdminAuthorizationRequest) => Awaitable<LkpAdminAuthorizationResponse>;
}

/** A Lambda handler; the Node.js runtime passes (event, context), of which only the event matters. */
export type PolicyHandler = (
  event: unknown,
) => Promise<LkpAuthorizationResponse | LkpAdminAuthorizationResponse>;

const DENIED = { Authorized: false } as const;
/** No rule for this Kind: a deny, unlike a rule that returns nothing (a broken policy). */
const NO_RULE = Symbol('no rule');

export function definePolicy(rules: PolicyRules): PolicyHandler {
  return async (event) => {
    // A request that is not well formed throws: Lambda reports a FunctionError, the CA signs nothing.
    const req = parsePolicyRequest(event);
    if (req.Kind === 'LkpAdminAuthorizationRequest') {
      if (!rules.admin) return { ...DENIED };
      const answer = await rules.admin(req);
      return judgeAdminAnswer(answer, req).allowed ? answer : denialOf(answer);
    }
    const answer = await answerOf(rules, req);
    if (answer === NO_RULE) return { ...DENIED };
    // A malformed answer throws with the CA's own message, in the author's logs and tests.
    return judgeAnswer(answer, req).allowed ? answer : denialOf(answer);
  };
}

/** A denial passes on its Reason, cleaned as the CA cleans it, and nothing else the rule returned. */
function denialOf(answer: { Reason?: string }): { Authorized: false; Reason?: string } {
  const reason = answer.Reason === undefined ? undefined : cleanReason(answer.Reason);
  return reason === undefined ? { ...DENIED } : { ...DENIED, Reason: reason };
}

async function answerOf(
  rules: PolicyRules,
  req: LkpAuthorizationRequest,
): Promise<LkpAuthorizationResponse | typeof NO_RULE> {
  if (req.Kind === 'LkpUserCertAuthorizationRequest') return rules.user ? rules.user(req) : NO_RULE;
  if (req.Kind === 'LkpAccountsAuthorizationRequest')
    return rules.accounts ? rules.accounts(req) : { Authorized: true };
  return rules.host ? rules.host(req) : NO_RULE;
}

/**
 * A denial whose reason the caller reads after the CA's own words ("policy denied access to i-… for
 * ec2-user: <reason>") and the audit line records, cut to one line of printable ASCII
 * (docs/access-policy.md): write nothing there you would not tell the caller. The reason is also
 * on one JSON log line (CloudWatch for a deployed policy; stderr in `lkp policy test`).
 */
export function deny(reason: string): { Authorized: false; Reason: string } {
  console.info(JSON.stringify({ lkpPolicy: 'deny', reason }));
  return { Authorized: false, Reason: reason };
}

/**
 * A host rule for policies that add nothing for hosts: allow exactly what the CA allows anyway,
 * the instance's own role session (DESIGN §3.4).
 */
export function allowInstanceOwnSession(
  req: LkpHostCertAuthorizationRequest,
): LkpHostCertAuthorizationResponse {
  return { Authorized: isInstanceOwnSession(req) };
}

/**
 * An admin rule: Lock, Unlock and Locks for callers whose ARN matches one of `patterns`, where `*`
 * stands for any characters (as in the CA's LKP_ADMINS), e.g.
 * `arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_SecurityAdmin_*\/*`. Nobody else.
 */
export function allowAdmins(
  ...patterns: string[]
): (req: LkpAdminAuthorizationRequest) => LkpAdminAuthorizationResponse {
  return (req) =>
    patterns.some((pattern) => globMatch(pattern, req.From.Arn))
      ? { Authorized: true }
      : deny(`${req.From.Arn} is not an lkp admin`);
}

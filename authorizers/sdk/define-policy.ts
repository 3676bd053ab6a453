/**
 * definePolicy: the Lambda handler around an author's rules. Input is checked strictly, each Kind
 * goes to its own function (none given → deny; for accounts, the CA's offer as it is: the deployer
 * chose the IAM groups, and a rule only narrows them), and the answer is judged by the CA's validator.
 */
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
import { judgeAnswer } from './answer.js';
import { isInstanceOwnSession } from './checks.js';
import { parseAuthorizationRequest } from './parse-request.js';

type Awaitable<T> = T | Promise<T>;

export interface PolicyRules {
  user?: (req: LkpUserCertAuthorizationRequest) => Awaitable<LkpUserCertAuthorizationResponse>;
  host?: (req: LkpHostCertAuthorizationRequest) => Awaitable<LkpHostCertAuthorizationResponse>;
  /** Narrows the unix accounts the CA offers an instance; without it the instance gets the offer. */
  accounts?: (req: LkpAccountsAuthorizationRequest) => Awaitable<LkpAccountsAuthorizationResponse>;
}

/** A Lambda handler; the Node.js runtime passes (event, context), of which only the event matters. */
export type PolicyHandler = (event: unknown) => Promise<LkpAuthorizationResponse>;

const DENIED = { Authorized: false } as const;
/** No rule for this Kind: a deny, unlike a rule that returns nothing (a broken policy). */
const NO_RULE = Symbol('no rule');

export function definePolicy(rules: PolicyRules): PolicyHandler {
  return async (event) => {
    // A request that is not well formed throws: Lambda reports a FunctionError, the CA signs nothing.
    const req = parseAuthorizationRequest(event);
    const answer = await answerOf(rules, req);
    if (answer === NO_RULE) return { ...DENIED };
    // A malformed answer throws with the CA's own message, in the author's logs and tests.
    return judgeAnswer(answer, req).allowed ? answer : { ...DENIED };
  };
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

/** A denial, with its reason on one JSON log line (CloudWatch for a deployed policy; stderr in `lkp policy test`). */
export function deny(reason: string): { Authorized: false } {
  console.info(JSON.stringify({ lkpPolicy: 'deny', reason }));
  return { Authorized: false };
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

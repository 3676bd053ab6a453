/** The lkp policy SDK (DESIGN §3.4): types, definePolicy, checks, and tools to test a policy. */
export * from './types.js';
export {
  allowAdmins,
  allowInstanceOwnSession,
  definePolicy,
  deny,
  type PolicyHandler,
  type PolicyRules,
} from './define-policy.js';
export * from './checks.js';
export { personalAccountName, posixName, POSIX_NAME_MAX } from '../../src/posix-name.js';
export { parseAuthorizationRequest, parsePolicyRequest, PolicyRequestError } from './parse-request.js';
export { judgeAdminAnswer, judgeAnswer, PolicyAnswerError, type Verdict } from './answer.js';
export { sampleRequest, SAMPLE_FINGERPRINT } from './sample-request.js';
export { invokeHandler, PolicyFunctionError, type LambdaContext, type LambdaHandler } from './invoke.js';

/**
 * The AUTHORIZATION_LAMBDA client (DESIGN §3.4): sends the policy request as the Invoke payload,
 * unchanged, and turns every way the call can go wrong into a PolicyError that names the fix.
 * The only module that calls Lambda on the CA's behalf.
 */
import { parseAccountsPolicyResponse } from '../accounts/policy-answer.js';
import { AnswerTooLarge, AwsServiceError } from '../aws/http-client.js';
import { lambdaInvoker, type InvokeResult, type LambdaInvoker } from '../aws/lambda-invoke.js';
import { LkpError } from '../errors.js';
import type { LkpAdminAuthorizationRequest } from '../locks/protocol.js';
import type { LkpAuthorizationRequest } from '../protocol.js';
import type { Policy } from './policy.js';
import { parseAdminPolicyResponse, parseHostPolicyResponse, parseUserPolicyResponse } from './response.js';

/** A policy answer is a few hundred bytes; anything far larger is a broken policy, not parsed. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** How much of a function's own error message is worth showing the caller. */
const MAX_SHOWN_ERROR_LENGTH = 200;

/** The region in a function ARN; a bare name (or partial ARN) lives in the CA's region. */
const FUNCTION_ARN_REGION = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:function:/;

/**
 * `client` defaults to one built from the environment (credentials and the AWS_ENDPOINT_URL_LAMBDA
 * override of the local stack) for the function's region: its ARN's, else AWS_REGION. It retries
 * as the SDK does (throttling, 5xx, a dropped connection), all within the policy timeout.
 */
export function lambdaPolicy(functionName: string, timeoutMs: number, client?: LambdaInvoker): Policy {
  // Made on first use, so a CA without AWS_REGION fails at the call, as a PolicyError.
  let lambda = client;
  const invoker = () =>
    (lambda ??= lambdaInvoker({
      region: FUNCTION_ARN_REGION.exec(functionName)?.[1] ?? process.env['AWS_REGION'] ?? '',
      requestTimeoutMs: timeoutMs,
      totalTimeoutMs: timeoutMs,
      // Far past the answer's cap a payload is refused unread; between the two, a failed
      // function's error (stack trace and all) still gets its own message.
      maxResponseBytes: 4 * MAX_ANSWER_BYTES,
    }));
  const ask = (req: LkpAuthorizationRequest | LkpAdminAuthorizationRequest) =>
    invokePolicy(invoker, functionName, timeoutMs, req);
  return {
    name: `lambda:${functionName}`,
    authorizeUser: async (req) => parseUserPolicyResponse(await ask(req), req),
    authorizeHost: async (req) => parseHostPolicyResponse(await ask(req), req),
    authorizeAccounts: async (req) => parseAccountsPolicyResponse(await ask(req), req),
    authorizeAdmin: async (req) => parseAdminPolicyResponse(await ask(req), req),
  };
}

/** The function's JSON answer; every failure is a PolicyError, so nothing is signed (DESIGN §3.4, §5). */
async function invokePolicy(
  lambda: () => LambdaInvoker,
  functionName: string,
  timeoutMs: number,
  req: LkpAuthorizationRequest | LkpAdminAuthorizationRequest,
): Promise<unknown> {
  const payload = Buffer.from(JSON.stringify(req), 'utf8');
  // Not AbortSignal.timeout: its timer (and what it holds) would live on for timeoutMs after every
  // answered request; this one is cleared as soon as the call is over.
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')),
    timeoutMs,
  );
  const signal = deadline.signal;
  let output: InvokeResult;
  try {
    // The race is the guarantee: whatever stage the call is in (credentials, retries, the socket),
    // the CA stops waiting at the deadline. The abort signal also tears the request down.
    output = await Promise.race([lambda().invoke(functionName, payload, signal), rejectOnAbort(signal)]);
  } catch (e) {
    if (signal.aborted)
      throw failure(
        `policy function ${functionName} did not answer within ${timeoutMs} ms; make it faster or raise LKP_POLICY_TIMEOUT_MS`,
        e,
      );
    if (e instanceof AnswerTooLarge) throw tooLarge(functionName, e);
    throw failure(describeInvokeError(e, functionName), e);
  } finally {
    clearTimeout(timer);
  }
  if (output.functionError !== undefined) throw functionFailure(functionName, output);
  if (output.statusCode !== 200)
    throw failure(`policy function ${functionName} answered with status ${output.statusCode}, not 200`);
  return parseAnswer(functionName, output.payload);
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** By Lambda's error code (or the error's name); its message stays in the cause, for the CA's logs. */
function describeInvokeError(e: unknown, functionName: string): string {
  const raw = e instanceof AwsServiceError ? e.code : e instanceof Error ? e.name : '';
  const name = /^[A-Za-z0-9.]{1,64}$/.test(raw) ? raw : 'unknown error';
  switch (name) {
    case 'AccessDeniedException':
    case 'AccessDenied':
      return (
        `the CA role may not lambda:InvokeFunction ${functionName}: allow it in the CA role's IAM policy ` +
        "(and in the function's resource policy if it lives in another account)"
      );
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
      return `Lambda refused the CA's AWS credentials (${name}) when invoking policy function ${functionName}; check the CA role and its region`;
    case 'ResourceNotFoundException':
      return `policy function ${functionName} does not exist in the CA's region and account; check AUTHORIZATION_LAMBDA (a name, or an ARN for another region or account)`;
    case 'TooManyRequestsException':
    case 'ThrottlingException':
      return `policy function ${functionName} was throttled by Lambda; raise its reserved concurrency or the account's concurrency limit`;
    case 'ResourceConflictException':
    case 'ResourceNotReadyException':
      return `policy function ${functionName} is not ready (being created, updated or inactive); retry in a moment`;
    default:
      return `invoking policy function ${functionName} failed (${name}); see the CA logs`;
  }
}

/**
 * FunctionError is set for an uncaught exception or a runtime failure ("Unhandled") and for a
 * callback error ("Handled"). The function's own errorType/errorMessage help the admin, so they are
 * shown when short and printable; the stack trace never is.
 */
function functionFailure(functionName: string, output: InvokeResult): LkpError {
  const body = decodeJson(output.payload);
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const shown = [printable(record.errorType), printable(record.errorMessage)].filter(Boolean).join(': ');
  const kind = printable(output.functionError) ?? 'error';
  return failure(
    `policy function ${functionName} failed (${kind})${shown ? `: ${shown}` : ''}; see its CloudWatch logs`,
  );
}

function parseAnswer(functionName: string, payload: Buffer): unknown {
  if (payload.length > MAX_ANSWER_BYTES) throw tooLarge(functionName);
  const answer = decodeJson(payload);
  if (answer === undefined)
    throw failure(`policy function ${functionName} answered with something that is not JSON`);
  return answer;
}

/** Strict UTF-8, then JSON; undefined when either fails or there is no payload. */
function decodeJson(payload: Buffer): unknown {
  if (payload.length === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload)) as unknown;
  } catch {
    return undefined;
  }
}

const printable = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length <= MAX_SHOWN_ERROR_LENGTH && /^[\x20-\x7e]+$/.test(value)
    ? value
    : undefined;

const failure = (message: string, cause?: unknown) => new LkpError('PolicyError', message, { cause });
const tooLarge = (functionName: string, cause?: unknown) =>
  failure(`policy function ${functionName} answered with more than ${MAX_ANSWER_BYTES} bytes`, cause);

/**
 * The AUTHORIZATION_LAMBDA client (DESIGN §3.4): sends the policy request as the Invoke payload,
 * unchanged, and turns every way the call can go wrong into a PolicyError that names the fix.
 * The only module that calls Lambda on the CA's behalf.
 */
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { LkpError } from '../errors.js';
import type { LkpAuthorizationRequest } from '../protocol.js';
import type { Policy } from './policy.js';
import { parseHostPolicyResponse, parseUserPolicyResponse } from './response.js';

/** A policy answer is a few hundred bytes; anything far larger is a broken policy, not parsed. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** How much of a function's own error message is worth showing the caller. */
const MAX_SHOWN_ERROR_LENGTH = 200;

/**
 * `client` defaults to one built from the environment (region, credentials, and the
 * AWS_ENDPOINT_URL_LAMBDA override of the local stack). An injected client should also be built
 * with maxAttempts 1: the timeout bounds the whole call either way, but a retry only eats into it.
 */
export function lambdaPolicy(functionName: string, timeoutMs: number, client?: LambdaClient): Policy {
  const lambda = client ?? new LambdaClient({ maxAttempts: 1 });
  const ask = (req: LkpAuthorizationRequest) => invokePolicy(lambda, functionName, timeoutMs, req);
  return {
    name: `lambda:${functionName}`,
    authorizeUser: async (req) => parseUserPolicyResponse(await ask(req), req),
    authorizeHost: async (req) => parseHostPolicyResponse(await ask(req), req),
  };
}

/** The function's JSON answer; every failure is a PolicyError, so nothing is signed (DESIGN §3.4, §5). */
async function invokePolicy(
  lambda: LambdaClient,
  functionName: string,
  timeoutMs: number,
  req: LkpAuthorizationRequest,
): Promise<unknown> {
  const command = new InvokeCommand({
    FunctionName: functionName,
    InvocationType: 'RequestResponse',
    Payload: Buffer.from(JSON.stringify(req), 'utf8'),
  });
  const signal = AbortSignal.timeout(timeoutMs);
  let output: InvokeCommandOutput;
  try {
    // The race is the guarantee: whatever stage the SDK is in (credentials, retries, the socket),
    // the CA stops waiting at the deadline. The abort signal also tears the request down.
    output = await Promise.race([lambda.send(command, { abortSignal: signal }), rejectOnAbort(signal)]);
  } catch (e) {
    if (signal.aborted)
      throw failure(
        `policy function ${functionName} did not answer within ${timeoutMs} ms; make it faster or raise LKP_POLICY_TIMEOUT_MS`,
        e,
      );
    throw failure(describeInvokeError(e, functionName), e);
  }
  if (output.FunctionError !== undefined) throw functionFailure(functionName, output);
  if (output.StatusCode !== undefined && output.StatusCode !== 200)
    throw failure(`policy function ${functionName} answered with status ${output.StatusCode}, not 200`);
  return parseAnswer(functionName, output.Payload);
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** The SDK error's name is its AWS error code; its message stays in the cause, for the CA's logs. */
function describeInvokeError(e: unknown, functionName: string): string {
  const name = e instanceof Error && /^[A-Za-z0-9.]{1,64}$/.test(e.name) ? e.name : 'unknown error';
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
function functionFailure(functionName: string, output: InvokeCommandOutput): LkpError {
  const body = decodeJson(output.Payload);
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const shown = [printable(record.errorType), printable(record.errorMessage)].filter(Boolean).join(': ');
  const kind = printable(output.FunctionError) ?? 'error';
  return failure(
    `policy function ${functionName} failed (${kind})${shown ? `: ${shown}` : ''}; see its CloudWatch logs`,
  );
}

function parseAnswer(functionName: string, payload: Uint8Array | undefined): unknown {
  if (payload !== undefined && payload.length > MAX_ANSWER_BYTES)
    throw failure(`policy function ${functionName} answered with more than ${MAX_ANSWER_BYTES} bytes`);
  const answer = decodeJson(payload);
  if (answer === undefined)
    throw failure(`policy function ${functionName} answered with something that is not JSON`);
  return answer;
}

/** Strict UTF-8, then JSON; undefined when either fails or there is no payload. */
function decodeJson(payload: Uint8Array | undefined): unknown {
  if (payload === undefined || payload.length === 0) return undefined;
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

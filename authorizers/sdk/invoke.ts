/**
 * Calls a Lambda handler the way the Node.js runtime does: `handler(event, context, callback)`,
 * answered by the returned promise or by the callback, within a deadline. What the runtime would
 * report as a FunctionError rejects with PolicyFunctionError, whose message says what went wrong.
 */
import { randomUUID } from 'node:crypto';

export type LambdaCallback = (error?: unknown, result?: unknown) => void;
export type LambdaHandler = (event: unknown, context: LambdaContext, callback: LambdaCallback) => unknown;

export interface LambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

/** The runtime would report a FunctionError; the CA answers PolicyError and signs nothing. */
export class PolicyFunctionError extends Error {
  override readonly name = 'PolicyFunctionError';
}

const FUNCTION_NAME = 'lkp-policy-test';

export async function invokeHandler(
  handler: LambdaHandler,
  event: unknown,
  timeoutMs: number,
): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  const context: LambdaContext = {
    functionName: FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${FUNCTION_NAME}`,
    memoryLimitInMB: '128',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${FUNCTION_NAME}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  let timer: NodeJS.Timeout | undefined;
  const answer = new Promise<unknown>((resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PolicyFunctionError(
            `the policy did not answer within ${timeoutMs} ms (the CA's LKP_POLICY_TIMEOUT_MS)`,
          ),
        ),
      timeoutMs,
    );
    const callback: LambdaCallback = (error, result) =>
      error === undefined || error === null ? resolve(result) : reject(callbackFailure(error));
    try {
      const returned = handler(event, context, callback);
      // An async handler answers with its promise; a callback-style one returns nothing and calls back.
      if (isThenable(returned)) returned.then(resolve, (e: unknown) => reject(thrownFailure(e)));
    } catch (e) {
      reject(thrownFailure(e));
    }
  });
  try {
    return await answer;
  } finally {
    clearTimeout(timer);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

function thrownFailure(e: unknown): PolicyFunctionError {
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new PolicyFunctionError(`the policy threw ${what}`, { cause: e });
}

/**
 * callback(error, result): whatever is passed first is an error to Lambda. LastKeypair's documented
 * example called `callback({ authorized: true })`, so every "allow" was a FunctionError; say so.
 */
function callbackFailure(error: unknown): PolicyFunctionError {
  const looksLikeAnswer =
    typeof error === 'object' && error !== null && ('Authorized' in error || 'authorized' in error);
  if (looksLikeAnswer)
    return new PolicyFunctionError(
      `the policy passed its answer ${JSON.stringify(error)} as the callback's first (error) argument; ` +
        'Lambda reports that as a FunctionError and the CA signs nothing. Call callback(null, answer), or return the answer from an async handler',
    );
  const what = error instanceof Error ? `${error.name}: ${error.message}` : JSON.stringify(error);
  return new PolicyFunctionError(`the policy called back with an error: ${what}`, { cause: error });
}

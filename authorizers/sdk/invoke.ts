/**
 * Calls a Lambda handler the way the Node.js runtime does: `handler(event, context, callback)`,
 * answered by the returned promise or by the callback, within a deadline. What the runtime would
 * report as a FunctionError rejects with PolicyFunctionError, whose message says what went wrong.
 */
import { callLambdaHandler, lambdaContext, type LambdaHandler } from '../../src/lambda-runtime.js';

export type { LambdaCallback, LambdaContext, LambdaHandler } from '../../src/lambda-runtime.js';

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
  const context = lambdaContext(
    FUNCTION_NAME,
    `arn:aws:lambda:local:000000000000:function:${FUNCTION_NAME}`,
    Date.now() + timeoutMs,
  );
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
    // A callback-style handler returns nothing and calls back; its return value is not an answer.
    void callLambdaHandler(handler, event, context, false).then((outcome) => {
      if (outcome.ok) resolve(outcome.result);
      else reject(outcome.via === 'callback' ? callbackFailure(outcome.error) : thrownFailure(outcome.error));
    });
  });
  try {
    return await answer;
  } finally {
    clearTimeout(timer);
  }
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

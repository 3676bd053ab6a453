/**
 * Calls a Lambda handler the way the nodejs24.x runtime does: `handler(event, context)`, answered by
 * what it returns (or its promise resolves to), within a deadline; a handler declaring a callback
 * parameter is refused with the runtime's reason. What the runtime would report as a FunctionError
 * rejects with PolicyFunctionError, whose message says what went wrong.
 */
import { callLambdaHandler, lambdaContext, type DeclaredHandler } from '../../src/lambda-runtime.js';

export type { LambdaContext, LambdaHandler } from '../../src/lambda-runtime.js';

/** The runtime would report a FunctionError; the CA answers PolicyError and signs nothing. */
export class PolicyFunctionError extends Error {
  override readonly name = 'PolicyFunctionError';
}

const FUNCTION_NAME = 'lkp-policy-test';

/** `handler` may be any function: one the runtime would refuse is refused here too. */
export async function invokeHandler(
  handler: DeclaredHandler,
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
    void callLambdaHandler(handler, event, context).then((outcome) => {
      if (outcome.ok) resolve(outcome.result);
      else reject(outcome.via === 'runtime' ? runtimeRefusal(outcome.error) : thrownFailure(outcome.error));
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

/** The runtime never ran the handler (a callback-style handler on nodejs24.x): its own words. */
function runtimeRefusal(e: unknown): PolicyFunctionError {
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new PolicyFunctionError(`Lambda's nodejs24.x runtime refuses this handler: ${what}`, { cause: e });
}

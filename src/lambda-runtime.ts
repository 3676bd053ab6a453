/**
 * How Lambda's Node.js runtime (nodejs24.x, the runtime lkp deploys) calls a handler, shared by the
 * policy SDK's `invokeHandler` (and so `lkp policy test`) and the local Lambda stand-in, so a policy
 * that passes locally runs the same once deployed.
 */
import { randomUUID } from 'node:crypto';

/** The part of Lambda's Node.js context object a handler might use. */
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

/** `handler(event, context)`: its return value (or what its promise resolves to) is the answer. */
export type LambdaHandler = (event: unknown, context: LambdaContext) => unknown;

/** Whatever a module may export as `handler`, including the callback style the runtime refuses. */
export type DeclaredHandler = (event: unknown, context: LambdaContext, ...rest: never[]) => unknown;

/**
 * How an invocation settled: an answer, a failure the handler threw (or rejected with), or the
 * runtime refusing the handler before calling it.
 */
export type HandlerOutcome =
  { ok: true; result: unknown } | { ok: false; error: unknown; via: 'throw' | 'runtime' };

/** An error of the runtime itself; `name` is the errorType Lambda reports (e.g. Runtime.HandlerNotFound). */
export class LambdaRuntimeError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The nodejs24.x runtime's refusal of a handler that declares a third (callback) parameter, word for
 * word: it fails every invocation with this before running any of the function's code.
 */
export const CALLBACK_HANDLER_REFUSED = new LambdaRuntimeError(
  'Runtime.CallbackHandlerDeprecated',
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. ' +
    'You need to modify this function to use a supported handler signature to use Node.js 24 or later. ' +
    'For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.',
);

/** A context for one invocation of `$LATEST`, counting down to `deadline` (epoch ms). */
export function lambdaContext(functionName: string, functionArn: string, deadline: number): LambdaContext {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: '128',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/**
 * As the runtime does: a handler declaring three or more parameters (`function.length`, whether
 * async or not) is refused; any other is called with (event, context) and its awaited return
 * value is the answer.
 */
export async function callLambdaHandler(
  handler: DeclaredHandler,
  event: unknown,
  context: LambdaContext,
): Promise<HandlerOutcome> {
  if (handler.length >= 3) return { ok: false, error: CALLBACK_HANDLER_REFUSED, via: 'runtime' };
  try {
    return { ok: true, result: await (handler as LambdaHandler)(event, context) };
  } catch (error) {
    return { ok: false, error, via: 'throw' };
  }
}

/**
 * How Lambda's Node.js runtime calls a handler, shared by the policy SDK's `invokeHandler` and the
 * local Lambda stand-in so both settle an invocation the same way.
 */
import { randomUUID } from 'node:crypto';

export type LambdaCallback = (error?: unknown, result?: unknown) => void;

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

/** An async handler, or the older style that answers through `callback(error, result)`. */
export type LambdaHandler = (event: unknown, context: LambdaContext, callback: LambdaCallback) => unknown;

/** How an invocation settled: an answer, or a failure thrown (or rejected) or passed to the callback. */
export type HandlerOutcome =
  { ok: true; result: unknown } | { ok: false; error: unknown; via: 'throw' | 'callback' };

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
 * A returned promise settles the invocation; otherwise the callback does. A non-null first callback
 * argument is an error even when it looks like an answer (`callback({authorized: true})` is a
 * classic policy bug, and real Lambda fails the invocation for it). With `returnValueAnswers`, a
 * handler that declares no callback answers with what it returns.
 */
export function callLambdaHandler(
  handler: LambdaHandler,
  event: unknown,
  context: LambdaContext,
  returnValueAnswers: boolean,
): Promise<HandlerOutcome> {
  return new Promise((resolve) => {
    const callback: LambdaCallback = (error, result) =>
      resolve(
        error === undefined || error === null ? { ok: true, result } : { ok: false, error, via: 'callback' },
      );
    try {
      const returned = handler(event, context, callback);
      if (isThenable(returned))
        returned.then(
          (result) => resolve({ ok: true, result }),
          (error: unknown) => resolve({ ok: false, error, via: 'throw' }),
        );
      else if (returnValueAnswers && handler.length < 3) resolve({ ok: true, result: returned });
    } catch (error) {
      resolve({ ok: false, error, via: 'throw' });
    }
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

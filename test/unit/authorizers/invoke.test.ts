import { describe, expect, it } from 'vitest';
import { invokeHandler, PolicyFunctionError, type LambdaHandler } from '../../../authorizers/sdk/invoke.js';

const event = { Kind: 'test' };

describe('invokeHandler', () => {
  it('takes the answer of an async handler, passing the event and a Lambda-like context', async () => {
    const handler: LambdaHandler = async (e, context) => ({
      e,
      name: context.functionName,
      left: context.getRemainingTimeInMillis(),
    });
    const answer = (await invokeHandler(handler, event, 1000)) as { e: unknown; name: string; left: number };
    expect(answer.e).toBe(event);
    expect(answer.name).toBe('lkp-policy-test');
    expect(answer.left).toBeGreaterThan(0);
  });

  it('takes what a plain (non-async) two-parameter handler returns, as nodejs24.x does', async () => {
    const handler: LambdaHandler = () => ({ Authorized: true });
    await expect(invokeHandler(handler, event, 1000)).resolves.toEqual({ Authorized: true });
  });

  it.each([
    [
      'a callback handler',
      (_e: unknown, _c: unknown, callback: (e: unknown, r: unknown) => void) => callback(null, {}),
    ],
    ['an async handler declaring a callback', async (_e: unknown, _c: unknown, _callback: unknown) => ({})],
    [
      "LastKeypair's callback({ authorized: true })",
      (_e: unknown, _c: unknown, cb: (e: unknown) => void) => cb({ authorized: true }),
    ],
  ])("refuses %s with the nodejs24.x runtime's reason, without running it", async (_name, handler) => {
    const run = invokeHandler(handler, event, 1000);
    await expect(run).rejects.toThrow(PolicyFunctionError);
    await expect(run).rejects.toThrow(
      "Lambda's nodejs24.x runtime refuses this handler: Runtime.CallbackHandlerDeprecated: ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24.",
    );
  });

  it('reports throws and rejections', async () => {
    const thrower: LambdaHandler = () => {
      throw new TypeError('x is undefined');
    };
    await expect(invokeHandler(thrower, event, 1000)).rejects.toThrow(
      'the policy threw TypeError: x is undefined',
    );
    await expect(invokeHandler(async () => Promise.reject(new Error('late')), event, 1000)).rejects.toThrow(
      'the policy threw Error: late',
    );
  });

  it('gives up at the deadline, like the CA', async () => {
    await expect(invokeHandler(() => new Promise(() => {}), event, 50)).rejects.toThrow(
      /did not answer within 50 ms/,
    );
  });
});

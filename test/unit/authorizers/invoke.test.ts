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

  it('takes the result of a callback-style handler', async () => {
    const handler: LambdaHandler = (_e, _c, callback) =>
      setTimeout(() => callback(null, { Authorized: true }), 5);
    await expect(invokeHandler(handler, event, 1000)).resolves.toEqual({ Authorized: true });
  });

  it("explains LastKeypair's callback({ authorized: true }) as the FunctionError it is", async () => {
    const handler: LambdaHandler = (_e, _c, callback) => callback({ authorized: true });
    const run = invokeHandler(handler, event, 1000);
    await expect(run).rejects.toThrow(PolicyFunctionError);
    await expect(run).rejects.toThrow(
      /passed its answer \{"authorized":true\} as the callback's first \(error\) argument/,
    );
  });

  it('reports other callback errors, throws and rejections', async () => {
    await expect(invokeHandler((_e, _c, cb) => cb(new Error('nope')), event, 1000)).rejects.toThrow(
      'the policy called back with an error: Error: nope',
    );
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

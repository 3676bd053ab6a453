import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import aws4 from 'aws4';
import { sendRaw } from '../helpers/raw-http.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startLambdaStandin,
  type LambdaStandin,
  type StandinContext,
} from '../../src/local/lambda-standin.js';

const REGION = 'eu-west-1';

interface WireResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let dir: string;
let lambda: LambdaStandin;
let seenContext: StandinContext | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-lambda-standin-'));
  const asyncModule = join(dir, 'async.mjs');
  writeFileSync(
    asyncModule,
    'export async function handler(event) { return { Authorized: true, echo: event }; }\n',
  );
  const noHandler = join(dir, 'no-handler.mjs');
  writeFileSync(noHandler, 'export const handle = () => ({ Authorized: true });\n');
  lambda = await startLambdaStandin({
    region: REGION,
    functions: {
      echo: (event) => ({ received: event }),
      nothing: () => undefined,
      throws: () => {
        throw new RangeError('out of range');
      },
      rejects: async () => Promise.reject(new Error('async failure')),
      callbackStyle: (
        _event: unknown,
        _context: StandinContext,
        callback: (e: unknown, r: unknown) => void,
      ) => {
        callback(null, { Authorized: true });
      },
      asyncWithCallback: async (_event: unknown, _context: StandinContext, _callback: unknown) => ({
        Authorized: true,
      }),
      context: (_event: unknown, context: StandinContext) => {
        seenContext = context;
        return { remaining: context.getRemainingTimeInMillis() > 0 };
      },
      asyncModule,
      noHandler,
      missingModule: join(dir, 'does-not-exist.mjs'),
    },
  });
});

afterAll(async () => {
  await lambda.close();
  rmSync(dir, { recursive: true, force: true });
});

interface InvokeOptions {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  service?: string;
  region?: string;
  /** Changes the body after signing. */
  tamper?: (body: string) => string;
  unsigned?: boolean;
}

const invokePath = (name: string) => `/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;

/** One raw HTTP request to the stand-in, SigV4-signed with aws4 unless told otherwise. */
function invoke(name: string, opts: InvokeOptions = {}): Promise<WireResponse> {
  const { port, hostname } = new URL(lambda.url);
  const body = opts.body ?? '{"hello":"world"}';
  const signed = aws4.sign(
    {
      host: `${hostname}:${port}`,
      method: opts.method ?? 'POST',
      path: opts.path ?? invokePath(name),
      body,
      service: opts.service ?? 'lambda',
      region: opts.region ?? REGION,
      headers: { 'Content-Type': 'application/json', ...opts.headers },
    },
    opts.credentials ?? lambda.credentials,
  );
  const headers = { ...(signed.headers as Record<string, string>) };
  if (opts.unsigned) delete headers.Authorization;
  const sent = opts.tamper ? opts.tamper(body) : body;
  headers['Content-Length'] = String(Buffer.byteLength(sent));
  return sendRaw(lambda.url, { method: signed.method, path: signed.path, headers }, sent);
}

describe('Lambda stand-in: successful invocations', () => {
  it('answers 200 with the JSON result and Lambda headers, and records the event', async () => {
    const before = lambda.invocations('echo').length;
    const res = await invoke('echo', { body: '{"Kind":"LkpUserCertAuthorizationRequest","n":[1,2]}' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['x-amz-executed-version']).toBe('$LATEST');
    expect(res.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-amz-function-error']).toBeUndefined();
    expect(JSON.parse(res.body)).toEqual({
      received: { Kind: 'LkpUserCertAuthorizationRequest', n: [1, 2] },
    });
    expect(lambda.invocations('echo').slice(before)).toEqual([
      { Kind: 'LkpUserCertAuthorizationRequest', n: [1, 2] },
    ]);
  });

  it('answers null for a handler that returns nothing', async () => {
    const res = await invoke('nothing');
    expect(res.status).toBe(200);
    expect(res.body).toBe('null');
  });

  it('accepts the function ARN (URL-encoded) and Qualifier=$LATEST', async () => {
    expect((await invoke(lambda.functionArn('echo'))).status).toBe(200);
    expect((await invoke('echo', { path: `${invokePath('echo')}?Qualifier=%24LATEST` })).status).toBe(200);
  });

  it('gives the handler a Lambda-like context', async () => {
    const res = await invoke('context');
    expect(JSON.parse(res.body)).toEqual({ remaining: true });
    expect(seenContext).toMatchObject({
      functionName: 'context',
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${REGION}:000000000000:function:context`,
    });
  });

  it('runs an async handler exported by a module', async () => {
    const res = await invoke('asyncModule', { body: '{"a":1}' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ Authorized: true, echo: { a: 1 } });
  });

  it('answers 204 to DryRun without running the handler, 202 to Event and runs it', async () => {
    const before = lambda.invocations('echo').length;
    const dry = await invoke('echo', { headers: { 'X-Amz-Invocation-Type': 'DryRun' } });
    expect(dry.status).toBe(204);
    expect(lambda.invocations('echo')).toHaveLength(before);
    const event = await invoke('echo', { headers: { 'X-Amz-Invocation-Type': 'Event' } });
    expect(event.status).toBe(202);
    expect(event.body).toBe('');
    expect(lambda.invocations('echo')).toHaveLength(before + 1);
  });
});

describe('Lambda stand-in: function errors', () => {
  it.each([
    ['throws', 'RangeError', 'out of range'],
    ['rejects', 'Error', 'async failure'],
    // nodejs24.x refuses any handler declaring a callback, async or not, before running it.
    [
      'callbackStyle',
      'Runtime.CallbackHandlerDeprecated',
      'removed support for callback-based function handlers',
    ],
    ['asyncWithCallback', 'Runtime.CallbackHandlerDeprecated', 'starting with Node.js 24'],
    ['noHandler', 'Runtime.HandlerNotFound', 'no-handler.mjs.handler is undefined or not exported'],
    ['missingModule', 'Runtime.ImportModuleError', 'cannot load'],
  ])('%s → 200 with X-Amz-Function-Error: Unhandled and %s', async (name, errorType, message) => {
    const res = await invoke(name);
    expect(res.status).toBe(200);
    expect(res.headers['x-amz-function-error']).toBe('Unhandled');
    const body = JSON.parse(res.body) as { errorType: string; errorMessage: string; trace: unknown };
    expect(body.errorType).toBe(errorType);
    expect(body.errorMessage).toContain(message);
    expect(Array.isArray(body.trace)).toBe(true);
  });
});

describe('Lambda stand-in: request errors', () => {
  it('answers 404 ResourceNotFoundException for an unknown function', async () => {
    const res = await invoke('nope');
    expect(res.status).toBe(404);
    expect(res.headers['x-amzn-errortype']).toBe('ResourceNotFoundException');
    expect(JSON.parse(res.body)).toEqual({
      Type: 'User',
      message: `Function not found: arn:aws:lambda:${REGION}:000000000000:function:nope`,
    });
  });

  it('does not find a function by an ARN of another region, or by a published version', async () => {
    const otherRegion = lambda.functionArn('echo').replace(REGION, 'us-east-1');
    expect((await invoke(otherRegion)).status).toBe(404);
    expect((await invoke('echo', { path: `${invokePath('echo')}?Qualifier=1` })).status).toBe(404);
  });

  it('answers 404 UnknownOperationException to other paths and methods', async () => {
    const other = await invoke('echo', { path: '/2015-03-31/functions/echo' });
    expect(other.status).toBe(404);
    expect(other.headers['x-amzn-errortype']).toBe('UnknownOperationException');
    expect((await invoke('echo', { method: 'PUT' })).status).toBe(404);
  });

  it('answers 400 InvalidRequestContentException to a body that is not JSON', async () => {
    const res = await invoke('echo', { body: '{not json' });
    expect(res.status).toBe(400);
    expect(res.headers['x-amzn-errortype']).toBe('InvalidRequestContentException');
  });

  it('answers 400 to an unknown invocation type', async () => {
    const res = await invoke('echo', { headers: { 'X-Amz-Invocation-Type': 'Later' } });
    expect(res.status).toBe(400);
    expect(res.headers['x-amzn-errortype']).toBe('InvalidParameterValueException');
  });
});

describe('Lambda stand-in: SigV4', () => {
  // Options are built at call time: some need the stand-in's own credentials.
  const refusals: Array<[string, () => InvokeOptions, number, string]> = [
    ['an unsigned request', () => ({ unsigned: true }), 403, 'MissingAuthenticationTokenException'],
    [
      'an unknown access key',
      () => ({ credentials: { accessKeyId: 'AKIA0000000000000000', secretAccessKey: 'x' } }),
      403,
      'UnrecognizedClientException',
    ],
    [
      'a wrong secret',
      () => ({ credentials: { accessKeyId: lambda.credentials.accessKeyId, secretAccessKey: 'wrong' } }),
      403,
      'InvalidSignatureException',
    ],
    ['a signature for another service', () => ({ service: 'sts' }), 403, 'InvalidSignatureException'],
    ['a signature for another region', () => ({ region: 'us-east-1' }), 403, 'InvalidSignatureException'],
    [
      'a body changed after signing',
      () => ({ tamper: () => '{"hello":"mallory"}' }),
      403,
      'InvalidSignatureException',
    ],
  ];

  it.each(refusals)('refuses %s without running the handler', async (_, opts, status, errorType) => {
    const before = lambda.invocations('echo').length;
    const res = await invoke('echo', opts());
    expect(res.status).toBe(status);
    expect(res.headers['x-amzn-errortype']).toBe(errorType);
    expect(lambda.invocations('echo')).toHaveLength(before);
  });

  it('does not reveal whether a function exists to an unsigned caller', async () => {
    const res = await invoke('nope', { unsigned: true });
    expect(res.status).toBe(403);
  });
});

describe('startLambdaStandin', () => {
  it('refuses a relative module path', async () => {
    await expect(startLambdaStandin({ region: REGION, functions: { p: 'policy.js' } })).rejects.toThrow(
      /module path must be absolute/,
    );
  });

  it('generates fresh credentials per stand-in', async () => {
    const other = await startLambdaStandin({ region: REGION, functions: {} });
    await other.close();
    expect(other.credentials.accessKeyId).not.toBe(lambda.credentials.accessKeyId);
    expect(other.credentials.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
  });
});

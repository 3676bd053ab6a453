/**
 * The Lambda adapters (src/handler.ts) with the real pipeline behind them: a file CA key, the STS
 * stand-in on loopback, and the handler module imported fresh for every environment.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { parsePublicKey } from '../../src/cert/index.js';
import type { FunctionUrlResult, LambdaContext } from '../../src/handler.js';
import { generateKeyPair } from '../../src/local/openssh.js';
import { startStsStandin, type StsStandin } from '../../src/local/sts-standin.js';
import type { CaResponse } from '../../src/protocol.js';
import { INSTANCE_ARN } from '../helpers/identities.js';
import { functionUrlEvent, type UrlEventOptions } from '../helpers/lambda-events.js';

const ACCOUNT = '111122223333';
const ALICE_ARN = `arn:aws:iam::${ACCOUNT}:user/alice`;
const SERVER_ID = 'lkp-test';
const SOURCE_IP = '203.0.113.7';
const CONTEXT: LambdaContext = {
  awsRequestId: 'req-1234',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:lkp-test-ca`,
};

let dir: string;
let caKeyPath: string;
let userKey: string;
let sts: StsStandin;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-handler-test-'));
  caKeyPath = (await generateKeyPair(dir, 'ca')).privatePath;
  userKey = (await generateKeyPair(dir, 'user')).publicKey;
  sts = await startStsStandin({ region: 'us-east-1', principals: [{ arn: ALICE_ARN }] });
});
afterAll(async () => {
  await sts?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

type Env = Record<string, string | undefined>;

function validEnv(): Env {
  return {
    LKP_CA_KEY: `file:${caKeyPath}`,
    LKP_SERVER_ID: SERVER_ID,
    LKP_CA_ACCOUNT: ACCOUNT,
    LKP_ALLOWED_ACCOUNTS: undefined,
    AUTHORIZATION_LAMBDA: undefined,
    LKP_ALLOW: `arn:aws:iam::${ACCOUNT}:user/*=*`,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_STS: sts.url,
    LKP_VERIFY_TARGETS: 'off',
  };
}

/** The function that serves the Function URL (serverless.yml sets LKP_FUNCTION_URL on it only). */
const urlEnv = (): Env => ({ ...validEnv(), LKP_FUNCTION_URL: 'true' });

/** Imports src/handler.ts afresh (a new cold start) under `env`, capturing stdout and stderr. */
async function coldStart(env: Env) {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const stdout: string[] = [];
  const stderr: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr.push(String(chunk));
    return true;
  });
  vi.resetModules();
  const { handler } = await import('../../src/handler.js');
  const audit = () =>
    stdout
      .join('')
      .split('\n')
      .filter((l) => l.includes('"lkp decision"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { handler, stdout, stderr, audit };
}

function userRequest(): Record<string, unknown> {
  return {
    Kind: 'User',
    Identity: buildIdentityProof({
      stsEndpoint: sts.url,
      region: 'us-east-1',
      serverId: SERVER_ID,
      keyFingerprint: parsePublicKey(userKey).fingerprint,
      credentials: sts.principals[0]!.credentials,
    }),
    PublicKey: userKey,
    RemoteInstanceArn: INSTANCE_ARN,
    SshUsername: 'ec2-user',
  };
}

const urlEvent = (body: string | undefined, over: UrlEventOptions = {}) =>
  functionUrlEvent(body, { sourceIp: SOURCE_IP, ...over });

function asUrlResult(
  result: CaResponse | FunctionUrlResult,
): FunctionUrlResult & { json: Record<string, unknown> } {
  const url = result as FunctionUrlResult;
  expect(url.headers['content-type']).toBe('application/json');
  return { ...url, json: JSON.parse(url.body) as Record<string, unknown> };
}

/** A direct Invoke answer: the CA response object itself. */
const asObject = (result: unknown) => result as Record<string, unknown>;

describe('direct Invoke', () => {
  it('answers Info with the CA public key, unwrapped', async () => {
    const { handler, audit } = await coldStart(validEnv());
    const result = asObject(await handler({ Kind: 'Info' }, CONTEXT));
    expect(result).not.toHaveProperty('statusCode');
    expect(result.ServerId).toBe(SERVER_ID);
    expect(result.CaPublicKeys).toEqual([expect.stringMatching(/^ssh-ed25519 AAAA/)]);
    expect(audit()).toEqual([
      expect.objectContaining({
        decision: 'allow',
        kind: 'Info',
        transport: 'invoke',
        requestId: 'req-1234',
      }),
    ]);
  });

  it('signs a user certificate for a proved caller, with no source address', async () => {
    const { handler, audit } = await coldStart(validEnv());
    const result = asObject(await handler(userRequest(), CONTEXT));
    expect(result.Certificate).toMatch(/^ssh-ed25519-cert-v01@openssh\.com AAAA/);
    expect(result.Principals).toEqual([`ec2-user@${INSTANCE_ARN}`]);
    const [line] = audit();
    expect(line).toMatchObject({ decision: 'allow', kind: 'User', caller: ALICE_ARN, transport: 'invoke' });
    expect(line).not.toHaveProperty('sourceIp');
  });

  it('answers a malformed payload with the BadRequest error object', async () => {
    const { handler } = await coldStart(validEnv());
    const result = await handler({ Kind: 'Nope' }, CONTEXT);
    expect(result).toEqual({ Error: { Code: 'BadRequest', Message: expect.stringContaining('Kind') } });
  });

  it('takes the default allowed account from the function ARN when LKP_CA_ACCOUNT is unset', async () => {
    const { handler, stderr } = await coldStart({ ...validEnv(), LKP_CA_ACCOUNT: undefined });
    expect(stderr.join('')).toContain('LKP_CA_ACCOUNT is not set');
    const result = asObject(await handler(userRequest(), CONTEXT));
    expect(result.Certificate).toMatch(/-cert-v01@openssh\.com /);
    const other = { ...CONTEXT, invokedFunctionArn: 'arn:aws:lambda:us-east-1:444455556666:function:x' };
    // Bootstrapped once per cold start: a later context does not change the account.
    expect(await handler(userRequest(), other)).toHaveProperty('Certificate');
  });
});

describe('Function URL', () => {
  it('signs a user certificate and audits the source address Lambda observed', async () => {
    const { handler, audit } = await coldStart(urlEnv());
    const result = asUrlResult(await handler(urlEvent(JSON.stringify(userRequest())), CONTEXT));
    expect(result.statusCode).toBe(200);
    expect(result.json.Certificate).toMatch(/^ssh-ed25519-cert-v01@openssh\.com /);
    expect(audit()).toEqual([
      expect.objectContaining({
        decision: 'allow',
        transport: 'function-url',
        sourceIp: SOURCE_IP,
        requestId: 'req-1234',
      }),
    ]);
  });

  it('ignores X-Forwarded-For and similar headers', async () => {
    const { handler, stdout, audit } = await coldStart(urlEnv());
    const event = urlEvent(JSON.stringify({ Kind: 'Info' }), {
      headers: { 'x-forwarded-for': '10.9.9.9', forwarded: 'for=10.9.9.9', 'x-real-ip': '10.9.9.9' },
    });
    expect(asUrlResult(await handler(event, CONTEXT)).statusCode).toBe(200);
    expect(audit()[0]?.sourceIp).toBe(SOURCE_IP);
    expect(stdout.join('')).not.toContain('10.9.9.9');
  });

  it('decodes a base64 body', async () => {
    const { handler } = await coldStart(urlEnv());
    const body = Buffer.from(JSON.stringify({ Kind: 'Info' })).toString('base64');
    const result = asUrlResult(await handler(urlEvent(body, { base64: true }), CONTEXT));
    expect(result.statusCode).toBe(200);
    expect(result.json.ServerId).toBe(SERVER_ID);
  });

  it('refuses GET with 405 and the lkp error JSON', async () => {
    const { handler } = await coldStart(urlEnv());
    const result = asUrlResult(await handler(urlEvent(undefined, { method: 'GET' }), CONTEXT));
    expect(result.statusCode).toBe(405);
    expect(result.headers.allow).toBe('POST');
    expect(result.json).toEqual({
      Error: { Code: 'BadRequest', Message: expect.stringContaining('POST /') },
    });
  });

  it('refuses a path other than / with 400', async () => {
    const { handler } = await coldStart(urlEnv());
    const result = asUrlResult(await handler(urlEvent('{"Kind":"Info"}', { path: '/admin' }), CONTEXT));
    expect(result.statusCode).toBe(400);
    expect(result.json).toMatchObject({ Error: { Code: 'BadRequest' } });
  });

  it('answers an oversize body with 413', async () => {
    const { handler, audit } = await coldStart(urlEnv());
    const body = JSON.stringify({ Kind: 'Info', Padding: 'x'.repeat(70 * 1024) });
    const result = asUrlResult(await handler(urlEvent(body), CONTEXT));
    expect(result.statusCode).toBe(413);
    expect(result.json).toMatchObject({
      Error: { Code: 'BadRequest', Message: expect.stringContaining('limit') },
    });
    expect(audit()[0]).toMatchObject({ decision: 'deny', code: 'BadRequest' });
  });

  it('maps CA errors to their HTTP status (invalid JSON → 400, unproved caller → 401)', async () => {
    const { handler } = await coldStart(urlEnv());
    expect(asUrlResult(await handler(urlEvent('{not json'), CONTEXT)).statusCode).toBe(400);
    const forged = userRequest();
    (forged.Identity as { Headers: Record<string, string> }).Headers['X-Lkp-Server-Id'] = 'someone-else';
    const result = asUrlResult(await handler(urlEvent(JSON.stringify(forged)), CONTEXT));
    expect(result.statusCode).toBe(401);
    expect(result.json).toMatchObject({ Error: { Code: 'Unauthenticated' } });
  });
});

describe('a direct Invoke shaped like a Function URL event (issue 15, item 5)', () => {
  it('is a BadRequest on the Invoke function: no source address, no certificate', async () => {
    const { handler, audit } = await coldStart(validEnv());
    const forged = urlEvent(JSON.stringify(userRequest()), { sourceIp: '198.51.100.99' });
    const result = asObject(await handler(forged, CONTEXT));
    expect(result).toEqual({ Error: { Code: 'BadRequest', Message: expect.any(String) } });
    expect(result).not.toHaveProperty('Certificate');
    const [line] = audit();
    expect(line).toMatchObject({ decision: 'deny', code: 'BadRequest', transport: 'invoke' });
    expect(JSON.stringify(audit())).not.toContain('198.51.100.99');
  });

  it('treats a wrong LKP_FUNCTION_URL value as the Invoke function, and says so', async () => {
    const { handler, stderr, audit } = await coldStart({ ...validEnv(), LKP_FUNCTION_URL: 'yes' });
    expect(stderr.join('')).toContain('LKP_FUNCTION_URL must be');
    await handler(urlEvent(JSON.stringify(userRequest()), { sourceIp: '198.51.100.99' }), CONTEXT);
    expect(JSON.stringify(audit())).not.toContain('198.51.100.99');
  });

  it('the URL function refuses a plain CA request, which only direct Invoke sends', async () => {
    const { handler, audit } = await coldStart(urlEnv());
    const result = asUrlResult(await handler(userRequest(), CONTEXT));
    expect(result.statusCode).toBe(400);
    expect(result.json).toMatchObject({ Error: { Code: 'BadRequest' } });
    expect(audit()).toEqual([]);
  });
});

describe('a CA that cannot start', () => {
  const badEnv = (): Env => ({ ...validEnv(), LKP_CA_KEY: undefined, LKP_USER_CERT_TTL: '5' });

  it('logs the configuration problem at cold start and answers every Invoke with Internal', async () => {
    const { handler, stderr, audit } = await coldStart(badEnv());
    const first = await handler({ Kind: 'Info' }, CONTEXT);
    const second = await handler(userRequest(), CONTEXT);
    for (const result of [first, second])
      expect(result).toEqual({
        Error: { Code: 'Internal', Message: expect.stringContaining('not configured') },
      });
    const logged = stderr.join('');
    expect(logged).toContain('LKP_CA_KEY is required');
    expect(logged).toContain('LKP_USER_CERT_TTL must be a whole number');
    expect(audit()).toEqual([
      expect.objectContaining({ decision: 'deny', code: 'Internal', transport: 'invoke' }),
      expect.objectContaining({ decision: 'deny', code: 'Internal', transport: 'invoke' }),
    ]);
  });

  it('tries again on the next invocation when the failure was not the configuration', async () => {
    const later = join(dir, 'ca-appears-later');
    const { handler, stderr } = await coldStart({ ...validEnv(), LKP_CA_KEY: `file:${later}` });
    expect(await handler({ Kind: 'Info' }, CONTEXT)).toMatchObject({ Error: { Code: 'Internal' } });
    expect(stderr.join('')).toContain(later);
    copyFileSync(caKeyPath, later);
    expect(asObject(await handler({ Kind: 'Info' }, CONTEXT)).ServerId).toBe(SERVER_ID);
  });

  it('answers a Function URL request with 500', async () => {
    const { handler } = await coldStart({ ...badEnv(), LKP_FUNCTION_URL: 'true' });
    const result = asUrlResult(await handler(urlEvent('{"Kind":"Info"}'), CONTEXT));
    expect(result.statusCode).toBe(500);
    expect(result.json).toMatchObject({ Error: { Code: 'Internal' } });
  });

  it('never echoes a secret from the request in its answer or logs', async () => {
    const { handler, stdout, stderr } = await coldStart(badEnv());
    const req = userRequest();
    const authorization = (req.Identity as { Headers: Record<string, string> }).Headers.Authorization!;
    await handler(req, CONTEXT);
    expect(stdout.join('') + stderr.join('')).not.toContain(authorization.slice(-20));
  });
});

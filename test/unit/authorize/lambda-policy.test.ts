import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaInvoker, type LambdaInvoker } from '../../../src/aws/lambda-invoke.js';
import { lambdaPolicy } from '../../../src/authorize/lambda-policy.js';
import { LkpError } from '../../../src/errors.js';
import { startLambdaStandin, type LambdaStandin } from '../../../src/local/lambda-standin.js';
import type {
  LkpHostCertAuthorizationRequest,
  LkpUserCertAuthorizationRequest,
} from '../../../src/protocol.js';
import { ALICE, INSTANCE_ARN, INSTANCE_SESSION } from '../../helpers/identities.js';
import { rejectionOf } from '../../helpers/rejection.js';

const REGION = 'eu-west-1';
const TIMEOUT_MS = 5000;

const userRequest: LkpUserCertAuthorizationRequest = {
  Kind: 'LkpUserCertAuthorizationRequest',
  From: ALICE,
  RemoteInstanceArn: INSTANCE_ARN,
  SshUsername: 'ec2-user',
  Vouchers: [{ ...INSTANCE_SESSION, Vouchee: ALICE.Arn, Context: 'incident 42' }],
  SourceIp: '198.51.100.7',
  PublicKeyFingerprint: 'SHA256:Ttj4eHhN3Y1Jp5F8Y0Z5xk1o8pY8m7wZ2XvK3XH1bq0',
};

const hostRequest: LkpHostCertAuthorizationRequest = {
  Kind: 'LkpHostCertAuthorizationRequest',
  From: INSTANCE_SESSION,
  HostInstanceArn: INSTANCE_ARN,
  Principals: ['ip-10-0-0-5.ec2.internal', '10.0.0.5'],
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let dir: string;
let lambda: LambdaStandin;
let client: LambdaInvoker;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-lambda-policy-'));
  // Correct for the older runtimes, refused by nodejs24.x.
  const callbackStyle = join(dir, 'callback-style.mjs');
  writeFileSync(
    callbackStyle,
    'export const handler = (event, context, callback) => { callback(null, { Authorized: true, Principals: ["ops"] }); };\n',
  );
  lambda = await startLambdaStandin({
    region: REGION,
    functions: {
      allow: () => ({ Authorized: true, Principals: ['ops'], CertificateOptions: { ValidForSeconds: 600 } }),
      deny: async () => ({ Authorized: false }),
      hostAllow: () => ({ Authorized: true, Principals: ['bastion.example.com'], KeyId: 'spoofed' }),
      throws: () => {
        throw new TypeError('cannot read the access table');
      },
      throwsLong: () => {
        throw new Error(`secret-ish detail ${'x'.repeat(300)}`);
      },
      callbackStyle,
      slow: async () => {
        await sleep(2000);
        return { Authorized: true };
      },
      notJson: () => Buffer.from('<html>Authorized</html>'),
      emptyPrincipals: () => ({ Authorized: true, Principals: [] }),
      huge: () => ({ Authorized: true, Principals: ['ops'], Padding: 'x'.repeat(300 * 1024) }),
    },
  });
  client = lambdaInvoker({
    region: REGION,
    endpoint: lambda.url,
    credentials: lambda.credentials,
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  await lambda.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

const policy = (name: string, timeoutMs = TIMEOUT_MS) => lambdaPolicy(name, timeoutMs, client);

/** The LkpError the promise rejects with. */
const rejection = (promise: Promise<unknown>): Promise<LkpError> => rejectionOf(promise, LkpError);

describe('lambdaPolicy against the Lambda stand-in', () => {
  it('is named after its function', () => {
    expect(policy('allow').name).toBe('lambda:allow');
  });

  it('turns an allow into a grant, and the function sees exactly the request that was sent', async () => {
    const before = lambda.invocations('allow').length;
    const grant = await policy('allow').authorizeUser(userRequest);
    expect(grant).toEqual({
      principals: ['ops'],
      criticalOptions: {},
      extensions: ['permit-port-forwarding', 'permit-pty'],
      validForSeconds: 600,
    });
    const received = lambda.invocations('allow').slice(before);
    expect(received).toHaveLength(1);
    expect(received[0]).toEqual(userRequest);
    expect(JSON.stringify(received[0])).toBe(JSON.stringify(userRequest));
  });

  it('sends host requests unchanged and validates host answers (KeyId ignored)', async () => {
    const before = lambda.invocations('hostAllow').length;
    const grant = await policy('hostAllow').authorizeHost(hostRequest);
    expect(grant.principals).toEqual([INSTANCE_ARN, 'bastion.example.com']);
    expect(JSON.stringify(lambda.invocations('hostAllow').slice(before))).toBe(JSON.stringify([hostRequest]));
  });

  it('accepts a function given by ARN', async () => {
    await expect(
      lambdaPolicy(lambda.functionArn('allow'), TIMEOUT_MS, client).authorizeUser(userRequest),
    ).resolves.toMatchObject({
      principals: ['ops'],
    });
  });

  it('is Forbidden when the function denies', async () => {
    const e = await rejection(policy('deny').authorizeUser(userRequest));
    expect(e.code).toBe('Forbidden');
    expect(e.message).toBe(`policy denied access to ${INSTANCE_ARN} for ec2-user`);
    expect((await rejection(policy('deny').authorizeHost(hostRequest))).code).toBe('Forbidden');
  });

  it('is a PolicyError when the handler throws, showing its short error but no stack', async () => {
    const e = await rejection(policy('throws').authorizeUser(userRequest));
    expect(e.code).toBe('PolicyError');
    expect(e.message).toBe(
      'policy function throws failed (Unhandled): TypeError: cannot read the access table; see its CloudWatch logs',
    );
    expect(e.message).not.toMatch(/\bat /);
  });

  it('leaves out an error message that is too long to be a summary', async () => {
    const e = await rejection(policy('throwsLong').authorizeUser(userRequest));
    expect(e.code).toBe('PolicyError');
    expect(e.message).toBe('policy function throwsLong failed (Unhandled): Error; see its CloudWatch logs');
  });

  it('is a PolicyError for a callback-style module handler, which nodejs24.x refuses to run', async () => {
    const e = await rejection(policy('callbackStyle').authorizeUser(userRequest));
    expect(e.code).toBe('PolicyError');
    expect(e.message).toBe(
      'policy function callbackStyle failed (Unhandled): Runtime.CallbackHandlerDeprecated; see its CloudWatch logs',
    );
  });

  it('stops waiting at the timeout: PolicyError, well before the slow handler answers', async () => {
    const started = Date.now();
    const e = await rejection(policy('slow', 300).authorizeUser(userRequest));
    const elapsed = Date.now() - started;
    expect(e.code).toBe('PolicyError');
    expect(e.message).toBe(
      'policy function slow did not answer within 300 ms; make it faster or raise LKP_POLICY_TIMEOUT_MS',
    );
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1500);
  });

  it('is a PolicyError when the answer is not JSON', async () => {
    const e = await rejection(policy('notJson').authorizeUser(userRequest));
    expect(e.code).toBe('PolicyError');
    expect(e.message).toBe('policy function notJson answered with something that is not JSON');
  });

  it('validates the answer: empty principals are a PolicyError', async () => {
    const e = await rejection(policy('emptyPrincipals').authorizeUser(userRequest));
    expect(e.code).toBe('PolicyError');
    expect(e.message).toMatch(/^policy answer: Principals is empty/);
  });

  it('is a PolicyError naming the fix when the function does not exist', async () => {
    const e = await rejection(policy('missing').authorizeUser(userRequest));
    expect(e.code).toBe('PolicyError');
    expect(e.message).toMatch(
      /^policy function missing does not exist in the CA's region and account; check AUTHORIZATION_LAMBDA/,
    );
  });

  it('is a PolicyError naming the credentials when Lambda refuses them', async () => {
    const stranger = lambdaInvoker({
      region: REGION,
      endpoint: lambda.url,
      credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x'.repeat(40) },
      maxAttempts: 1,
    });
    const e = await rejection(lambdaPolicy('allow', TIMEOUT_MS, stranger).authorizeUser(userRequest));
    stranger.destroy();
    expect(e.code).toBe('PolicyError');
    expect(e.message).toMatch(/^Lambda refused the CA's AWS credentials \(UnrecognizedClientException\)/);
    expect(e.message).not.toContain('x'.repeat(40));
  });

  /** The environment the CA's own client reads, pointed at the Lambda stand-in (as the local stack sets it). */
  function useLocalLambdaEnvironment(): void {
    vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambda.url);
    vi.stubEnv('AWS_REGION', REGION);
    vi.stubEnv('AWS_ACCESS_KEY_ID', lambda.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', lambda.credentials.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    vi.stubEnv('AWS_PROFILE', '');
  }

  it('builds its own client from the environment (AWS_ENDPOINT_URL_LAMBDA, as the local stack sets)', async () => {
    useLocalLambdaEnvironment();
    await expect(lambdaPolicy('allow', TIMEOUT_MS).authorizeUser(userRequest)).resolves.toMatchObject({
      principals: ['ops'],
    });
  });

  it("invokes a function given by ARN in the ARN's region, not AWS_REGION (issue 17, item 6)", async () => {
    useLocalLambdaEnvironment();
    vi.stubEnv('AWS_REGION', 'us-west-2');
    // The stand-in serves eu-west-1 and refuses a signature for any other region.
    const arn = lambda.functionArn('allow');
    await expect(lambdaPolicy(arn, TIMEOUT_MS).authorizeUser(userRequest)).resolves.toMatchObject({
      principals: ['ops'],
    });
    const e = await rejection(lambdaPolicy('allow', TIMEOUT_MS).authorizeUser(userRequest));
    expect(e.message).toMatch(/InvalidSignatureException/);
  });

  it('refuses an answer over 64 KiB, cut off unread by its own client, or read in full by an injected one', async () => {
    useLocalLambdaEnvironment();
    for (const p of [lambdaPolicy('huge', TIMEOUT_MS), policy('huge')]) {
      const e = await rejection(p.authorizeUser(userRequest));
      expect(e.code).toBe('PolicyError');
      expect(e.message).toBe('policy function huge answered with more than 65536 bytes');
    }
  });
});

describe('lambdaPolicy: service errors', () => {
  let server: Server;
  let errorType = '';
  let invoker: LambdaInvoker;

  // Answers every Invoke as Lambda refuses one: the code in x-amzn-ErrorType, AWS's text in the body.
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume().on('end', () => {
        res.writeHead(errorType === 'ServiceException' ? 500 : 403, {
          'Content-Type': 'application/json',
          'x-amzn-ErrorType': `${errorType}:http://internal.amazon.com/coral/com.amazonaws.lambda/`,
        });
        res.end(JSON.stringify({ Type: 'User', message: 'message from AWS' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    invoker = lambdaInvoker({
      region: REGION,
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: lambda.credentials,
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    invoker?.destroy();
    await new Promise((resolve) => server?.close(resolve));
  });

  const failingClient = (code: string): LambdaInvoker => {
    errorType = code;
    return invoker;
  };

  it.each([
    [
      'AccessDeniedException',
      /^the CA role may not lambda:InvokeFunction policy: allow it in the CA role's IAM policy/,
    ],
    [
      'TooManyRequestsException',
      /^policy function policy was throttled by Lambda; raise its reserved concurrency/,
    ],
    ['ResourceNotReadyException', /^policy function policy is not ready/],
    ['InvalidSignatureException', /^Lambda refused the CA's AWS credentials \(InvalidSignatureException\)/],
    ['ServiceException', /^invoking policy function policy failed \(ServiceException\); see the CA logs$/],
  ])('%s → PolicyError naming the fix', async (code, message) => {
    const e = await rejection(
      lambdaPolicy('policy', TIMEOUT_MS, failingClient(code)).authorizeUser(userRequest),
    );
    expect(e.code).toBe('PolicyError');
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain('message from AWS');
  });
});

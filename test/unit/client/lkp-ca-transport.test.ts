import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CaRequestError } from '../../../client/lib/ca-client.js';
import { answerOf, caTransport, iamUrlTransport, lambdaTransport } from '../../../client/lib/ca-transport.js';
import { startLambdaStandin, type LambdaStandin } from '../../../src/local/lambda-standin.js';
import { localCredentials } from '../../../src/local/credentials.js';
import { verifySigV4 } from '../../../src/local/sigv4-verify.js';

const INFO = {
  CaPublicKeys: ['ssh-ed25519 AAAA ca'],
  ServerId: 'lkp-test',
  StsEndpoint: 'https://sts',
  StsRegion: 'us-east-1',
};

describe('CA answers', () => {
  it('returns a success object and turns an Error into CaRequestError with the CA code', () => {
    expect(answerOf('{"ServerId":"x"}', 'here')).toEqual({ ServerId: 'x' });
    expect(() => answerOf('{"Error":{"Code":"Forbidden","Message":"policy denied access"}}', 'here')).toThrow(
      expect.objectContaining({ code: 'Forbidden', message: 'policy denied access' }),
    );
    expect(() => answerOf('<html>', 'here')).toThrow(CaRequestError);
    expect(() => answerOf('{"Error":{"Code":"Teapot","Message":"x"}}', 'here')).toThrow(
      /did not answer like an lkp CA/,
    );
  });
});

describe('Lambda Invoke transport', () => {
  let lambda: LambdaStandin;
  beforeAll(async () => {
    lambda = await startLambdaStandin({
      region: 'us-east-1',
      functions: {
        'lkp-ca': async (event: unknown) =>
          (event as { Kind?: string }).Kind === 'Info'
            ? INFO
            : { Error: { Code: 'BadRequest', Message: 'unknown Kind' } },
        'lkp-broken': async () => {
          throw new TypeError('boom');
        },
      },
    });
    vi.stubEnv('AWS_ACCESS_KEY_ID', lambda.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', lambda.credentials.secretAccessKey);
    vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambda.url);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await lambda.close();
  });

  it('sends the request as the payload and returns the answer', async () => {
    const t = caTransport({ function: 'lkp-ca', region: 'us-east-1' });
    expect(t.where).toBe('lambda:lkp-ca (us-east-1)');
    await expect(t.call({ Kind: 'Info' })).resolves.toEqual(INFO);
    expect(lambda.invocations('lkp-ca')).toEqual([{ Kind: 'Info' }]);
  });

  it('maps a CA refusal and a FunctionError to clear errors', async () => {
    const t = lambdaTransport('lkp-ca', 'us-east-1');
    await expect(t.call({ Kind: 'User' } as never)).rejects.toMatchObject({ code: 'BadRequest' });
    await expect(lambdaTransport('lkp-broken', 'us-east-1').call({ Kind: 'Info' })).rejects.toThrow(
      /the CA function lkp-broken failed \(TypeError\)/,
    );
    await expect(lambdaTransport('nosuch', 'us-east-1').call({ Kind: 'Info' })).rejects.toMatchObject({
      exitCode: 4,
    });
  });
});

describe('IAM-authenticated Function URL transport', () => {
  let server: Server;
  let url: string;
  const credentials = localCredentials();
  const verdicts: boolean[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Array<[string, string]> = [];
        for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
          headers.push([req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '']);
        const verdict = verifySigV4(
          { method: req.method ?? '', target: req.url ?? '', headers, body: Buffer.concat(chunks) },
          {
            region: 'eu-west-1',
            service: 'lambda',
            now: new Date(),
            maxSkewMs: 300_000,
            findCredentials: (id) => (id === credentials.accessKeyId ? credentials : undefined),
          },
        );
        verdicts.push(verdict.ok);
        res.writeHead(verdict.ok ? 200 : 403, { 'Content-Type': 'application/json' });
        res.end(verdict.ok ? JSON.stringify(INFO) : '{"Message":"Forbidden"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterEach(() => {
    verdicts.length = 0;
    vi.unstubAllEnvs();
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('signs the POST with SigV4 for service lambda', async () => {
    vi.stubEnv('AWS_REGION', 'eu-west-1'); // a loopback URL names no region
    await expect(iamUrlTransport(url, async () => credentials).call({ Kind: 'Info' })).resolves.toEqual(INFO);
    expect(verdicts).toEqual([true]);
  });

  it('explains a 403 from the Function URL itself', async () => {
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    const wrong = { ...credentials, secretAccessKey: 'wrong' };
    await expect(iamUrlTransport(url, async () => wrong).call({ Kind: 'Info' })).rejects.toMatchObject({
      exitCode: 3,
      hint: expect.stringMatching(/lambda:InvokeFunctionUrl/),
    });
  });
});

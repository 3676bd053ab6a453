import aws4 from 'aws4';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { startStsStandin, type LocalPrincipal, type StsStandin } from '../../src/local/sts-standin.js';
import type { IdentityProof } from '../../src/protocol.js';
import { sendRaw } from '../helpers/raw-http.js';

const USER_ARN = 'arn:aws:iam::111122223333:user/alice';
const ROLE_ARN = 'arn:aws:sts::111122223333:assumed-role/lkp-demo-host/i-0123456789abcdef0';
const FEDERATED_ARN = 'arn:aws:sts::444455556666:federated-user/bob';
const ROOT_ARN = 'arn:aws:iam::111122223333:root';

let sts: StsStandin;
beforeAll(async () => {
  sts = await startStsStandin({
    region: 'eu-west-1',
    principals: [{ arn: USER_ARN }, { arn: ROLE_ARN }, { arn: FEDERATED_ARN }, { arn: ROOT_ARN }],
  });
});
afterAll(() => sts.close());

const principal = (arn: string): LocalPrincipal => {
  const found = sts.principals.find((p) => p.arn === arn);
  if (!found) throw new Error(`no principal ${arn}`);
  return found;
};

const proofFor = (p: LocalPrincipal, overrides: { region?: string } = {}) =>
  buildIdentityProof({
    stsEndpoint: sts.url,
    region: overrides.region ?? 'eu-west-1',
    serverId: 'lkp-integration',
    keyFingerprint: 'SHA256:Ttj4eHhN3Y1Jp5F8Y0Z5xk1o8pY8m7wZ2XvK3XH1bq0',
    credentials: p.credentials,
  });

/** Sends the proof exactly as it says: method, url, headers, body. */
async function send(
  proof: IdentityProof,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; contentType: string; body: string }> {
  const reply = await sendRaw(
    proof.Url,
    { method: proof.Method, headers: { ...proof.Headers, ...extraHeaders } },
    proof.Body,
  );
  return { status: reply.status, contentType: reply.headers['content-type'] ?? '', body: reply.body };
}

const xmlField = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

describe('STS stand-in', () => {
  it('listens on loopback and creates AWS-shaped credentials and ids', () => {
    expect(sts.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const user = principal(USER_ARN);
    expect(user).toMatchObject({
      account: '111122223333',
      userId: expect.stringMatching(/^AIDA[A-Z2-7]{17}$/),
    });
    expect(user.credentials.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(user.credentials.sessionToken).toBeUndefined();
    const role = principal(ROLE_ARN);
    expect(role.userId).toMatch(/^AROA[A-Z2-7]{17}:i-0123456789abcdef0$/);
    expect(role.credentials.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(role.credentials.sessionToken).toBeTruthy();
    expect(principal(FEDERATED_ARN).userId).toBe('444455556666:bob');
    expect(principal(ROOT_ARN).userId).toBe('111122223333');
  });

  it.each([USER_ARN, ROLE_ARN, FEDERATED_ARN, ROOT_ARN])(
    'answers a proof signed by %s with its identity as XML',
    async (arn) => {
      const p = principal(arn);
      const before = sts.requestCount();
      const res = await send(proofFor(p));
      expect(res.status).toBe(200);
      expect(res.contentType).toBe('text/xml');
      expect(res.body).toContain(
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">',
      );
      expect(xmlField(res.body, 'Arn')).toBe(arn);
      expect(xmlField(res.body, 'Account')).toBe(p.account);
      expect(xmlField(res.body, 'UserId')).toBe(p.userId);
      expect(xmlField(res.body, 'RequestId')).toMatch(/^[0-9a-f-]{36}$/);
      expect(sts.requestCount()).toBe(before + 1);
    },
  );

  it('is wire-compatible with the AWS SDK STS client', async () => {
    const p = principal(ROLE_ARN);
    const client = new STSClient({ region: 'eu-west-1', endpoint: sts.url, credentials: p.credentials });
    try {
      const identity = await client.send(new GetCallerIdentityCommand({}));
      expect(identity).toMatchObject({ Arn: ROLE_ARN, Account: '111122223333', UserId: p.userId });
    } finally {
      client.destroy();
    }
  });

  it('answers with JSON when asked to', async () => {
    const p = principal(ROLE_ARN);
    const res = await send(proofFor(p), { Accept: 'application/json' });
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('application/json');
    expect(JSON.parse(res.body)).toEqual({
      GetCallerIdentityResponse: {
        GetCallerIdentityResult: { Arn: ROLE_ARN, Account: '111122223333', UserId: p.userId },
        ResponseMetadata: { RequestId: expect.any(String) },
      },
    });
  });

  it('rejects a proof whose signed server id was changed with 403 SignatureDoesNotMatch', async () => {
    const proof = proofFor(principal(USER_ARN));
    const before = sts.requestCount();
    const res = await send({ ...proof, Headers: { ...proof.Headers, 'X-Lkp-Server-Id': 'another-ca' } });
    expect(res.status).toBe(403);
    expect(res.body).toContain('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">');
    expect(xmlField(res.body, 'Code')).toBe('SignatureDoesNotMatch');
    expect(xmlField(res.body, 'Type')).toBe('Sender');
    expect(sts.requestCount()).toBe(before + 1);
  });

  it('rejects a proof signed for another region, in JSON when asked', async () => {
    const res = await send(proofFor(principal(USER_ARN), { region: 'us-east-1' }), {
      Accept: 'application/json',
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({
      Error: { Code: 'SignatureDoesNotMatch', Message: expect.stringContaining("'us-east-1'") },
    });
  });

  it('rejects credentials it did not issue with InvalidClientTokenId', async () => {
    const stranger = {
      ...principal(USER_ARN),
      credentials: { accessKeyId: 'AKIA0000', secretAccessKey: 'x' },
    };
    const res = await send(proofFor(stranger));
    expect(res.status).toBe(403);
    expect(xmlField(res.body, 'Code')).toBe('InvalidClientTokenId');
  });

  it('rejects an unsigned request with MissingAuthenticationToken', async () => {
    const { Authorization: _dropped, ...unsigned } = proofFor(principal(USER_ARN)).Headers;
    const res = await send({ ...proofFor(principal(USER_ARN)), Headers: unsigned });
    expect(res.status).toBe(403);
    expect(xmlField(res.body, 'Code')).toBe('MissingAuthenticationToken');
  });

  it('rejects other actions with 400 InvalidAction, after checking the signature', async () => {
    const p = principal(USER_ARN);
    const proof = proofFor(p);
    const body = 'Action=GetSessionToken&Version=2011-06-15';
    const signed = aws4.sign(
      { host: new URL(sts.url).host, path: '/', service: 'sts', region: 'eu-west-1', body },
      p.credentials,
    );
    const headers = Object.fromEntries(Object.entries(signed.headers ?? {}).map(([k, v]) => [k, String(v)]));
    const res = await send({ ...proof, Body: body, Headers: headers });
    expect(res.status).toBe(400);
    expect(xmlField(res.body, 'Code')).toBe('InvalidAction');
  });

  it('rejects a body over 64 KiB with 413', async () => {
    const proof = proofFor(principal(USER_ARN));
    const body = 'x'.repeat(65 * 1024);
    const res = await send({
      ...proof,
      Body: body,
      Headers: { ...proof.Headers, 'Content-Length': String(body.length) },
    });
    expect(res.status).toBe(413);
  });

  it.each([
    'arn:aws:iam::111122223333:role/admin',
    'arn:aws:sts::111122223333:assumed-role/no-session',
    'alice',
  ])('refuses to start with a principal it cannot issue credentials for: %s', async (arn) => {
    await expect(startStsStandin({ region: 'eu-west-1', principals: [{ arn }] })).rejects.toThrow(
      /unsupported local principal ARN/,
    );
  });
});

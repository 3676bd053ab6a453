/**
 * The CA as deployed locally: `lkp-ca serve` (a real process, configured from the environment)
 * in front of the STS stand-in. Every request that breaks a DESIGN §3.1 rule visibly is refused
 * without reaching STS, and no refused request carries a certificate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { parsePublicKey } from '../../src/cert/index.js';
import { generateKeyPair } from '../../src/local/openssh.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_INSTANCE_ARN,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';
import type { LocalPrincipal } from '../../src/local/sts-standin.js';
import type { IdentityProof, InfoResponse } from '../../src/protocol.js';

const ROOT_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:root`;
const FOREIGN_ARN = 'arn:aws:iam::444455556666:user/mallory';

let stack: LocalStack;
let info: InfoResponse;
let publicKey: string;
let otherKey: string;

beforeAll(async () => {
  stack = await startLocalStack({ extraPrincipals: [{ arn: ROOT_ARN }, { arn: FOREIGN_ARN }] });
  info = await fetchCaInfo(stack.caUrl);
  publicKey = (await generateKeyPair(stack.dir, 'user')).publicKey;
  otherKey = (await generateKeyPair(stack.dir, 'other')).publicKey;
});
afterAll(async () => stack?.close());

function principal(arn: string): LocalPrincipal {
  const found = stack.sts.principals.find((p) => p.arn === arn);
  if (!found) throw new Error(`no ${arn}`);
  return found;
}

function proof(
  who: LocalPrincipal = stack.user,
  over: { key?: string; serverId?: string; region?: string; now?: Date } = {},
): IdentityProof {
  return buildIdentityProof({
    stsEndpoint: info.StsEndpoint,
    region: over.region ?? info.StsRegion,
    serverId: over.serverId ?? info.ServerId,
    keyFingerprint: parsePublicKey(over.key ?? publicKey).fingerprint,
    credentials: who.credentials,
    ...(over.now ? { now: over.now } : {}),
  });
}

function userRequest(identity: IdentityProof, extra: Record<string, unknown> = {}) {
  return {
    Kind: 'User',
    Identity: identity,
    PublicKey: publicKey,
    RemoteInstanceArn: LOCAL_INSTANCE_ARN,
    SshUsername: 'ec2-user',
    ...extra,
  };
}

async function post(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(stack.caUrl, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Sends a request and returns the answer plus how many requests STS saw meanwhile. */
async function send(body: unknown) {
  const before = stack.sts.requestCount();
  const answer = await post(body);
  return { ...answer, stsCalls: stack.sts.requestCount() - before };
}

function withHeaders(p: IdentityProof, change: (h: Record<string, string | number>) => void): IdentityProof {
  const headers = { ...p.Headers };
  change(headers);
  return { ...p, Headers: headers };
}

describe('lkp-ca serve with the STS stand-in', () => {
  it('issues a certificate for a valid proof, asking STS exactly once', async () => {
    const { status, json, stsCalls } = await send(userRequest(proof()));
    expect(status).toBe(200);
    expect(json.Certificate).toMatch(/^ssh-ed25519-cert-v01@openssh\.com /);
    expect(json.KeyId).toBe(stack.user.arn);
    expect(stsCalls).toBe(1);
  });

  const visible: [string, () => unknown][] = [
    [
      'a proof for another key (captured and replayed)',
      () => userRequest(proof(stack.user, { key: otherKey })),
    ],
    ['a proof for another CA', () => userRequest(proof(stack.user, { serverId: 'other-ca' }))],
    ['a proof signed for another region', () => userRequest(proof(stack.user, { region: 'us-west-2' }))],
    ['a stale proof', () => userRequest(proof(stack.user, { now: new Date(Date.now() - 3600_000) }))],
    [
      'a proof from the future',
      () => userRequest(proof(stack.user, { now: new Date(Date.now() + 3600_000) })),
    ],
    [
      'a proof aimed at another host',
      () => userRequest({ ...proof(), Url: 'https://sts.amazonaws.com.evil.example/' }),
    ],
    [
      'a proof with a query',
      () => userRequest({ ...proof(), Url: `${info.StsEndpoint}/?Action=AssumeRole` }),
    ],
    ['a proof with another path', () => userRequest({ ...proof(), Url: `${info.StsEndpoint}/x` })],
    [
      'a proof with another action',
      () => userRequest({ ...proof(), Body: 'Action=AssumeRole&Version=2011-06-15' }),
    ],
    [
      'a proof with an extra header',
      () => userRequest(withHeaders(proof(), (h) => (h['X-Amz-Target'] = 'x'))),
    ],
    [
      'a proof with a CRLF in a header',
      () => userRequest(withHeaders(proof(), (h) => (h['X-Lkp-Server-Id'] = 'lkp-local\r\nX: y'))),
    ],
    ['a proof with a GET method', () => userRequest({ ...proof(), Method: 'GET' })],
    ['a request without a proof', () => ({ ...userRequest(proof()), Identity: undefined })],
  ];
  it.each(visible)('refuses %s without forwarding it to STS', async (_, make) => {
    const { status, json, stsCalls } = await send(make());
    expect([400, 401]).toContain(status);
    expect(json.Certificate).toBeUndefined();
    expect(stsCalls).toBe(0);
  });

  it('refuses a proof whose signature STS rejects', async () => {
    const tampered = withHeaders(proof(), (h) => {
      const auth = String(h.Authorization);
      h.Authorization = auth.replace(
        /Signature=([0-9a-f])/,
        (_, c: string) => `Signature=${c === '0' ? '1' : '0'}`,
      );
    });
    const { status, json, stsCalls } = await send(userRequest(tampered));
    expect(status).toBe(401);
    expect(json.Certificate).toBeUndefined();
    expect(stsCalls).toBe(1);
  });

  it('refuses root credentials', async () => {
    const { status, json } = await send(userRequest(proof(principal(ROOT_ARN))));
    expect(status).toBe(403);
    expect(json).toEqual({
      Error: { Code: 'Forbidden', Message: expect.stringMatching(/root credentials are never accepted/) },
    });
  });

  it('refuses callers from an account the CA does not allow, naming both accounts', async () => {
    const { status, json } = await send(userRequest(proof(principal(FOREIGN_ARN))));
    expect(status).toBe(403);
    expect(JSON.stringify(json)).toMatch(/444455556666.*111122223333/);
  });

  it('refuses a host certificate to a user, and to an instance asking for another instance', async () => {
    const asUser = await send({
      Kind: 'Host',
      Identity: proof(),
      PublicKey: publicKey,
      HostInstanceArn: LOCAL_INSTANCE_ARN,
      Principals: [],
    });
    expect(asUser.status).toBe(403);
    const otherInstance = LOCAL_INSTANCE_ARN.replace('i-0123456789abcdef0', 'i-0fedcba9876543210');
    const asOther = await send({
      Kind: 'Host',
      Identity: proof(stack.host),
      PublicKey: publicKey,
      HostInstanceArn: otherInstance,
      Principals: [],
    });
    expect(asOther.status).toBe(403);
    expect(asOther.json.Certificate).toBeUndefined();
  });

  it('refuses a user certificate for an instance EC2 does not know', async () => {
    const unknown = LOCAL_INSTANCE_ARN.replace('i-0123456789abcdef0', 'i-0fedcba9876543210');
    const { status, json } = await send(userRequest(proof(), { RemoteInstanceArn: unknown }));
    expect(status).toBe(403);
    expect(JSON.stringify(json)).toMatch(/i-0fedcba9876543210 does not exist in us-east-1/);
  });

  it('answers HTTP errors for what is not a CA request', async () => {
    expect((await fetch(stack.caUrl)).status).toBe(400);
    expect((await post('not json')).status).toBe(400);
    expect((await post('x'.repeat(70 * 1024))).status).toBe(413);
  });

  it('writes one audit line per decision, without secrets', async () => {
    const before = stack.caOutput().split('\n').filter(Boolean).length;
    const p = proof();
    await send(userRequest(p));
    await send(userRequest(p, { SshUsername: 'bad user' }));
    const lines = stack.caOutput().split('\n').filter(Boolean).slice(before);
    expect(lines.map((l) => JSON.parse(l) as { decision: string })).toEqual([
      expect.objectContaining({ decision: 'allow', caller: stack.user.arn, sourceIp: '127.0.0.1' }),
      expect.objectContaining({ decision: 'deny', code: 'BadRequest' }),
    ]);
    const signature = /Signature=([0-9a-f]{64})/.exec(String(p.Headers.Authorization))?.[1] ?? 'missing';
    for (const line of lines) {
      expect(line).not.toContain(signature);
      expect(line).not.toContain(stack.user.credentials.secretAccessKey);
      expect(line).not.toContain('Authorization');
    }
  });
});

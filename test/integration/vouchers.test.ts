/**
 * Vouchers through the whole local stack (DESIGN §3.2 Vouchers, §3.4): `lkp-ca serve` verifies each
 * voucher with the STS stand-in and hands the policy Lambda exactly the verified LkpVoucher objects.
 * The policy here allows only with two vouchers for the caller, for the target instance.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { buildVoucher } from '../../client/lib/voucher.js';
import { parsePublicKey } from '../../src/cert/index.js';
import { generateKeyPair } from '../../src/local/openssh.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_INSTANCE_ARN,
  LOCAL_POLICY_FUNCTION,
  LOCAL_REGION,
  LOCAL_SERVER_ID,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';
import type { LocalPrincipal } from '../../src/local/sts-standin.js';
import type {
  CaResponse,
  CertResponse,
  ErrorResponse,
  LkpUserCertAuthorizationRequest,
  LkpVoucher,
} from '../../src/protocol.js';

const POLICY = `
export const handler = async (req) => {
  const vouchers = (req.Vouchers ?? []).filter(
    (v) => v.Context === req.RemoteInstanceArn && v.Vouchee === req.From.Name,
  );
  return { Authorized: vouchers.length >= 2 };
};
`;

let policyDir: string;
let stack: LocalStack;
let alice: LocalPrincipal;
let bob: LocalPrincipal;
let carol: LocalPrincipal;
let publicKey: string;

beforeAll(async () => {
  policyDir = mkdtempSync(join(tmpdir(), 'lkp-voucher-policy-'));
  const policyModule = join(policyDir, 'two-vouchers.mjs');
  writeFileSync(policyModule, POLICY);
  stack = await startLocalStack({
    policyModule,
    extraPrincipals: [
      { arn: `arn:aws:iam::${LOCAL_ACCOUNT}:user/bob` },
      { arn: `arn:aws:iam::${LOCAL_ACCOUNT}:user/carol` },
    ],
  });
  alice = stack.user;
  [bob, carol] = stack.sts.principals.slice(2) as [LocalPrincipal, LocalPrincipal];
  publicKey = (await generateKeyPair(stack.dir, 'id_vouched')).publicKey;
}, 60_000);
afterAll(async () => {
  await stack?.close();
  rmSync(policyDir, { recursive: true, force: true });
});

const invocations = () =>
  (stack.lambda?.invocations(LOCAL_POLICY_FUNCTION) ?? []) as LkpUserCertAuthorizationRequest[];
let invokedBefore = 0;
beforeEach(() => {
  invokedBefore = invocations().length;
});
const newInvocations = () => invocations().slice(invokedBefore);

function vouch(by: LocalPrincipal, vouchee = 'alice', context = LOCAL_INSTANCE_ARN): string {
  return buildVoucher({
    stsEndpoint: stack.sts.url,
    region: LOCAL_REGION,
    serverId: LOCAL_SERVER_ID,
    vouchee,
    context,
    credentials: by.credentials,
  });
}

async function ask(
  vouchers: string[] | undefined,
  credentials = alice.credentials,
): Promise<{ status: number; body: CaResponse }> {
  const Identity = buildIdentityProof({
    stsEndpoint: stack.sts.url,
    region: LOCAL_REGION,
    serverId: LOCAL_SERVER_ID,
    keyFingerprint: parsePublicKey(publicKey).fingerprint,
    credentials,
  });
  const res = await fetch(stack.caUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      Kind: 'User',
      Identity,
      PublicKey: publicKey,
      RemoteInstanceArn: LOCAL_INSTANCE_ARN,
      SshUsername: 'ec2-user',
      ...(vouchers ? { Vouchers: vouchers } : {}),
    }),
  });
  return { status: res.status, body: (await res.json()) as CaResponse };
}

const expectedVoucher = (p: LocalPrincipal, name: string): LkpVoucher => ({
  Arn: p.arn,
  Account: LOCAL_ACCOUNT,
  Id: p.userId,
  Type: 'User',
  Name: name,
  Vouchee: 'alice',
  Context: LOCAL_INSTANCE_ARN,
});

const auditLines = () =>
  stack
    .caOutput()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('vouchers through the local stack', () => {
  it('denies without vouchers, and the policy gets no Vouchers key', async () => {
    const { status } = await ask(undefined);
    expect(status).toBe(403);
    expect(newInvocations()).toHaveLength(1);
    expect(newInvocations()[0]).not.toHaveProperty('Vouchers');
  });

  it('denies with one voucher', async () => {
    expect((await ask([vouch(bob)])).status).toBe(403);
    expect(newInvocations()[0]?.Vouchers).toEqual([expectedVoucher(bob, 'bob')]);
  });

  it('does not count a voucher by the caller themselves', async () => {
    expect((await ask([vouch(alice), vouch(bob)])).status).toBe(403);
    expect(newInvocations()[0]?.Vouchers).toEqual([expectedVoucher(bob, 'bob')]);
  });

  it('does not count one person twice', async () => {
    expect((await ask([vouch(bob), vouch(bob)])).status).toBe(403);
    expect(newInvocations()[0]?.Vouchers).toEqual([expectedVoucher(bob, 'bob')]);
  });

  it('signs with vouchers by bob and carol; the policy gets exactly the verified vouchers', async () => {
    const tokens = [vouch(bob), vouch(carol)];
    const { status, body } = await ask(tokens);
    expect(status).toBe(200);
    expect((body as CertResponse).Principals).toEqual([`ec2-user@${LOCAL_INSTANCE_ARN}`]);
    const [event] = newInvocations();
    expect(event?.Vouchers).toEqual([expectedVoucher(bob, 'bob'), expectedVoucher(carol, 'carol')]);

    const line = auditLines().find((l) => l.serial === (body as CertResponse).Serial);
    expect(line).toMatchObject({ decision: 'allow', caller: alice.arn, vouchers: [bob.arn, carol.arn] });
    // Never a voucher's token, Authorization, signature or session token in the audit log (DESIGN §5).
    const output = stack.caOutput();
    for (const token of tokens) {
      const headers = JSON.parse(Buffer.from(token.slice('lkpv1.'.length), 'base64url').toString()).Headers;
      const signature = /Signature=([0-9a-f]{64})/.exec(String(headers.Authorization))?.[1] ?? '';
      expect(signature).toHaveLength(64);
      expect(output).not.toContain(signature);
      expect(output).not.toContain(token.slice(0, 40));
    }
    expect(output).not.toContain(bob.credentials.accessKeyId);
  });

  it('does not count vouchers for someone else or another instance (the policy decides)', async () => {
    const other = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0fffffffffffffff0';
    expect((await ask([vouch(bob, 'mallory'), vouch(carol, 'alice', other)])).status).toBe(403);
    expect(newInvocations()[0]?.Vouchers?.map((v) => [v.Vouchee, v.Context])).toEqual([
      ['mallory', LOCAL_INSTANCE_ARN],
      ['alice', other],
    ]);
  });

  it('refuses the whole request when one voucher is forged, naming it, without asking the policy', async () => {
    const forged = JSON.parse(Buffer.from(vouch(carol).slice(6), 'base64url').toString());
    forged.Headers['X-Lkp-Vouchee'] = 'alice2';
    const token = `lkpv1.${Buffer.from(JSON.stringify(forged)).toString('base64url')}`;
    const { status, body } = await ask([vouch(bob), token]);
    expect(status).toBe(401);
    expect((body as ErrorResponse).Error.Message).toMatch(/^Vouchers\[1\]: AWS rejected the identity proof/);
    expect(newInvocations()).toHaveLength(0);
  });

  it('verifies no voucher for a caller STS does not confirm', async () => {
    const before = stack.sts.requestCount();
    const stranger = { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'nope' };
    const { status } = await ask([vouch(bob), vouch(carol)], stranger);
    expect(status).toBe(401);
    // Only the caller's own proof reached STS.
    expect(stack.sts.requestCount() - before).toBe(1);
    expect(newInvocations()).toHaveLength(0);
  });
});

/**
 * The Accounts request through the CA pipeline (docs/architecture.md, "Unix accounts"): IAM read
 * by the CA through the IAM stand-in, the instance's own role session only, the policy may narrow
 * but never widen, and the answer is the flat list shape host/lib/accounts.sh parses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { iamGroupMembers } from '../../src/accounts/iam-groups.js';
import { getGroupMembers, iamQueryClient } from '../../src/aws/iam-query.js';
import { builtinPolicy } from '../../src/authorize/builtin.js';
import type { Policy } from '../../src/authorize/policy.js';
import { createCa, type CaDeps, type IdentityVerifier } from '../../src/ca.js';
import { loadConfig } from '../../src/config.js';
import type { InstanceDirectory } from '../../src/ec2.js';
import { policyError } from '../../src/errors.js';
import { startIamStandin, type IamStandin } from '../../src/local/iam-standin.js';
import { generateKeyPair } from '../../src/local/openssh.js';
import type { LkpAccountsAuthorizationRequest, LkpIdentity } from '../../src/protocol.js';
import { fileSigner } from '../../src/signer/file.js';
import type { Signer } from '../../src/signer/signer.js';
import { ALICE, INSTANCE_ARN, INSTANCE_SESSION } from '../helpers/identities.js';

const JANE = 'jane.doe.at.example.com';
const baseEnv = {
  LKP_CA_KEY: 'file:/x',
  LKP_SERVER_ID: 'lkp-test',
  LKP_ALLOWED_ACCOUNTS: '111122223333',
  AWS_REGION: 'us-east-1',
};
const config = loadConfig({ ...baseEnv, LKP_ACCOUNT_GROUPS: 'developers', LKP_SUDO_GROUPS: 'admins' });
const identity = { Method: 'POST', Url: 'https://sts/', Body: '', Headers: {} };

let iam: IamStandin;
let dir: string;
let signer: Signer;
let hostKey: string;

beforeAll(async () => {
  iam = await startIamStandin({ account: '111122223333' });
  dir = mkdtempSync(join(tmpdir(), 'lkp-accounts-ca-'));
  signer = await fileSigner((await generateKeyPair(dir, 'ca')).privatePath);
  hostKey = (await generateKeyPair(dir, 'host')).publicKey;
});
afterAll(async () => {
  await iam.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  iam.setGroups({ developers: ['jane.doe@example.com', 'bob'], admins: ['bob', 'carol'] });
});

function setup(overrides: Partial<CaDeps> & { who?: LkpIdentity } = {}) {
  const lines: string[] = [];
  const client = iamQueryClient({ endpoint: iam.url, credentials: iam.credentials, maxAttempts: 1 });
  const ca = createCa({
    config,
    signer,
    policy: builtinPolicy({ allowedAccounts: config.allowedAccounts, allow: [] }),
    verifyIdentity: vi.fn<IdentityVerifier>(async () => overrides.who ?? INSTANCE_SESSION),
    groupMembers: iamGroupMembers({ partition: 'aws', client }),
    audit: (line) => lines.push(line),
    ...overrides,
  });
  const ask = (extra: Record<string, unknown> = {}) =>
    ca(
      {
        body: JSON.stringify({
          Kind: 'Accounts',
          Identity: identity,
          PublicKey: hostKey,
          HostInstanceArn: INSTANCE_ARN,
          ...extra,
        }),
      },
      { transport: 'test' },
    );
  const audit = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { ask, audit };
}

/** A policy that records what it was offered and answers `answer`. */
function policyAnswering(answer: (req: LkpAccountsAuthorizationRequest) => Promise<unknown>): Policy & {
  offered: LkpAccountsAuthorizationRequest[];
} {
  const offered: LkpAccountsAuthorizationRequest[] = [];
  const base = builtinPolicy({ allowedAccounts: ['111122223333'], allow: [] });
  return {
    ...base,
    name: 'test-policy',
    offered,
    authorizeAccounts: async (req) => {
      offered.push(req);
      const { parseAccountsPolicyResponse } = await import('../../src/accounts/policy-answer.js');
      return parseAccountsPolicyResponse(await answer(req), req);
    },
  };
}

describe('Accounts request', () => {
  it("answers the instance's own role session with flat, sorted lists of POSIX names", async () => {
    const { ask, audit } = setup();
    const { status, response } = await ask();
    expect(status).toBe(200);
    // The exact text matters: the bash agent compares the body with its own rendering of it.
    expect(JSON.stringify(response)).toBe(
      `{"Kind":"Accounts","Users":["bob","carol","${JANE}"],"Sudo":["bob","carol"],` +
        `"Groups":["lkp_developers"],"Members":["lkp_developers:bob","lkp_developers:${JANE}"],"Removed":"lock"}`,
    );
    expect(audit()).toEqual([
      expect.objectContaining({
        decision: 'allow',
        kind: 'Accounts',
        caller: INSTANCE_SESSION.Arn,
        target: INSTANCE_ARN,
        policy: 'built-in',
        accounts: ['bob', 'carol', JANE],
        sudo: ['bob', 'carol'],
      }),
    ]);
  });

  it('refuses any caller but the instance itself, before reading IAM', async () => {
    const other: LkpIdentity = { ...INSTANCE_SESSION, SessionName: 'i-0fedcba9876543210' };
    for (const who of [ALICE, other]) {
      const before = iam.actions().length;
      const { ask } = setup({ who });
      const { status, response } = await ask();
      expect(status).toBe(403);
      expect(response).toMatchObject({ Error: { Code: 'Forbidden' } });
      expect(iam.actions().length).toBe(before);
    }
  });

  it("refuses a session whose role is not the instance profile's (DESIGN §3.4)", async () => {
    const instances: InstanceDirectory = {
      confirmHostNames: async () => [],
      checkTargetExists: async () => undefined,
      instanceRole: async () => ({ kind: 'role', roleId: 'AROAOTHERROLE00000001', roleName: 'other' }),
    };
    const { ask } = setup({ instances });
    expect((await ask()).status).toBe(403);
  });

  it('lets the policy narrow the offer: fewer users, less sudo', async () => {
    const policy = policyAnswering(async () => ({
      Authorized: true,
      Users: ['bob', 'carol'],
      Sudo: ['carol'],
    }));
    const { ask } = setup({ policy });
    const { response } = await ask();
    expect(response).toEqual({
      Kind: 'Accounts',
      Users: ['bob', 'carol'],
      Sudo: ['carol'],
      Groups: ['lkp_developers'],
      Members: ['lkp_developers:bob'],
      Removed: 'lock',
    });
    expect(policy.offered[0]).toMatchObject({
      Kind: 'LkpAccountsAuthorizationRequest',
      From: INSTANCE_SESSION,
      HostInstanceArn: INSTANCE_ARN,
      Accounts: [
        { User: 'bob', IamUser: 'bob', Groups: ['lkp_developers'], Sudo: true },
        { User: 'carol', IamUser: 'carol', Groups: [], Sudo: true },
        { User: JANE, IamUser: 'jane.doe@example.com', Groups: ['lkp_developers'], Sudo: false },
      ],
    });
  });

  it('answers no accounts when the policy says Authorized: false (removing access is the safe side)', async () => {
    const { ask } = setup({ policy: policyAnswering(async () => ({ Authorized: false })) });
    const { status, response } = await ask();
    expect(status).toBe(200);
    expect(response).toMatchObject({ Users: [], Sudo: [], Members: [], Groups: ['lkp_developers'] });
  });

  it('fails closed when the policy widens the offer or breaks', async () => {
    const answers: Array<() => Promise<unknown>> = [
      async () => ({ Authorized: true, Users: ['root'] }),
      async () => ({ Authorized: true, Sudo: [JANE] }),
      async () => ({ Authorized: true, Users: ['bob'], Sudo: ['carol'] }),
      async () => ({ Authorized: 'yes' }),
      async () => ({}),
      async () => Promise.reject(policyError('policy function p failed')),
    ];
    for (const answer of answers) {
      const { ask } = setup({ policy: policyAnswering(answer) });
      const { status, response } = await ask();
      expect(status).toBe(502);
      expect(response).toMatchObject({ Error: { Code: 'PolicyError' } });
    }
  });

  it('is an error naming the variable when a configured IAM group does not exist', async () => {
    iam.setGroups({ developers: ['bob'] });
    const { ask, audit } = setup();
    const { status, response } = await ask();
    expect(status).toBe(500);
    expect(response).toMatchObject({
      Error: { Message: expect.stringContaining('IAM group admins does not exist; fix LKP_ACCOUNT_GROUPS') },
    });
    expect(audit()[0]).toMatchObject({ decision: 'deny', code: 'Internal' });
  });

  it('is refused by a CA that manages no accounts', async () => {
    const { ask } = setup({ config: loadConfig(baseEnv), groupMembers: undefined });
    const { status, response } = await ask();
    expect(status).toBe(400);
    expect(response).toMatchObject({ Error: { Message: expect.stringContaining('LKP_ACCOUNT_GROUPS') } });
  });

  it('refuses unknown fields and a malformed instance ARN', async () => {
    const { ask } = setup();
    expect((await ask({ Users: ['root'] })).status).toBe(400);
    expect((await ask({ HostInstanceArn: 'i-0123456789abcdef0' })).status).toBe(400);
  });
});

describe('iamGroupMembers', () => {
  it('reads every page of a large group and keeps the answer for a minute', async () => {
    const many = Array.from({ length: 2345 }, (_, i) => `user${i}`);
    iam.setGroups({ big: many });
    let clock = 0;
    const client = iamQueryClient({ endpoint: iam.url, credentials: iam.credentials, maxAttempts: 1 });
    const members = iamGroupMembers({ partition: 'aws', client, now: () => clock });
    const before = iam.actions().length;
    expect((await members(['big'])).get('big')).toEqual(many);
    expect(iam.actions().length - before).toBe(3);
    clock = 59_000;
    await members(['big']);
    expect(iam.actions().length - before).toBe(3);
    clock = 61_000;
    await members(['big']);
    expect(iam.actions().length - before).toBe(6);
  });

  it('getGroupMembers sends GetGroup with MaxItems 1000', async () => {
    iam.setGroups({ g: ['a'] });
    const client = iamQueryClient({ endpoint: iam.url, credentials: iam.credentials, maxAttempts: 1 });
    expect(await getGroupMembers(client, 'g')).toEqual(['a']);
    expect(iam.actions().at(-1)).toBe('GetGroup');
  });
});

describe('accounts configuration', () => {
  it('defaults to lkp_ and lock, and lists every bad value', () => {
    expect(config.accounts).toEqual({
      iamGroups: ['developers'],
      sudoGroups: ['admins'],
      groupPrefix: 'lkp_',
      removed: 'lock',
      membersMaxAgeSeconds: 60,
    });
    expect(() =>
      loadConfig({
        ...baseEnv,
        LKP_ACCOUNT_GROUPS: 'dev ops',
        LKP_ACCOUNT_GROUP_PREFIX: 'LKP',
        LKP_REMOVED_ACCOUNTS: 'purge',
      }),
    ).toThrow(/LKP_ACCOUNT_GROUPS[\s\S]*LKP_ACCOUNT_GROUP_PREFIX[\s\S]*LKP_REMOVED_ACCOUNTS/);
    expect(loadConfig({ ...baseEnv, LKP_REMOVED_ACCOUNTS: 'delete' }).accounts).toBeUndefined();
  });
});

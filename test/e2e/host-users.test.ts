/**
 * Personal unix accounts end to end (issues 9, 16): the CA reads the IAM group members (IAM
 * stand-in, LKP_ACCOUNT_GROUPS) and answers the instance's Accounts request, the host agent
 * (`lkp-host-agent accounts apply`) makes the accounts, the CA with LKP_PERSONAL_ACCOUNTS signs each
 * person only for their own account, a real sshd lets them in, and removal from the group locks
 * them out. The instance role reads no IAM.
 *
 * sshd cannot read a temp passwd, so the login part creates one real, uniquely named account with
 * root `/`, only on a machine with no lkp account state, and removes it afterwards.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT } from '../../host/test/agent.js';
import { callCa, CaRequestError } from '../../client/lib/ca-client.js';
import { fetchCaInfo, requestCertificate } from '../../client/lib/certificates.js';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { parsePublicKey } from '../../src/cert/index.js';
import { loginFor, startLocalInstance, trySsh, type LocalInstance } from '../../src/local/instance.js';
import { findSshd, generateKeyPair } from '../../src/local/openssh.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_INSTANCE_ARN,
  startCaProcess,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';
import type { LocalPrincipal } from '../../src/local/sts-standin.js';
import type { AccountsResponse, InfoResponse } from '../../src/protocol.js';
import { isRoot, makeAccountsRoot, readEtc } from '../helpers/accounts-root.js';
import { runProgram } from '../helpers/run-node.js';

const JANE_IAM = 'jane.doe@example.com';
const JANE = 'jane.doe.at.example.com';
/** IAM and unix name of the one real account; lower-case letters and digits map to themselves. */
const REAL = `lkpe2e${randomBytes(4).toString('hex')}`;
const REAL_GROUP = `e2e-${REAL}`;
const userArn = (name: string) => `arn:aws:iam::${LOCAL_ACCOUNT}:user/${name}`;

const accountExists = (name: string) =>
  readEtc('/', 'passwd')
    .split('\n')
    .some((l) => l.startsWith(`${name}:`));
const STATE = '/var/lib/lkp/accounts.state';
/** The real-account part runs only where it cannot disturb real lkp state or accounts. */
const realAccountsReason = !isRoot
  ? 'needs root to create a real account for sshd'
  : findSshd() === undefined
    ? 'needs OpenSSH sshd'
    : [STATE, '/var/lib/lkp/users.json', '/etc/sudoers.d/lkp-users'].some((p) => existsSync(p))
      ? `this machine has lkp account state (${STATE}); not touching it`
      : undefined;
const lkpStateDirExisted = existsSync('/var/lib/lkp');

let stack: LocalStack;
let info: InfoResponse;
let tempRoot: string;

const principal = (arn: string): LocalPrincipal => {
  const p = stack.sts.principals.find((x) => x.arn === arn);
  if (p === undefined) throw new Error(`no local principal ${arn}`);
  return p;
};

/** What the instance asks the CA with its own role session: the Accounts answer, as the agent gets it. */
async function accountsAnswer(caUrl: string): Promise<string> {
  const hostKey = await generateKeyPair(stack.dir, `host_${randomBytes(3).toString('hex')}`);
  const Identity = buildIdentityProof({
    stsEndpoint: info.StsEndpoint,
    region: info.StsRegion,
    serverId: info.ServerId,
    keyFingerprint: parsePublicKey(hostKey.publicKey).fingerprint,
    credentials: stack.host.credentials,
  });
  const answer = await callCa<AccountsResponse>(caUrl, {
    Kind: 'Accounts',
    Identity,
    PublicKey: hostKey.publicKey,
    HostInstanceArn: LOCAL_INSTANCE_ARN,
  });
  return JSON.stringify(answer);
}

/**
 * The CA keeps a group's members for 60 s: to see a membership change at once, ask a CA process
 * started now with the same configuration instead of waiting.
 */
async function withFreshCa<T>(use: (caUrl: string) => Promise<T>): Promise<T> {
  const ca = await startCaProcess(stack.caEnv);
  try {
    return await use(ca.url);
  } finally {
    await ca.stop();
  }
}

/** `lkp-host-agent accounts apply` on `root` ('/' is the live system) with the CA's current answer. */
async function applyAccounts(root: string, caUrl = stack.caUrl) {
  const file = join(stack.dir, 'accounts.json');
  writeFileSync(file, await accountsAnswer(caUrl));
  return runProgram('/bin/bash', [AGENT, 'accounts', 'apply', file], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...(root === '/' ? {} : { LKP_HOST_ROOT: root }) },
    timeout: 60_000,
  });
}

async function userCertificate(who: string, sshUsername: string, keyName: string) {
  const key = await generateKeyPair(stack.dir, keyName);
  const cert = await requestCertificate(stack.caUrl, info, principal(userArn(who)).credentials, {
    Kind: 'User',
    PublicKey: key.publicKey,
    RemoteInstanceArn: LOCAL_INSTANCE_ARN,
    SshUsername: sshUsername,
  });
  const certificatePath = `${key.privatePath}-cert.pub`;
  writeFileSync(certificatePath, `${cert.Certificate}\n`);
  return { cert, keyPath: key.privatePath, certificatePath };
}

beforeAll(async () => {
  stack = await startLocalStack({
    extraPrincipals: [{ arn: userArn(JANE_IAM) }, { arn: userArn(REAL) }],
    caEnv: { LKP_PERSONAL_ACCOUNTS: 'true', LKP_ACCOUNT_GROUPS: `developers,${REAL_GROUP}` },
  });
  info = await fetchCaInfo(stack.caUrl);
  stack.iam.setGroups({ developers: [JANE_IAM], [REAL_GROUP]: [REAL] });
  tempRoot = makeAccountsRoot();
});

afterAll(async () => {
  rmSync(tempRoot, { recursive: true, force: true });
  await stack?.close();
});

describe('personal accounts: the host agent and the CA agree on the name', () => {
  it.skipIf(!isRoot)('gives IAM user jane.doe@example.com the account jane.doe.at.example.com', async () => {
    const run = await applyAccounts(tempRoot);
    expect(run.code).toBe(0);
    expect(readEtc(tempRoot, 'passwd')).toMatch(new RegExp(`^${JANE}:x:`, 'm'));
    expect(readEtc(tempRoot, 'group')).toMatch(new RegExp(`^lkp_developers:x:\\d+:${JANE}$`, 'm'));
  });

  it('signs jane’s certificate for her own account only', async () => {
    const own = await userCertificate(JANE_IAM, JANE, 'jane_own');
    expect(own.cert.Principals).toEqual([`${JANE}@${LOCAL_INSTANCE_ARN}`]);

    const refused = userCertificate(JANE_IAM, 'ec2-user', 'jane_other');
    await expect(refused).rejects.toBeInstanceOf(CaRequestError);
    await expect(refused).rejects.toMatchObject({
      code: 'Forbidden',
      message: expect.stringContaining(`log in as ${JANE}, not ec2-user`),
    });
    await expect(userCertificate(JANE_IAM, REAL, 'jane_real')).rejects.toMatchObject({ code: 'Forbidden' });
  });
});

describe.skipIf(realAccountsReason !== undefined)(
  `login to a real sshd with an account from the CA (${realAccountsReason ?? 'root, no lkp state here'})`,
  () => {
    let instance: LocalInstance;
    const ownedByLkp = (kind: 'user' | 'group') =>
      existsSync(STATE)
        ? readFileSync(STATE, 'utf8')
            .split('\n')
            .filter((l) => l.startsWith(`${kind} `))
            .map((l) => l.split(' ')[1] ?? '')
        : [];

    beforeAll(async () => {
      expect(accountExists(REAL)).toBe(false);
      instance = await startLocalInstance(stack, info, REAL);
      // sshd reads the principals file as the login user: let it through the private temp folder.
      chmodSync(stack.dir, 0o711);
    });

    afterAll(async () => {
      await instance?.sshd.close();
      // Remove exactly what the agent recorded as its own, then the record it wrote.
      for (const user of ownedByLkp('user')) execFileSync('userdel', ['--remove', user], { stdio: 'ignore' });
      for (const group of ownedByLkp('group')) execFileSync('groupdel', [group], { stdio: 'ignore' });
      if (accountExists(REAL)) execFileSync('userdel', ['--remove', REAL], { stdio: 'ignore' });
      rmSync(STATE, { force: true });
      if (!lkpStateDirExisted && existsSync('/var/lib/lkp')) rmdirSync('/var/lib/lkp');
    });

    it('lets the person in with a certificate for their own account, and locks them out once removed', async () => {
      // Only the real account on this machine: jane stays out of it.
      stack.iam.setGroups({ developers: [], [REAL_GROUP]: [REAL] });
      const created = await withFreshCa((url) => applyAccounts('/', url));
      expect(created.code).toBe(0);
      expect(accountExists(REAL)).toBe(true);
      expect(ownedByLkp('user')).toContain(REAL);

      const { keyPath, certificatePath } = await userCertificate(REAL, REAL, 'real_user');
      const login = loginFor(instance, REAL, keyPath, certificatePath);
      const inside = await trySsh(login, ['id', '-un']);
      expect(inside).toMatchObject({ ok: true, stdout: `${REAL}\n` });

      stack.iam.setGroups({ developers: [], [REAL_GROUP]: [] });
      const removed = await withFreshCa((url) => applyAccounts('/', url));
      expect(removed.stderr).toContain(`locked user ${REAL} (left the IAM groups)`);

      const outside = await trySsh(login, ['id', '-un']);
      expect(outside.ok).toBe(false);
      expect(outside.stderr).toMatch(/Permission denied/);
      expect(instance.sshd.log()).toMatch(
        new RegExp(`User ${REAL} not allowed because account is locked|account has expired`),
      );
    });
  },
);

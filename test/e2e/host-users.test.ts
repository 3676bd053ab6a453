/**
 * Personal unix accounts end to end (issue 9): IAM group members (IAM stand-in) become accounts
 * (`lkp host sync-users`), the CA with LKP_PERSONAL_ACCOUNTS signs each person only for their own
 * account, a real sshd lets them in, and removal from the group locks them out.
 *
 * sshd cannot read a temp passwd, so the login part creates one real, uniquely named account with
 * root `/`, only on a machine with no lkp account state, and removes it afterwards.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOwnership, OWNERSHIP_PATH } from '../../client/lib/host/users/accounts.js';
import { iamClient } from '../../client/lib/host/users/iam.js';
import { SUDOERS_PATH } from '../../client/lib/host/users/sudoers.js';
import { syncUsers } from '../../client/lib/host/users/sync.js';
import { fetchCaInfo, requestCertificate } from '../../client/lib/certificates.js';
import { CaRequestError } from '../../client/lib/ca-client.js';
import { startIamStandin, type IamStandin } from '../../src/local/iam-standin.js';
import { loginFor, startLocalInstance, trySsh, type LocalInstance } from '../../src/local/instance.js';
import { findSshd, generateKeyPair } from '../../src/local/openssh.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_INSTANCE_ARN,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';
import type { LocalPrincipal } from '../../src/local/sts-standin.js';
import type { InfoResponse } from '../../src/protocol.js';
import { isRoot, makeAccountsRoot, readEtc } from '../helpers/accounts-root.js';

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
/** The real-account part runs only where it cannot disturb real lkp state or accounts. */
const realAccountsReason = !isRoot
  ? 'needs root to create a real account for sshd'
  : findSshd() === undefined
    ? 'needs OpenSSH sshd'
    : existsSync(`/${OWNERSHIP_PATH}`) || existsSync(`/${SUDOERS_PATH}`)
      ? `this machine has lkp account state (/${OWNERSHIP_PATH}); not touching it`
      : undefined;
const lkpStateDirExisted = existsSync('/var/lib/lkp');

let stack: LocalStack;
let info: InfoResponse;
let iam: IamStandin;
let tempRoot: string;

const principal = (arn: string): LocalPrincipal => {
  const p = stack.sts.principals.find((x) => x.arn === arn);
  if (p === undefined) throw new Error(`no local principal ${arn}`);
  return p;
};
const iamSource = () => iamClient({ region: iam.region, endpoint: iam.url, credentials: iam.credentials });

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
    caEnv: { LKP_PERSONAL_ACCOUNTS: 'true' },
  });
  info = await fetchCaInfo(stack.caUrl);
  iam = await startIamStandin({
    account: LOCAL_ACCOUNT,
    groups: { developers: [JANE_IAM], [REAL_GROUP]: [REAL] },
  });
  tempRoot = makeAccountsRoot();
});

afterAll(async () => {
  rmSync(tempRoot, { recursive: true, force: true });
  await iam?.close();
  await stack?.close();
});

describe('personal accounts: sync and the CA agree on the name', () => {
  it.skipIf(!isRoot)('gives IAM user jane.doe@example.com the account jane.doe.at.example.com', async () => {
    const report = await syncUsers({
      iam: iamSource(),
      root: tempRoot,
      iamGroups: ['developers'],
      sudoGroups: [],
      groupPrefix: 'lkp_',
      deleteRemoved: false,
    });
    expect(report.failed).toBe(false);
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
  `login to a real sshd with a synced account (${realAccountsReason ?? 'root, no lkp state here'})`,
  () => {
    let instance: LocalInstance;
    const syncReal = () =>
      syncUsers({
        iam: iamSource(),
        root: '/',
        iamGroups: [REAL_GROUP],
        sudoGroups: [],
        groupPrefix: 'lkp_',
        deleteRemoved: false,
      });

    beforeAll(async () => {
      expect(accountExists(REAL)).toBe(false);
      instance = await startLocalInstance(stack, info, REAL);
      // sshd reads the principals file as the login user: let it through the private temp folder.
      chmodSync(stack.dir, 0o711);
    });

    afterAll(async () => {
      await instance?.sshd.close();
      // Remove exactly what the sync recorded as its own, then the record it wrote.
      const owned = loadOwnership('/');
      for (const user of Object.keys(owned.users))
        execFileSync('userdel', ['--remove', user], { stdio: 'ignore' });
      for (const group of owned.groups) execFileSync('groupdel', [group], { stdio: 'ignore' });
      if (accountExists(REAL)) execFileSync('userdel', ['--remove', REAL], { stdio: 'ignore' });
      rmSync(`/${OWNERSHIP_PATH}`, { force: true });
      if (!lkpStateDirExisted && existsSync('/var/lib/lkp')) rmdirSync('/var/lib/lkp');
    });

    it('lets the person in with a certificate for their own account, and locks them out once removed', async () => {
      await syncReal();
      expect(accountExists(REAL)).toBe(true);
      expect(loadOwnership('/').users).toEqual({ [REAL]: { iamUser: REAL } });

      const { keyPath, certificatePath } = await userCertificate(REAL, REAL, 'real_user');
      const login = loginFor(instance, REAL, keyPath, certificatePath);
      const inside = await trySsh(login, ['id', '-un']);
      expect(inside).toMatchObject({ ok: true, stdout: `${REAL}\n` });

      iam.setGroups({ developers: [JANE_IAM], [REAL_GROUP]: [] });
      const report = await syncReal();
      expect(report.results.map((r) => r.action)).toContainEqual({ kind: 'lockUser', user: REAL });

      const outside = await trySsh(login, ['id', '-un']);
      expect(outside.ok).toBe(false);
      expect(outside.stderr).toMatch(/Permission denied/);
      expect(instance.sshd.log()).toMatch(
        new RegExp(`User ${REAL} not allowed because account is locked|account has expired`),
      );
    });
  },
);

/**
 * Identity confusion through the real transport (DESIGN §3.1 ARN grammar, §3.4 host rule): the
 * same role or user name in another account or partition, role session names that imitate an
 * instance id or a user name, federated users. Two accounts are allowed and personal accounts are
 * on, so the account check and the built-in policy are not what stops these: the named rule is.
 *
 * A role session name is chosen by whoever calls sts:AssumeRole, so for an instance in the CA's
 * account the session's role must also be the instance profile's role (by role id and name). The
 * user-certificate tests pin down what the CA *does* accept; docs/security.md says what that implies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { buildIdentityProof } from '../../client/lib/proof.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_INSTANCE_ARN,
  LOCAL_INSTANCE_ID,
  LOCAL_INSTANCE_ROLE,
  LOCAL_INSTANCES,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';
import type { LocalPrincipal } from '../../src/local/sts-standin.js';
import type { InfoResponse } from '../../src/protocol.js';
import {
  ed25519PublicKey,
  expectNoSecretsIn,
  expectRefused,
  fingerprint,
  postCa,
  principalSecrets,
} from '../helpers/attack.js';

const OTHER_ACCOUNT = '444455556666';
const sts = (account: string, resource: string, partition = 'aws') =>
  `arn:${partition}:sts::${account}:${resource}`;

const SAME_ROLE_OTHER_ACCOUNT = sts(OTHER_ACCOUNT, `assumed-role/lkp-demo-instance/${LOCAL_INSTANCE_ID}`);
const SAME_ROLE_OTHER_PARTITION = sts(
  LOCAL_ACCOUNT,
  `assumed-role/lkp-demo-instance/${LOCAL_INSTANCE_ID}`,
  'aws-us-gov',
);
const OTHER_ROLE_INSTANCE_SESSION = sts(LOCAL_ACCOUNT, `assumed-role/developer/${LOCAL_INSTANCE_ID}`);
const UPPER_CASE_SESSION = sts(
  LOCAL_ACCOUNT,
  `assumed-role/lkp-demo-instance/${LOCAL_INSTANCE_ID.toUpperCase()}`,
);
const SUFFIXED_SESSION = sts(LOCAL_ACCOUNT, `assumed-role/lkp-demo-instance/${LOCAL_INSTANCE_ID}.x`);
const USER_NAMED_LIKE_INSTANCE = `arn:aws:iam::${LOCAL_ACCOUNT}:user/${LOCAL_INSTANCE_ID}`;
const FEDERATED_NAMED_LIKE_INSTANCE = sts(LOCAL_ACCOUNT, `federated-user/${LOCAL_INSTANCE_ID}`);
const OTHER_INSTANCE_ID = 'i-0fedcba9876543210';
/** An instance in the CA's account without an instance profile. */
const NO_PROFILE_ID = 'i-0aaaaaaaaaaaaaaaa';
const NO_PROFILE_ARN = LOCAL_INSTANCE_ARN.replace(LOCAL_INSTANCE_ID, NO_PROFILE_ID);
const instanceRoleSession = (instanceId: string) =>
  sts(LOCAL_ACCOUNT, `assumed-role/${LOCAL_INSTANCE_ROLE.roleName}/${instanceId}`);
/** The instance profile's role: the right role id and name. */
const RIGHT_ROLE_OTHER_INSTANCE = instanceRoleSession(OTHER_INSTANCE_ID);
const RIGHT_ROLE_NO_PROFILE_INSTANCE = instanceRoleSession(NO_PROFILE_ID);
/** Same ARN as the stack's host, but a role of that name deleted and re-created: another role id. */
const RECREATED_ROLE_SESSION = instanceRoleSession(LOCAL_INSTANCE_ID);
const SESSION_NAMED_ALICE = sts(LOCAL_ACCOUNT, 'assumed-role/developer/alice');
const ALICE_IN_OTHER_ACCOUNT = `arn:aws:iam::${OTHER_ACCOUNT}:user/alice`;
const FEDERATED_ALICE = sts(LOCAL_ACCOUNT, 'federated-user/alice');
const ALICE_WITH_PATH = `arn:aws:iam::${LOCAL_ACCOUNT}:user/contractors/alice`;

let stack: LocalStack;
let info: InfoResponse;
const publicKey = ed25519PublicKey();

beforeAll(async () => {
  stack = await startLocalStack({
    caEnv: {
      LKP_ALLOWED_ACCOUNTS: `${LOCAL_ACCOUNT},${OTHER_ACCOUNT}`,
      LKP_PERSONAL_ACCOUNTS: 'true',
      // Every caller of the allowed accounts, so that the personal-account mapping is what decides.
      LKP_ALLOW: 'arn:aws:iam::*=* arn:aws:sts::*=*',
    },
    extraPrincipals: [
      ...[
        SAME_ROLE_OTHER_ACCOUNT,
        SAME_ROLE_OTHER_PARTITION,
        OTHER_ROLE_INSTANCE_SESSION,
        UPPER_CASE_SESSION,
        SUFFIXED_SESSION,
        USER_NAMED_LIKE_INSTANCE,
        FEDERATED_NAMED_LIKE_INSTANCE,
        SESSION_NAMED_ALICE,
        ALICE_IN_OTHER_ACCOUNT,
        FEDERATED_ALICE,
        ALICE_WITH_PATH,
      ].map((arn) => ({ arn })),
      ...[RIGHT_ROLE_OTHER_INSTANCE, RIGHT_ROLE_NO_PROFILE_INSTANCE].map((arn) => ({
        arn,
        roleId: LOCAL_INSTANCE_ROLE.roleId,
      })),
      { arn: RECREATED_ROLE_SESSION },
    ],
  });
  stack.ec2.setInstances([...LOCAL_INSTANCES, { instanceId: NO_PROFILE_ID, privateIp: '127.0.0.2' }]);
  info = await fetchCaInfo(stack.caUrl);
});
afterAll(async () => stack?.close());

/** The local principal with this ARN (the last one: extra principals may repeat the host's ARN). */
function principal(arn: string): LocalPrincipal {
  const found = stack.sts.principals.filter((p) => p.arn === arn).pop();
  if (!found) throw new Error(`no local principal ${arn}`);
  return found;
}

function proofBy(who: LocalPrincipal) {
  return buildIdentityProof({
    stsEndpoint: info.StsEndpoint,
    region: info.StsRegion,
    serverId: info.ServerId,
    keyFingerprint: fingerprint(publicKey),
    credentials: who.credentials,
  });
}

const hostRequest = (who: LocalPrincipal, hostInstanceArn = LOCAL_INSTANCE_ARN, principals: string[] = []) =>
  postCa(stack.caUrl, {
    Kind: 'Host',
    Identity: proofBy(who),
    PublicKey: publicKey,
    HostInstanceArn: hostInstanceArn,
    Principals: principals,
  });

const userRequest = (who: LocalPrincipal, sshUsername: string) =>
  postCa(stack.caUrl, {
    Kind: 'User',
    Identity: proofBy(who),
    PublicKey: publicKey,
    RemoteInstanceArn: LOCAL_INSTANCE_ARN,
    SshUsername: sshUsername,
  });

/** The audit line of the last decision for `caller`. */
function lastAuditFor(caller: string): Record<string, unknown> | undefined {
  return stack
    .caOutput()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.caller === caller)
    .pop();
}

describe('host certificates (DESIGN §3.4: only the instance own role session)', () => {
  it('issues the instance its own certificate, with only the names EC2 confirms', async () => {
    const answer = await hostRequest(stack.host, LOCAL_INSTANCE_ARN, [
      '127.0.0.1',
      'localhost',
      'evil.example',
      '10.9.9.9',
    ]);
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json.Principals).toEqual([LOCAL_INSTANCE_ARN, '127.0.0.1', 'localhost']);
    expect(answer.json.KeyId).toBe(LOCAL_INSTANCE_ARN);
  });

  const impostors: [string, () => LocalPrincipal][] = [
    ['the same role and session name in another (allowed) account', () => principal(SAME_ROLE_OTHER_ACCOUNT)],
    ['the same role and session name in another partition', () => principal(SAME_ROLE_OTHER_PARTITION)],
    ['a session named like the instance id in upper case', () => principal(UPPER_CASE_SESSION)],
    ['a session whose name only starts with the instance id', () => principal(SUFFIXED_SESSION)],
    ['an IAM user named like the instance id', () => principal(USER_NAMED_LIKE_INSTANCE)],
    ['a federated user named like the instance id', () => principal(FEDERATED_NAMED_LIKE_INSTANCE)],
    ['an IAM user', () => stack.user],
  ];
  it.each(impostors)('refuses %s', async (_, who) => {
    expectRefused(await hostRequest(who(), LOCAL_INSTANCE_ARN, ['127.0.0.1']), [403]);
  });

  it("refuses an instance asking for another instance's certificate", async () => {
    const other = LOCAL_INSTANCE_ARN.replace(LOCAL_INSTANCE_ID, 'i-0fedcba9876543210');
    expectRefused(await hostRequest(stack.host, other), [403]);
  });

  it('refuses an instance asking for its own id in another account or partition', async () => {
    const otherAccount = LOCAL_INSTANCE_ARN.replace(LOCAL_ACCOUNT, OTHER_ACCOUNT);
    const otherPartition = LOCAL_INSTANCE_ARN.replace('arn:aws:', 'arn:aws-us-gov:').replace(
      'us-east-1',
      'us-gov-west-1',
    );
    expectRefused(await hostRequest(stack.host, otherAccount), [403]);
    expectRefused(await hostRequest(stack.host, otherPartition), [403]);
  });

  it('refuses another role whose session is named after the instance, naming both roles', async () => {
    // Whoever may call sts:AssumeRole on any role of the account picks the session name, so
    // assumed-role/developer/i-… passes the session rule; the instance profile's role does not match.
    const who = principal(OTHER_ROLE_INSTANCE_SESSION);
    const answer = await hostRequest(who);
    expectRefused(answer, [403]);
    const message = String((answer.json.Error as { Message?: unknown }).Message);
    expect(message).toContain(
      `instance profile role ${LOCAL_INSTANCE_ROLE.roleName} (id ${LOCAL_INSTANCE_ROLE.roleId})`,
    );
    expect(message).toContain('role developer');
    expect(lastAuditFor(who.arn)).toMatchObject({ decision: 'deny', kind: 'Host', caller: who.arn });
  });

  it('refuses a session of a re-created role of the same name (another role id)', async () => {
    const who = principal(RECREATED_ROLE_SESSION);
    expect(who).not.toBe(stack.host);
    expect(who.userId.split(':')[0]).not.toBe(LOCAL_INSTANCE_ROLE.roleId);
    expectRefused(await hostRequest(who), [403]);
  });

  it('refuses a session of the instance profile role named after another instance', async () => {
    expectRefused(await hostRequest(principal(RIGHT_ROLE_OTHER_INSTANCE)), [403]);
  });

  it('refuses an instance of the account that has no instance profile', async () => {
    const answer = await hostRequest(principal(RIGHT_ROLE_NO_PROFILE_INSTANCE), NO_PROFILE_ARN);
    expectRefused(answer, [403]);
    expect(String((answer.json.Error as { Message?: unknown }).Message)).toContain(
      `instance ${NO_PROFILE_ID} has no instance profile`,
    );
  });

  it("accepts the instance's own session of its instance profile role", async () => {
    const answer = await hostRequest(stack.host);
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json.KeyId).toBe(LOCAL_INSTANCE_ARN);
    expect(stack.host.userId).toBe(`${LOCAL_INSTANCE_ROLE.roleId}:${LOCAL_INSTANCE_ID}`);
    expect(stack.iam.actions()).toContain('GetInstanceProfile');
  });
});

describe('user certificates under personal accounts (login name derived from the verified ARN)', () => {
  it('lets alice log in as alice and not as root', async () => {
    const ok = await userRequest(stack.user, 'alice');
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect(ok.json.Principals).toEqual([`alice@${LOCAL_INSTANCE_ARN}`]);
    expectRefused(await userRequest(stack.user, 'root'), [403]);
    expectRefused(await userRequest(stack.user, 'ec2-user'), [403]);
  });

  // Each of these becomes POSIX "alice": the certificate's KeyId keeps them apart in sshd's log,
  // but on the host they share one account. docs/security.md says so; these tests pin it down.
  const alikes: [string, string][] = [
    ['a role session named alice', SESSION_NAMED_ALICE],
    ['alice of another allowed account', ALICE_IN_OTHER_ACCOUNT],
    ['a federated user named alice', FEDERATED_ALICE],
    ['an IAM user alice under another path', ALICE_WITH_PATH],
  ];
  it.each(alikes)('maps %s to the login alice, with its own ARN as KeyId', async (_, arn) => {
    const answer = await userRequest(principal(arn), 'alice');
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json.KeyId).toBe(arn);
    expect(answer.json.Principals).toEqual([`alice@${LOCAL_INSTANCE_ARN}`]);
  });

  it('never lets a session name choose a login other than its own', async () => {
    expectRefused(await userRequest(principal(SESSION_NAMED_ALICE), 'root'), [403]);
    expectRefused(await userRequest(principal(OTHER_ROLE_INSTANCE_SESSION), 'alice'), [403]);
  });
});

describe('logging (DESIGN §5)', () => {
  it('wrote no Authorization value, signature, session token or secret key', () => {
    expectNoSecretsIn(stack.caOutput(), principalSecrets(stack.sts.principals));
  });
});

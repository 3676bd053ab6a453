import { describe, expect, it } from 'vitest';
import { globMatch, parseAllowRules } from '../../../src/authorize/allow.js';
import { builtinPolicy } from '../../../src/authorize/builtin.js';
import { LkpError } from '../../../src/errors.js';
import type { LkpIdentity } from '../../../src/protocol.js';
import { ALICE, INSTANCE_ARN, INSTANCE_SESSION } from '../../helpers/identities.js';

const ARN = INSTANCE_ARN;
const ACCOUNTS = ['111122223333'];
const rules = (text: string) => {
  const problems: string[] = [];
  const parsed = parseAllowRules(text, problems);
  expect(problems).toEqual([]);
  return parsed;
};
const policyFor = (allow: string) => builtinPolicy({ allowedAccounts: ACCOUNTS, allow: rules(allow) });
const policy = policyFor('arn:aws:iam::111122223333:user/*=*');

const SSO_ADMIN: LkpIdentity = {
  Arn: 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123abcd/jane@example.com',
  Account: '111122223333',
  Id: 'AROAEXAMPLE:jane@example.com',
  Type: 'AssumedRole',
  RoleName: 'AWSReservedSSO_Admin_0123abcd',
  SessionName: 'jane@example.com',
};

const userRequest = (RemoteInstanceArn: string, SshUsername = 'ec2-user', From: LkpIdentity = ALICE) =>
  ({
    Kind: 'LkpUserCertAuthorizationRequest',
    From,
    RemoteInstanceArn,
    SshUsername,
    PublicKeyFingerprint: 'SHA256:x',
  }) as const;

const forbiddenWith = (message: RegExp) => ({ code: 'Forbidden', message: expect.stringMatching(message) });

describe('builtinPolicy', () => {
  it('grants <user>@<instance ARN> with pty and port forwarding only (DESIGN §3.4)', async () => {
    await expect(policy.authorizeUser(userRequest(ARN))).resolves.toEqual({
      principals: [`ec2-user@${ARN}`],
      criticalOptions: {},
      extensions: ['permit-port-forwarding', 'permit-pty'],
    });
  });

  it('refuses instances in accounts this CA does not serve', async () => {
    const foreign = 'arn:aws:ec2:us-east-1:444455556666:instance/i-0123456789abcdef0';
    const denial = policy.authorizeUser(userRequest(foreign));
    await expect(denial).rejects.toBeInstanceOf(LkpError);
    await expect(denial).rejects.toMatchObject(forbiddenWith(/account 444455556666/));
  });

  it('gives a host certificate the instance ARN alone, never names it cannot confirm', async () => {
    const grant = await policy.authorizeHost({
      Kind: 'LkpHostCertAuthorizationRequest',
      From: INSTANCE_SESSION,
      HostInstanceArn: ARN,
      Principals: ['evil.example.com'],
    });
    expect(grant).toEqual({ principals: [ARN], criticalOptions: {}, extensions: [] });
  });
});

describe('builtinPolicy grants only what LKP_ALLOW names (DESIGN §3.4)', () => {
  it('grants nothing when nothing is named, and says so', async () => {
    const none = builtinPolicy({ allowedAccounts: ACCOUNTS, allow: [] });
    for (const [who, login] of [
      [ALICE, 'ec2-user'],
      [SSO_ADMIN, 'ubuntu'],
      [INSTANCE_SESSION, 'ec2-user'],
    ] as const)
      await expect(none.authorizeUser(userRequest(ARN, login, who))).rejects.toMatchObject(
        forbiddenWith(/grants no logins yet.*LKP_ALLOW/),
      );
  });

  it('grants an SSO permission set its logins, and nobody else anything', async () => {
    const sso = policyFor('arn:aws:sts::*:assumed-role/AWSReservedSSO_Admin_*/*=ec2-user,ubuntu');
    await expect(sso.authorizeUser(userRequest(ARN, 'ubuntu', SSO_ADMIN))).resolves.toMatchObject({
      principals: [`ubuntu@${ARN}`],
    });
    await expect(sso.authorizeUser(userRequest(ARN, 'admin', SSO_ADMIN))).rejects.toMatchObject(
      forbiddenWith(/may not log in as admin/),
    );
    await expect(sso.authorizeUser(userRequest(ARN, 'ec2-user', ALICE))).rejects.toMatchObject(
      forbiddenWith(/user\/alice is not named in this CA's LKP_ALLOW/),
    );
  });

  it('refuses root unless a rule lists root itself: "*" is every login but root', async () => {
    await expect(policy.authorizeUser(userRequest(ARN, 'root'))).rejects.toMatchObject(
      forbiddenWith(/may not log in as root/),
    );
    const named = policyFor('arn:aws:iam::111122223333:user/alice=ec2-user,root');
    await expect(named.authorizeUser(userRequest(ARN, 'root'))).resolves.toMatchObject({
      principals: [`root@${ARN}`],
    });
  });

  it("refuses an instance's role session unless a pattern names i-… sessions", async () => {
    for (const allow of [
      'arn:aws:sts::111122223333:assumed-role/*/*=*',
      'arn:*=*',
      'arn:aws:sts::*:*=ec2-user',
    ])
      await expect(
        policyFor(allow).authorizeUser(userRequest(ARN, 'ec2-user', INSTANCE_SESSION)),
      ).rejects.toMatchObject(forbiddenWith(/instance's role session/));
    const named = policyFor('arn:aws:sts::111122223333:assumed-role/web/i-*=ec2-user');
    await expect(named.authorizeUser(userRequest(ARN, 'ec2-user', INSTANCE_SESSION))).resolves.toMatchObject({
      principals: [`ec2-user@${ARN}`],
    });
  });

  it('never lists the rules in a denial', async () => {
    const secret = policyFor('arn:aws:iam::111122223333:user/ops-*=deploy');
    const denial = await secret.authorizeUser(userRequest(ARN, 'deploy')).catch((e: Error) => e.message);
    expect(denial).not.toContain('ops-');
  });
});

describe('LKP_ALLOW rules', () => {
  it('split at the last "=", so role and session names may contain "="', () => {
    expect(rules('arn:aws:sts::1:assumed-role/a=b/*=ec2-user,ubuntu')).toEqual([
      { pattern: 'arn:aws:sts::1:assumed-role/a=b/*', logins: ['ec2-user', 'ubuntu'] },
    ]);
  });

  it('name every malformed rule', () => {
    const problems: string[] = [];
    parseAllowRules('arn:x=ec2-user alice=ec2-user arn:y=Bad!Login arn:z', problems);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/LKP_ALLOW rule "alice=ec2-user" must be <ARN pattern>=<login>/);
  });

  it.each([
    ['arn:aws:iam::*:user/*', 'arn:aws:iam::111122223333:user/path/alice', true],
    ['arn:aws:iam::1:user/alice', 'arn:aws:iam::1:user/alice', true],
    ['arn:aws:iam::1:user/alice', 'arn:aws:iam::1:user/alice2', false],
    ['arn:*:x*y*z', 'arn:aws:xyz', true],
    ['arn:*:x*y*z', 'arn:aws:xzy', false],
    ['a*a', 'a', false],
  ])('glob %s ~ %s is %s', (pattern, text, expected) => {
    expect(globMatch(pattern, text)).toBe(expected);
  });
});

import { describe, expect, it } from 'vitest';
import {
  ADMIN_USER,
  DEV_REGION_PREFIX,
  lastKeypairPolicy,
  MAIN_ACCOUNT,
  PARTY_HOST,
  SAML_ROLE_ID,
  SAML_SESSION_NAME,
  SUPPORT_ACCOUNT,
  WORK_HOURS_USER,
} from '../../../../authorizers/examples/lastkeypair-port.js';
import { invokeHandler } from '../../../../authorizers/sdk/invoke.js';
import { sampleRequest } from '../../../../authorizers/sdk/sample-request.js';
import { at } from '../fixtures.js';

const TARGET = `arn:aws:ec2:ap-southeast-2:${MAIN_ACCOUNT}:instance/i-0abcdef1234567890`;
const DAY = at(10);
const NIGHT = at(20);

function decide(from: string | Record<string, unknown>, now: Date, target = TARGET) {
  const req = sampleRequest({ From: from, RemoteInstanceArn: target, SshUsername: 'ec2-user' });
  return lastKeypairPolicy(() => now)(req);
}

const user = (name: string, account = MAIN_ACCOUNT) => `arn:aws:iam::${account}:user/${name}`;
const samlSession = (session: string, roleId = SAML_ROLE_ID) => ({
  Arn: `arn:aws:sts::${MAIN_ACCOUNT}:assumed-role/SamlDevelopers/${session}`,
  Account: MAIN_ACCOUNT,
  Id: `${roleId}:${session}`,
  Type: 'AssumedRole',
  RoleName: 'SamlDevelopers',
  SessionName: session,
});
const ALLOW = { Authorized: true };
const DENY = { Authorized: false, Reason: 'no rule allows this caller here' };

describe('the LastKeypair example, ported', () => {
  it.each([
    ['the admin, at night', user(ADMIN_USER), NIGHT, ALLOW],
    ['the admin name in the support account, at work', user(ADMIN_USER, SUPPORT_ACCOUNT), DAY, DENY],
    ['the work-hours user at 10:30', user(WORK_HOURS_USER), DAY, ALLOW],
    ['the work-hours user at 20:30', user(WORK_HOURS_USER), NIGHT, DENY],
    ['the work-hours user at 17:30 (the end is exclusive)', user(WORK_HOURS_USER), at(17), DENY],
    [
      'a support-account role at night',
      `arn:aws:sts::${SUPPORT_ACCOUNT}:assumed-role/Support/pat`,
      NIGHT,
      ALLOW,
    ],
    ['a support-account user at 08:30', user('pat', SUPPORT_ACCOUNT), at(8), ALLOW],
    ['a support-account user at work', user('pat', SUPPORT_ACCOUNT), DAY, DENY],
    ['the SAML session', samlSession(SAML_SESSION_NAME), DAY, ALLOW],
    ['another SAML session', samlSession('someone.else@example.com'), DAY, DENY],
    ['the same session name on another role', samlSession(SAML_SESSION_NAME, 'AROAOTHERROLE'), DAY, DENY],
    ['an unknown main-account user', user('stranger'), DAY, DENY],
  ])('%s → %j', async (_, from, now, expected) => {
    await expect(decide(from, now)).resolves.toEqual(expected);
  });

  it('lets anyone onto the party host', async () => {
    await expect(decide(user('stranger', SUPPORT_ACCOUNT), DAY, PARTY_HOST)).resolves.toEqual(ALLOW);
  });

  it('lets anyone into the dev region of the main account, and only that account', async () => {
    await expect(
      decide(user('stranger'), DAY, `${DEV_REGION_PREFIX}instance/i-0123456789abcdef0`),
    ).resolves.toEqual(ALLOW);
    // The original's prefix (no trailing ':') also matched account 98765432109 8X…: not any more.
    const lookalike = `arn:aws:ec2:us-east-1:${MAIN_ACCOUNT.slice(0, 11)}9:instance/i-0123456789abcdef0`;
    await expect(decide(user('stranger'), DAY, lookalike)).resolves.toEqual(DENY);
  });

  it('allows a host only from its own role session', async () => {
    const hostReq = (session: string) =>
      sampleRequest({
        From: `arn:aws:sts::${MAIN_ACCOUNT}:assumed-role/web/${session}`,
        HostInstanceArn: TARGET,
      });
    await expect(lastKeypairPolicy()(hostReq('i-0abcdef1234567890'))).resolves.toEqual(ALLOW);
    await expect(lastKeypairPolicy()(hostReq('i-0fffffffffffffff0'))).resolves.toEqual({ Authorized: false });
  });

  it('lets only the main-account admin lock and unlock', async () => {
    const admin = (from: string, Action: string) =>
      lastKeypairPolicy(() => DAY)({
        Kind: 'LkpAdminAuthorizationRequest',
        From: sampleRequest({ From: from, HostInstanceArn: TARGET }).From,
        Action,
        ...(Action === 'Unlock' ? { LockId: 'lk-0123456789abcdef' } : {}),
      });
    await expect(admin(user(ADMIN_USER), 'Unlock')).resolves.toEqual(ALLOW);
    await expect(admin(user(ADMIN_USER), 'Locks')).resolves.toEqual(ALLOW);
    const denied = { Authorized: false, Reason: 'only the main-account admin may lock or unlock' };
    await expect(admin(user(ADMIN_USER, SUPPORT_ACCOUNT), 'Unlock')).resolves.toEqual(denied);
    await expect(admin(user(WORK_HOURS_USER), 'Locks')).resolves.toEqual(denied);
  });
});

describe("the original's callback bug", () => {
  /** The original's shape: the answer is passed as the callback's first argument, which is the error. */
  const original = (
    event: unknown,
    _context: unknown,
    callback: (error?: unknown, result?: unknown) => void,
  ) => {
    const from = (event as { From: { Account: string } }).From;
    if (from.Account === MAIN_ACCOUNT) callback({ authorized: true });
    callback({ authorized: false });
  };

  it('does not even run on nodejs24.x, which refuses callback handlers', async () => {
    const req = sampleRequest({ From: user(ADMIN_USER), RemoteInstanceArn: TARGET, SshUsername: 'ec2-user' });
    await expect(invokeHandler(original, req, 1000)).rejects.toThrow(/Runtime\.CallbackHandlerDeprecated/);
  });

  it('is fixed in the port, whose handler answers through its promise', async () => {
    const req = sampleRequest({ From: user(ADMIN_USER), RemoteInstanceArn: TARGET, SshUsername: 'ec2-user' });
    await expect(invokeHandler(lastKeypairPolicy(), req, 1000)).resolves.toEqual(ALLOW);
  });
});

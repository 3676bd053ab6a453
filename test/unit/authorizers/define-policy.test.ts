import { describe, expect, it, vi } from 'vitest';
import { isIamUser } from '../../../authorizers/sdk/checks.js';
import { allowAdmins, definePolicy, deny } from '../../../authorizers/sdk/define-policy.js';
import { judgeAdminAnswer, judgeAnswer, PolicyAnswerError } from '../../../authorizers/sdk/answer.js';
import { PolicyRequestError } from '../../../authorizers/sdk/parse-request.js';
import { hostRequest, INSTANCE_ARN, INSTANCE_ID, roleArn, userArn, userRequest } from './fixtures.js';

const user = userRequest(userArn('alice'), { SourceIp: '203.0.113.7' });
const host = hostRequest(roleArn('web', INSTANCE_ID));
const allowAll = definePolicy({ user: () => ({ Authorized: true }), host: () => ({ Authorized: true }) });

/** The user request as JSON, with one field replaced (or removed when value is undefined). */
function userEvent(path: string[], value: unknown): unknown {
  const event = structuredClone(user) as unknown as Record<string, unknown>;
  let node = event;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return event;
}

describe('definePolicy input', () => {
  it('hands a valid request to the rule for its Kind', async () => {
    const rule = vi.fn(() => ({ Authorized: true }));
    await definePolicy({ user: rule })(JSON.parse(JSON.stringify(user)));
    expect(rule).toHaveBeenCalledWith(user);
  });

  it.each([
    ['a non-object event', null, /the event must be a JSON object/],
    ['an array', [], /the event must be a JSON object/],
    ['an unknown Kind', { ...user, Kind: 'User' }, /Kind must be "LkpUserCertAuthorizationRequest", /],
    ['a missing From', userEvent(['From'], undefined), /From must be a JSON object/],
    ['an unknown identity Type', userEvent(['From', 'Type'], 'Root'), /From.Type must be one of/],
    ['a short account', userEvent(['From', 'Account'], '1234'), /From.Account must be a 12-digit account id/],
    [
      'a numeric account',
      userEvent(['From', 'Account'], 111122223333),
      /From.Account must be a non-empty string/,
    ],
    ['an empty Id', userEvent(['From', 'Id'], ''), /From.Id must be a non-empty string/],
    ['a non-ARN Arn', userEvent(['From', 'Arn'], 'alice'), /From.Arn must be an IAM or STS ARN/],
    ['a numeric Name', userEvent(['From', 'Name'], 7), /From.Name must be a non-empty string/],
    [
      'a bad instance ARN',
      userEvent(['RemoteInstanceArn'], 'i-0123'),
      /RemoteInstanceArn must be an EC2 instance ARN/,
    ],
    ['a bad user name', userEvent(['SshUsername'], '-oProxy'), /SshUsername must be a POSIX user name/],
    ['a missing fingerprint', userEvent(['PublicKeyFingerprint'], undefined), /PublicKeyFingerprint must be/],
    ['a numeric SourceIp', userEvent(['SourceIp'], 7), /SourceIp must be a non-empty string/],
    ['Vouchers not an array', userEvent(['Vouchers'], {}), /Vouchers must be an array/],
    [
      'a voucher without Context',
      userEvent(['Vouchers'], [{ ...user.From, Vouchee: 'alice' }]),
      /Vouchers\[0\].Context/,
    ],
    [
      'host Principals not strings',
      { ...host, Principals: [1] },
      /Principals\[0\] must be a non-empty string/,
    ],
    [
      'a host request without HostInstanceArn',
      { ...host, HostInstanceArn: undefined },
      /HostInstanceArn must be/,
    ],
  ])('throws for %s, so Lambda reports a FunctionError', async (_, event, message) => {
    const rule = vi.fn(() => ({ Authorized: true }));
    const run = definePolicy({ user: rule, host: rule })(event);
    await expect(run).rejects.toThrow(PolicyRequestError);
    await expect(run).rejects.toThrow(message);
    expect(rule).not.toHaveBeenCalled();
  });

  it('drops fields it does not know, so a newer CA does not break the policy', async () => {
    const rule = vi.fn(() => ({ Authorized: true }));
    await definePolicy({ user: rule })({ ...user, Future: 1, From: { ...user.From, Extra: 'x' } });
    expect(rule).toHaveBeenCalledWith(user);
  });
});

describe('definePolicy dispatch and output', () => {
  it('denies a Kind it has no rule for', async () => {
    const userOnly = definePolicy({ user: () => ({ Authorized: true }) });
    await expect(userOnly(host)).resolves.toEqual({ Authorized: false });
    await expect(definePolicy({ host: () => ({ Authorized: true }) })(user)).resolves.toEqual({
      Authorized: false,
    });
  });

  it('passes a valid allow through unchanged, sync or async', async () => {
    const answer = { Authorized: true, Principals: ['ec2-user'], CertificateOptions: { PermitPty: false } };
    await expect(definePolicy({ user: () => answer })(user)).resolves.toEqual(answer);
    await expect(definePolicy({ user: async () => answer })(user)).resolves.toEqual(answer);
    await expect(allowAll(host)).resolves.toEqual({ Authorized: true });
  });

  it('turns any deny into a bare { Authorized: false }', async () => {
    const policy = definePolicy({ user: () => ({ Authorized: false, Principals: ['root'] }) });
    await expect(policy(user)).resolves.toEqual({ Authorized: false });
  });

  it("keeps a deny's Reason, cleaned as the CA cleans it, and nothing else", async () => {
    const policy = definePolicy({
      user: () => ({ Authorized: false, Reason: 'only\nec2-user\u001b', Principals: ['root'] }),
    });
    await expect(policy(user)).resolves.toEqual({ Authorized: false, Reason: 'only ec2-user?' });
    const { Reason } = (await definePolicy({ user: () => deny('x'.repeat(300)) })(user)) as {
      Reason: string;
    };
    expect(Reason).toBe(`${'x'.repeat(197)}...`);
  });

  it('throws for a Reason that is not a string (the CA answers PolicyError)', async () => {
    const run = definePolicy({ user: () => ({ Authorized: false, Reason: 7 }) as never })(user);
    await expect(run).rejects.toThrow(/Reason must be a string/);
  });

  it.each([
    [
      'an unknown option',
      { Authorized: true, CertificateOptions: { PermitEverything: true } },
      /unknown field "PermitEverything"/,
    ],
    ['an empty principal list', { Authorized: true, Principals: [] }, /Principals is empty/],
    ['a wildcard principal', { Authorized: true, Principals: ['*'] }, /Principals\[0\] contains '\*'/],
    ['a string Authorized', { Authorized: 'true' }, /Authorized must be true or false/],
    [
      'a bad source address',
      { Authorized: true, CertificateOptions: { SourceAddress: '10.0.0.1/8' } },
      /bits set/,
    ],
  ])('throws the CA validator message for %s', async (_, answer, message) => {
    const run = definePolicy({ user: () => answer as never })(user);
    await expect(run).rejects.toThrow(PolicyAnswerError);
    await expect(run).rejects.toThrow(message);
  });

  it('treats a rule that returns nothing as broken, not as a deny', async () => {
    await expect(definePolicy({ user: () => undefined as never })(user)).rejects.toThrow(
      /the answer must be a JSON object/,
    );
  });

  it('lets errors thrown by a rule propagate (a FunctionError: the CA fails closed)', async () => {
    const boom = definePolicy({ user: () => Promise.reject(new Error('DynamoDB down')) });
    await expect(boom(user)).rejects.toThrow('DynamoDB down');
  });
});

describe('judgeAnswer', () => {
  it('returns the grant the CA would sign, with the default principal', () => {
    expect(judgeAnswer({ Authorized: true }, user)).toEqual({
      allowed: true,
      grant: {
        principals: [`ec2-user@${INSTANCE_ARN}`],
        criticalOptions: {},
        extensions: ['permit-port-forwarding', 'permit-pty'],
      },
    });
  });

  it('gives the CA reason for a deny', () => {
    expect(judgeAnswer({ authorized: false }, user)).toEqual({
      allowed: false,
      reason: `policy denied access to ${INSTANCE_ARN} for ec2-user`,
    });
    expect(judgeAnswer({ Authorized: false, Reason: 'only ec2-user' }, user)).toEqual({
      allowed: false,
      reason: `policy denied access to ${INSTANCE_ARN} for ec2-user: only ec2-user`,
    });
  });
});

describe('deny', () => {
  it('logs its reason as one JSON line and answers Authorized false', () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    try {
      expect(deny('after hours')).toEqual({ Authorized: false, Reason: 'after hours' });
      expect(info).toHaveBeenCalledWith('{"lkpPolicy":"deny","reason":"after hours"}');
    } finally {
      info.mockRestore();
    }
  });
});

describe('definePolicy: unix accounts (LkpAccountsAuthorizationRequest)', () => {
  const accounts = {
    Kind: 'LkpAccountsAuthorizationRequest',
    From: host.From,
    HostInstanceArn: INSTANCE_ARN,
    Accounts: [
      { User: 'bob', IamUser: 'bob', Groups: ['lkp_developers'], Sudo: true },
      { User: 'carol', IamUser: 'carol', Groups: [], Sudo: false },
    ],
  };

  it("keeps the CA's offer when the policy has no accounts rule (the deployer chose the groups)", async () => {
    await expect(allowAll(accounts)).resolves.toEqual({ Authorized: true });
  });

  it('hands the request to the accounts rule and judges its answer like the CA', async () => {
    const rule = vi.fn(() => ({ Authorized: true, Users: ['bob'], Sudo: [] }));
    await expect(definePolicy({ accounts: rule })(accounts)).resolves.toEqual({
      Authorized: true,
      Users: ['bob'],
      Sudo: [],
    });
    expect(rule).toHaveBeenCalledWith(accounts);
    const widen = definePolicy({ accounts: () => ({ Authorized: true, Sudo: ['carol'] }) })(accounts);
    await expect(widen).rejects.toThrow(PolicyAnswerError);
    await expect(widen).rejects.toThrow(/Sudo\[0\] is not an account the CA offered sudo/);
  });

  it('refuses a malformed accounts request', async () => {
    const bad = { ...accounts, Accounts: [{ User: '-rf', IamUser: 'x', Groups: [], Sudo: false }] };
    await expect(allowAll(bad)).rejects.toThrow(/Accounts\[0\]\.User must be a POSIX user name/);
  });

  it('judgeAnswer gives the accounts the instance keeps', () => {
    expect(judgeAnswer({ Authorized: true, Users: ['carol'] }, accounts as never)).toEqual({
      allowed: true,
      accounts: { users: ['carol'], sudo: [] },
    });
  });
});

describe('definePolicy: admin actions (LkpAdminAuthorizationRequest)', () => {
  // What src/locks/ca-requests.ts asks before `lkp lock`, `unlock` and `locks`.
  const lock = {
    Kind: 'LkpAdminAuthorizationRequest',
    From: user.From,
    Action: 'Lock',
    Lock: { Type: 'Caller', Value: userArn('mallory'), Reason: 'laptop stolen', ExpiresAt: 1_900_000_000 },
  } as const;
  const unlock = { Kind: lock.Kind, From: user.From, Action: 'Unlock', LockId: 'lk-0123456789abcdef' };
  const list = { Kind: lock.Kind, From: user.From, Action: 'Locks' };

  it('denies admin actions when the policy has no admin rule', async () => {
    for (const req of [lock, unlock, list])
      await expect(allowAll(req)).resolves.toEqual({ Authorized: false });
  });

  it('hands each admin request to the admin rule and passes its decision on', async () => {
    const rule = vi.fn((req: { Action: string }) => ({ Authorized: req.Action !== 'Unlock' }));
    const policy = definePolicy({ admin: rule });
    await expect(policy(lock)).resolves.toEqual({ Authorized: true });
    await expect(policy(unlock)).resolves.toEqual({ Authorized: false });
    await expect(policy(list)).resolves.toEqual({ Authorized: true });
    expect(rule).toHaveBeenNthCalledWith(1, lock);
    expect(rule).toHaveBeenNthCalledWith(2, unlock);
  });

  it('checks the caller with the same checks as certificate rules', async () => {
    const policy = definePolicy({ admin: (req) => ({ Authorized: isIamUser(req, 'alice') }) });
    await expect(policy(lock)).resolves.toEqual({ Authorized: true });
    const bob = { ...lock, From: userRequest(userArn('bob')).From };
    await expect(policy(bob)).resolves.toEqual({ Authorized: false });
  });

  it('allowAdmins allows the ARN patterns it names, as LKP_ADMINS does, and nobody else', async () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    try {
      const policy = definePolicy({ admin: allowAdmins(roleArn('SecurityAdmin', '*'), userArn('alice')) });
      await expect(policy(lock)).resolves.toEqual({ Authorized: true });
      const admin = { ...lock, From: hostRequest(roleArn('SecurityAdmin', 'pat')).From };
      await expect(policy(admin)).resolves.toEqual({ Authorized: true });
      for (const arn of [
        userArn('alice2'),
        roleArn('SecurityAdminX', 'pat'),
        userArn('alice', '444455556666'),
      ]) {
        const other = { ...lock, From: hostRequest(arn).From };
        await expect(policy(other)).resolves.toEqual({
          Authorized: false,
          Reason: `${arn} is not an lkp admin`,
        });
      }
      expect(info).toHaveBeenCalledWith(
        JSON.stringify({ lkpPolicy: 'deny', reason: `${userArn('alice2')} is not an lkp admin` }),
      );
    } finally {
      info.mockRestore();
    }
  });

  it.each([
    ['an unknown Action', { ...list, Action: 'Purge' }, /Action must be one of Lock, Unlock, Locks/],
    ['a Lock without its lock', { ...lock, Lock: undefined }, /Lock must be a JSON object/],
    ['a lock without a reason', { ...lock, Lock: { ...lock.Lock, Reason: '' } }, /Lock.Reason/],
    [
      'an unknown lock Type',
      { ...lock, Lock: { ...lock.Lock, Type: 'Everyone' } },
      /Lock.Type must be one of/,
    ],
    ['a fractional expiry', { ...lock, Lock: { ...lock.Lock, ExpiresAt: 1.5 } }, /Lock.ExpiresAt/],
    ['a malformed LockId', { ...unlock, LockId: 'lk-1' }, /LockId must be lk-/],
    ['an admin request without From', { ...list, From: undefined }, /From must be a JSON object/],
  ])('throws for %s, so the CA changes nothing', async (_, event, message) => {
    const rule = vi.fn(() => ({ Authorized: true }));
    await expect(definePolicy({ admin: rule })(event)).rejects.toThrow(message);
    expect(rule).not.toHaveBeenCalled();
  });

  it('throws the CA validator message for an admin answer with more than Authorized', async () => {
    const run = definePolicy({ admin: () => ({ Authorized: true, Principals: ['root'] }) as never })(lock);
    await expect(run).rejects.toThrow(PolicyAnswerError);
    await expect(run).rejects.toThrow(/unknown field "Principals"/);
    expect(judgeAdminAnswer({ Authorized: false }, lock)).toEqual({
      allowed: false,
      reason: `policy denied ${userArn('alice')} the admin action Lock`,
    });
  });

  it('names every Kind when the event has none it knows', async () => {
    await expect(allowAll({ ...list, Kind: 'Admin' })).rejects.toThrow(/or "LkpAdminAuthorizationRequest"/);
  });
});

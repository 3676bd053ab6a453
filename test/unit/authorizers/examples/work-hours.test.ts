import { afterEach, describe, expect, it, vi } from 'vitest';
import { handler, workHoursConfig, workHoursPolicy } from '../../../../authorizers/examples/work-hours.js';
import { ACCOUNT, DENIED, at, hostRequest, INSTANCE_ID, roleArn, userArn, userRequest } from '../fixtures.js';

const policy = (now: Date, hours = { from: 8, to: 18 }) =>
  workHoursPolicy({ accounts: [ACCOUNT], hours, now: () => now });

describe('work-hours policy', () => {
  it.each([
    [8, true],
    [17, true],
    [18, false],
    [3, false],
  ])('a caller from a configured account at %i:30 UTC → %s', async (hour, allowed) => {
    await expect(policy(at(hour))(userRequest(userArn('alice')))).resolves.toEqual(
      allowed ? { Authorized: true } : DENIED,
    );
  });

  it('denies other accounts even during work hours', async () => {
    await expect(policy(at(10))(userRequest(userArn('alice', '444455556666')))).resolves.toEqual({
      Authorized: false,
      Reason: 'account 444455556666 is not allowed',
    });
  });

  it('handles a night shift that wraps midnight', async () => {
    const night = { from: 22, to: 6 };
    await expect(policy(at(23), night)(userRequest(userArn('alice')))).resolves.toEqual({ Authorized: true });
    await expect(policy(at(12), night)(userRequest(userArn('alice')))).resolves.toEqual({
      Authorized: false,
      Reason: 'outside work hours (22:00-6:00 UTC)',
    });
  });

  it("allows hosts at any hour, but only the instance's own session", async () => {
    await expect(policy(at(3))(hostRequest(roleArn('web', INSTANCE_ID)))).resolves.toEqual({
      Authorized: true,
    });
    await expect(policy(at(3))(hostRequest(userArn('alice')))).resolves.toEqual({ Authorized: false });
  });
});

describe('work-hours configuration', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('reads LKP_POLICY_ACCOUNTS and LKP_WORK_HOURS', () => {
    expect(
      workHoursConfig({ LKP_POLICY_ACCOUNTS: '111122223333, 444455556666', LKP_WORK_HOURS: '08-18' }),
    ).toEqual({
      accounts: ['111122223333', '444455556666'],
      hours: { from: 8, to: 18 },
    });
  });

  it.each([
    [{ LKP_WORK_HOURS: '08-18' }, /LKP_POLICY_ACCOUNTS is required/],
    [{ LKP_POLICY_ACCOUNTS: 'abc', LKP_WORK_HOURS: '08-18' }, /not 12-digit account ids: abc/],
    [{ LKP_POLICY_ACCOUNTS: ACCOUNT }, /LKP_WORK_HOURS is required/],
    [{ LKP_POLICY_ACCOUNTS: ACCOUNT, LKP_WORK_HOURS: '8 to 18' }, /LKP_WORK_HOURS must be <from>-<to>/],
    [{ LKP_POLICY_ACCOUNTS: ACCOUNT, LKP_WORK_HOURS: '09-09' }, /LKP_WORK_HOURS must be/],
    [{ LKP_POLICY_ACCOUNTS: ACCOUNT, LKP_WORK_HOURS: '08-25' }, /LKP_WORK_HOURS must be/],
  ])('refuses %j', (env, message) => {
    expect(() => workHoursConfig(env)).toThrow(message);
  });

  it('makes the deployed handler fail (closed) on a bad environment, and work on a good one', async () => {
    vi.stubEnv('LKP_POLICY_ACCOUNTS', '');
    vi.stubEnv('LKP_WORK_HOURS', '00-24');
    await expect(handler(userRequest(userArn('alice')))).rejects.toThrow(/LKP_POLICY_ACCOUNTS is required/);
    vi.stubEnv('LKP_POLICY_ACCOUNTS', ACCOUNT);
    await expect(handler(userRequest(userArn('alice')))).resolves.toEqual({ Authorized: true });
  });
});

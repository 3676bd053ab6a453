/** ARN grammar and account checks of DESIGN §3.1: three shapes accepted, everything else Forbidden. */
import { describe, expect, it } from 'vitest';
import { LkpError } from '../../../src/errors.js';
import { arnAccount, identityFromArn } from '../../../src/identity/arn.js';
import type { CallerIdentity } from '../../../src/identity/sts.js';

const ACCT = '111111111111';
const caller = (Arn: string, Account = ACCT, UserId = 'AIDAEXAMPLE'): CallerIdentity => ({
  Arn,
  Account,
  UserId,
});

function expectForbidden(c: CallerIdentity, message: RegExp, allowed: readonly string[] = [ACCT]) {
  let err: unknown;
  try {
    identityFromArn(c, allowed);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LkpError);
  expect({ code: (err as LkpError).code, message: (err as LkpError).message }).toEqual({
    code: 'Forbidden',
    message: expect.stringMatching(message),
  });
}

describe('identityFromArn accepts', () => {
  it('an IAM user', () => {
    expect(identityFromArn(caller(`arn:aws:iam::${ACCT}:user/alice`), [ACCT])).toEqual({
      Arn: `arn:aws:iam::${ACCT}:user/alice`,
      Account: ACCT,
      Id: 'AIDAEXAMPLE',
      Type: 'User',
      Name: 'alice',
    });
  });

  it('an IAM user with a path, named by the last part only', () => {
    const who = identityFromArn(caller(`arn:aws:iam::${ACCT}:user/division_abc/sub:div/Bob+1=2,x.y@z-w`), [
      ACCT,
    ]);
    expect(who).toMatchObject({ Type: 'User', Name: 'Bob+1=2,x.y@z-w' });
  });

  it('an assumed role, with RoleName and SessionName and no Name', () => {
    const who = identityFromArn(
      caller(`arn:aws-cn:sts::${ACCT}:assumed-role/Deploy/i-0123456789abcdef0`, ACCT, 'AROA:i-0123'),
      [ACCT],
    );
    expect(who).toEqual({
      Arn: `arn:aws-cn:sts::${ACCT}:assumed-role/Deploy/i-0123456789abcdef0`,
      Account: ACCT,
      Id: 'AROA:i-0123',
      Type: 'AssumedRole',
      RoleName: 'Deploy',
      SessionName: 'i-0123456789abcdef0',
    });
    expect(who).not.toHaveProperty('Name');
  });

  it('a federated user', () => {
    const who = identityFromArn(
      caller(`arn:aws-us-gov:sts::${ACCT}:federated-user/bob`, ACCT, `${ACCT}:bob`),
      [ACCT],
    );
    expect(who).toEqual({
      Arn: `arn:aws-us-gov:sts::${ACCT}:federated-user/bob`,
      Account: ACCT,
      Id: `${ACCT}:bob`,
      Type: 'FederatedUser',
      Name: 'bob',
    });
  });

  it('names at the IAM length limits', () => {
    expect(identityFromArn(caller(`arn:aws:iam::${ACCT}:user/${'u'.repeat(64)}`), [ACCT]).Name).toHaveLength(
      64,
    );
    const role = identityFromArn(
      caller(`arn:aws:sts::${ACCT}:assumed-role/${'r'.repeat(64)}/${'s'.repeat(64)}`),
      [ACCT],
    );
    expect([role.RoleName?.length, role.SessionName?.length]).toEqual([64, 64]);
    expect(identityFromArn(caller(`arn:aws:sts::${ACCT}:assumed-role/r/ss`), [ACCT]).SessionName).toBe('ss');
    expect(
      identityFromArn(caller(`arn:aws:sts::${ACCT}:federated-user/${'f'.repeat(32)}`), [ACCT]).Name,
    ).toHaveLength(32);
  });
});

describe('identityFromArn refuses (§3.1)', () => {
  it('root, with a clear message', () => {
    expectForbidden(
      caller(`arn:aws:iam::${ACCT}:root`),
      /^root credentials are never accepted; use an IAM user or role$/,
    );
  });

  it('a foreign account, naming both', () => {
    const c = caller('arn:aws:iam::111111111111:user/alice');
    expectForbidden(c, /^your credentials are for account 111111111111; this CA accepts 222222222222$/, [
      '222222222222',
    ]);
    expectForbidden(c, /this CA accepts 222222222222, 333333333333$/, ['222222222222', '333333333333']);
  });

  it.each([
    ['a role ARN (not a session)', `arn:aws:iam::${ACCT}:role/Admin`],
    ['a group', `arn:aws:iam::${ACCT}:group/admins`],
    ['an assumed role under iam', `arn:aws:iam::${ACCT}:assumed-role/r/s`],
    ['a user under sts', `arn:aws:sts::${ACCT}:user/alice`],
    ['an assumed role without session', `arn:aws:sts::${ACCT}:assumed-role/r`],
    ['an assumed role with an extra part', `arn:aws:sts::${ACCT}:assumed-role/r/s/x`],
    ['a federated user with an extra part', `arn:aws:sts::${ACCT}:federated-user/bob/x`],
    ['a user without a name', `arn:aws:iam::${ACCT}:user/`],
    ['a user with an empty path segment', `arn:aws:iam::${ACCT}:user/a//bob`],
    ['a bad partition', `arn:aws-iso:iam::${ACCT}:user/alice`],
    ['an upper-case partition', `arn:AWS:iam::${ACCT}:user/alice`],
    ['a region', `arn:aws:sts:us-east-1:${ACCT}:assumed-role/r/s`],
    ['a short account', 'arn:aws:iam::11111111111:user/alice'],
    ['a missing part', `arn:aws:iam:${ACCT}:user/alice`],
    ['not an ARN', 'urn:aws:iam::111111111111:user/alice'],
    ['an empty string', ''],
    ['bad characters in a user name', `arn:aws:iam::${ACCT}:user/al ice`],
    ['bad characters in a session name', `arn:aws:sts::${ACCT}:assumed-role/r/s*s`],
    ['a colon in a role name', `arn:aws:sts::${ACCT}:assumed-role/r:x/s`],
    ['a too long user name', `arn:aws:iam::${ACCT}:user/${'u'.repeat(65)}`],
    ['a too long role name', `arn:aws:sts::${ACCT}:assumed-role/${'r'.repeat(65)}/s1`],
    ['a too long session name', `arn:aws:sts::${ACCT}:assumed-role/r/${'s'.repeat(65)}`],
    ['a one-character session name', `arn:aws:sts::${ACCT}:assumed-role/r/s`],
    ['a too long federated name', `arn:aws:sts::${ACCT}:federated-user/${'f'.repeat(33)}`],
    ['a one-character federated name', `arn:aws:sts::${ACCT}:federated-user/f`],
    ['a too long user path', `arn:aws:iam::${ACCT}:user/${'p'.repeat(511)}/bob`],
  ])('%s', (_what, arn) => {
    expectForbidden(caller(arn), /is not supported; use an IAM user, an assumed role or a federated user$/);
  });

  it('does not echo an unprintable ARN', () => {
    expectForbidden(
      caller(`arn:aws:iam::${ACCT}:user/a\nb`),
      /^identity \(unprintable ARN\) is not supported/,
    );
  });

  it('an Account that disagrees with the ARN (Unauthenticated)', () => {
    expect(() =>
      identityFromArn(caller(`arn:aws:iam::${ACCT}:user/a`, '222222222222'), [ACCT, '222222222222']),
    ).toThrow(expect.objectContaining({ code: 'Unauthenticated' }));
  });
});

describe('arnAccount', () => {
  it('extracts the account field, or undefined for non-ARNs', () => {
    expect(arnAccount(`arn:aws:iam::${ACCT}:user/a`)).toBe(ACCT);
    expect(arnAccount('nonsense')).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import {
  arnStartsWith,
  hasRole,
  hasRoleId,
  inAccount,
  instanceArnStartsWith,
  isIamUser,
  isInstanceOwnSession,
  roleSessionName,
  voucheeNames,
  vouchersFor,
  withinUtcHours,
} from '../../../authorizers/sdk/checks.js';
import type { LkpIdentity } from '../../../authorizers/sdk/types.js';
import {
  ACCOUNT,
  at,
  hostRequest,
  INSTANCE_ARN,
  INSTANCE_ID,
  roleArn,
  userArn,
  userRequest,
} from './fixtures.js';

const alice = userRequest(userArn('alice'));
const dev = userRequest(roleArn('Developers', 'dan@example.com'));
const fed = userRequest(`arn:aws:sts::${ACCOUNT}:federated-user/alice`);

describe('inAccount', () => {
  it.each([
    [[ACCOUNT], true],
    [['444455556666', ACCOUNT], true],
    [['444455556666'], false],
    [[], false],
  ])('accounts %j → %s', (accounts, expected) => {
    expect(inAccount(alice, ...accounts)).toBe(expected);
  });
});

describe('isIamUser', () => {
  it.each([
    ['an IAM user with that name', alice, 'alice', true],
    ['an IAM user with another name', alice, 'bob', false],
    ['a federated user with that name', fed, 'alice', false],
    ['a role session', dev, 'dan@example.com', false],
  ])('%s → %s', (_, req, name, expected) => {
    expect(isIamUser(req, name)).toBe(expected);
  });
});

describe('roleSessionName and hasRole', () => {
  it('reads the session name of an assumed role', () => {
    expect(roleSessionName(dev)).toBe('dan@example.com');
    expect(hasRole(dev, 'Developers')).toBe(true);
    expect(hasRole(dev, 'Admins')).toBe(false);
  });

  it('falls back to the part of Id after the colon when SessionName is absent', () => {
    const { SessionName: _, ...from } = dev.From;
    expect(roleSessionName({ ...dev, From: { ...from, Id: 'AROAEXAMPLE:from-id' } })).toBe('from-id');
    expect(roleSessionName({ ...dev, From: { ...from, Id: 'AROAEXAMPLE' } })).toBeUndefined();
  });

  it('is undefined or false for users', () => {
    expect(roleSessionName(alice)).toBeUndefined();
    expect(hasRole(alice, 'alice')).toBe(false);
  });

  it('matches a role by its unique id up to the colon', () => {
    const req = { ...dev, From: { ...dev.From, Id: 'AROAROLEID:dan' } };
    expect(hasRoleId(req, 'AROAROLEID')).toBe(true);
    expect(hasRoleId(req, 'AROAROLE')).toBe(false);
    expect(hasRoleId({ ...alice, From: { ...alice.From, Id: 'AROAROLEID:x' } }, 'AROAROLEID')).toBe(false);
  });
});

describe('instanceArnStartsWith', () => {
  const arn = 'arn:aws:ec2:us-east-1:111122223333:instance/i-12';
  it.each([
    ['arn:aws:ec2:us-east-1:111122223333:instance/i-12', true],
    ['arn:aws:ec2:us-east-1:111122223333:instance/', true],
    ['arn:aws:ec2:us-east-1:111122223333:', true],
    ['arn:aws:ec2:us-east-1:111122223333', true],
    ['arn:aws:ec2:us-east-1', true],
    ['arn:aws:ec2:us-east-1:111122223333:instance/i-1', false],
    ['arn:aws:ec2:us-east-1:11112222333', false],
    ['arn:aws:ec2:us-east', false],
    ['arn:aws:ec2:eu-west-1:', false],
    ['', false],
  ])('%s → %s', (prefix, expected) => {
    expect(arnStartsWith(arn, prefix)).toBe(expected);
  });

  it('looks at the target of a user request and at the host of a host request', () => {
    expect(instanceArnStartsWith(alice, INSTANCE_ARN)).toBe(true);
    expect(instanceArnStartsWith(hostRequest(roleArn('web', INSTANCE_ID)), INSTANCE_ARN)).toBe(true);
    expect(instanceArnStartsWith(alice, `${INSTANCE_ARN}0`)).toBe(false);
  });
});

describe('withinUtcHours', () => {
  it.each([
    [9, 9, 17, true],
    [16, 9, 17, true],
    [17, 9, 17, false],
    [8, 9, 17, false],
    [23, 22, 6, true],
    [0, 22, 6, true],
    [5, 22, 6, true],
    [6, 22, 6, false],
    [12, 22, 6, false],
    [23, 0, 24, true],
    [0, 0, 24, true],
    [10, 10, 10, false],
  ])('%i:30 UTC in %i–%i → %s', (hour, from, to, expected) => {
    expect(withinUtcHours(at(hour), from, to)).toBe(expected);
  });

  it('uses UTC, not the local time zone', () => {
    expect(withinUtcHours(new Date('2030-01-15T16:59:00-08:00'), 0, 1)).toBe(true);
  });

  it.each([
    [-1, 5],
    [24, 5],
    [1, 25],
    [1.5, 5],
  ])('refuses hours %s–%s', (from, to) => {
    expect(() => withinUtcHours(at(1), from, to)).toThrow(RangeError);
  });
});

describe('isInstanceOwnSession', () => {
  it.each([
    ['the instance role session', roleArn('web', INSTANCE_ID), true],
    ['a session of the same role for another instance', roleArn('web', 'i-0fffffffffffffff0'), false],
    ['a session in another account', roleArn('web', INSTANCE_ID, '444455556666'), false],
    ['an IAM user', userArn(INSTANCE_ID), false],
  ])('%s → %s', (_, from, expected) => {
    expect(isInstanceOwnSession(hostRequest(from))).toBe(expected);
  });
});

describe('vouchersFor', () => {
  const voucher = (from: LkpIdentity, vouchee: string, context = INSTANCE_ARN) => ({
    ...from,
    Vouchee: vouchee,
    Context: context,
  });
  const bob = userRequest(userArn('bob')).From;
  const carol = userRequest(userArn('carol')).From;
  const ops = userRequest(roleArn('Ops', 'olga')).From;
  const withVouchers = (req: typeof alice, vouchers: ReturnType<typeof voucher>[]) => ({
    ...req,
    Vouchers: vouchers,
  });

  it('names a caller by ARN or by short name (user name, role session name)', () => {
    expect(voucheeNames(alice.From)).toEqual([alice.From.Arn, 'alice']);
    expect(voucheeNames(dev.From)).toEqual([dev.From.Arn, 'dan@example.com']);
  });

  it('counts distinct other identities that vouched for the caller in the context', () => {
    const req = withVouchers(alice, [voucher(bob, 'alice'), voucher(ops, alice.From.Arn)]);
    expect(vouchersFor(req, { minimum: 2 })).toEqual({
      count: 2,
      satisfied: true,
      vouchers: [bob.Arn, ops.Arn],
    });
  });

  it('counts one identity once, however often it vouched', () => {
    const req = withVouchers(alice, [
      voucher(bob, 'alice'),
      voucher(bob, alice.From.Arn),
      voucher(bob, 'alice'),
    ]);
    expect(vouchersFor(req, { minimum: 2 })).toMatchObject({ count: 1, satisfied: false });
  });

  it('treats ARNs that differ only in case as one identity', () => {
    const shouty = { ...bob, Arn: bob.Arn.toUpperCase(), Id: 'AIDAOTHER' };
    const req = withVouchers(alice, [voucher(bob, 'alice'), voucher(shouty, 'alice')]);
    expect(vouchersFor(req, { minimum: 2 }).count).toBe(1);
  });

  it('does not count the caller vouching for themselves, by ARN or by unique id', () => {
    const sameId = { ...bob, Id: alice.From.Id };
    const req = withVouchers(alice, [
      voucher(alice.From, 'alice'),
      voucher(sameId, 'alice'),
      voucher(carol, 'alice'),
    ]);
    expect(vouchersFor(req, { minimum: 1 })).toMatchObject({ count: 1, vouchers: [carol.Arn] });
  });

  it('ignores vouchers for someone else or for another context', () => {
    const req = withVouchers(alice, [
      voucher(bob, 'mallory'),
      voucher(carol, 'alice', 'arn:aws:ec2:us-east-1:111122223333:instance/i-0fffffffffffffff0'),
      voucher(ops, 'Alice'),
    ]);
    expect(vouchersFor(req, { minimum: 1 })).toMatchObject({ count: 0, satisfied: false });
  });

  it('takes another context and another excluded identity when given', () => {
    const req = withVouchers(alice, [
      voucher(bob, 'alice', 'change-42'),
      voucher(carol, 'alice', 'change-42'),
    ]);
    expect(vouchersFor(req, { context: 'change-42', minimum: 1, distinctFrom: bob })).toMatchObject({
      count: 1,
      vouchers: [carol.Arn],
    });
  });

  it('is unsatisfied without vouchers unless nothing is required', () => {
    expect(vouchersFor(alice, { minimum: 1 }).satisfied).toBe(false);
    expect(vouchersFor(alice, { minimum: 0 }).satisfied).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { LkpError } from '../../../src/errors.js';
import {
  activeLocks,
  checkLockSpec,
  describeLock,
  lockFor,
  type Lock,
  type LockSpec,
} from '../../../src/locks/lock.js';

const NOW = 1_800_000_000;
const ACCOUNT = '111122223333';
const INSTANCE = `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0123456789abcdef0`;
const ownArn = (id: string) => `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/${id}`;
const check = (spec: Partial<LockSpec>) =>
  checkLockSpec({ Type: 'Caller', Value: '', Reason: 'incident 42', ...spec }, NOW, ownArn);
const fails = (spec: Partial<LockSpec>) => {
  try {
    check(spec);
  } catch (e) {
    return e instanceof LkpError ? e.code : 'other';
  }
  return 'accepted';
};

const lock = (over: Partial<Lock>): Lock => ({
  LockId: 'lk-0123456789abcdef',
  Type: 'Caller',
  Value: 'x',
  Reason: 'incident 42',
  CreatedBy: `arn:aws:iam::${ACCOUNT}:user/admin`,
  CreatedAt: NOW - 10,
  ...over,
});
const subject = {
  callerArn: `arn:aws:sts::${ACCOUNT}:assumed-role/Dev/alice`,
  keyFingerprint: `SHA256:${'A'.repeat(43)}`,
  keyId: `arn:aws:sts::${ACCOUNT}:assumed-role/Dev/alice`,
  instanceArn: INSTANCE,
};

describe('checkLockSpec', () => {
  it('accepts each lock type in the form ssh-keygen and the audit line show', () => {
    expect(check({ Type: 'Caller', Value: `arn:aws:iam::${ACCOUNT}:user/alice` }).Value).toMatch(/alice$/);
    expect(check({ Type: 'Caller', Value: `arn:aws:sts::${ACCOUNT}:assumed-role/Dev/*` }).Value).toMatch(
      /\*$/,
    );
    expect(check({ Type: 'Key', Value: subject.keyFingerprint }).Value).toBe(subject.keyFingerprint);
    expect(check({ Type: 'Serial', Value: '18446744073709551615' }).Value).toBe('18446744073709551615');
    expect(check({ Type: 'KeyId', Value: 'anything printable' }).Value).toBe('anything printable');
    expect(check({ Type: 'Instance', Value: INSTANCE }).Value).toBe(INSTANCE);
  });

  it('turns an instance id into the ARN in the CA account, and refuses one when the account is unknown', () => {
    expect(check({ Type: 'Instance', Value: 'i-0123456789abcdef0' }).Value).toBe(INSTANCE);
    expect(() =>
      checkLockSpec({ Type: 'Instance', Value: 'i-0123456789abcdef0', Reason: 'r' }, NOW, () => undefined),
    ).toThrow(/LKP_CA_ACCOUNT/);
  });

  it.each([
    ['Caller', 'alice'],
    ['Caller', '*'],
    ['Key', 'SHA256:short'],
    ['Key', 'MD5:aa:bb'],
    ['Serial', '0'],
    ['Serial', '18446744073709551616'],
    ['Serial', '0x2a'],
    ['Serial', '-1'],
    ['KeyId', ''],
    ['KeyId', 'line\nbreak'],
    ['Instance', 'i-xyz'],
  ] as const)('refuses a %s lock on %j', (Type, Value) => {
    expect(fails({ Type, Value })).toBe('BadRequest');
  });

  it('needs a reason and a future expiry', () => {
    expect(fails({ Type: 'KeyId', Value: 'a', Reason: '' })).toBe('BadRequest');
    expect(fails({ Type: 'KeyId', Value: 'a', ExpiresAt: NOW })).toBe('BadRequest');
    expect(fails({ Type: 'KeyId', Value: 'a', ExpiresAt: NOW + 0.5 })).toBe('BadRequest');
    expect(fails({ Type: 'KeyId', Value: 'a', ExpiresAt: NOW + 60 })).toBe('accepted');
  });
});

describe('lockFor', () => {
  it('finds the lock on the caller (exact or pattern), key, KeyId or instance', () => {
    for (const l of [
      lock({ Type: 'Caller', Value: subject.callerArn }),
      lock({ Type: 'Caller', Value: `arn:aws:sts::${ACCOUNT}:assumed-role/Dev/*` }),
      lock({ Type: 'Caller', Value: `arn:*:sts::*:assumed-role/*/alice` }),
      lock({ Type: 'Key', Value: subject.keyFingerprint }),
      lock({ Type: 'KeyId', Value: subject.keyId }),
      lock({ Type: 'Instance', Value: INSTANCE }),
    ])
      expect(lockFor(subject, [l])).toBe(l);
  });

  it('lets everything else through', () => {
    for (const l of [
      lock({ Type: 'Caller', Value: `arn:aws:sts::${ACCOUNT}:assumed-role/Dev/alic` }),
      lock({ Type: 'Caller', Value: `arn:aws:sts::${ACCOUNT}:assumed-role/Ops/*` }),
      // A pattern's dots are not regular-expression wildcards.
      lock({ Type: 'Caller', Value: `arn:aws:sts::${ACCOUNT}:assumed.role/Dev/alice` }),
      lock({ Type: 'Key', Value: `SHA256:${'B'.repeat(43)}` }),
      lock({ Type: 'Instance', Value: INSTANCE.replace('i-0', 'i-1') }),
      // New certificates get new serials: a serial lock never stops one.
      lock({ Type: 'Serial', Value: '42' }),
    ])
      expect(lockFor(subject, [l])).toBeUndefined();
  });

  it('an expired lock is no longer active', () => {
    const expired = lock({ ExpiresAt: NOW });
    const live = lock({ LockId: 'lk-1111111111111111', ExpiresAt: NOW + 1 });
    expect(
      activeLocks([expired, live, lock({ LockId: 'lk-2222222222222222' })], NOW).map((l) => l.LockId),
    ).toEqual(['lk-1111111111111111', 'lk-2222222222222222']);
  });

  it('describes a lock with its id, expiry and reason', () => {
    expect(describeLock(lock({ Type: 'Caller', Value: 'arn:x', ExpiresAt: NOW }))).toBe(
      'Caller arn:x is locked (lk-0123456789abcdef, until 2027-01-15T08:00:00.000Z): incident 42',
    );
  });
});

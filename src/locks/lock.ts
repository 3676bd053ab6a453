/**
 * What a lock is and what it stops (DESIGN §8): a caller ARN or ARN pattern, a key fingerprint, a
 * certificate serial, a certificate KeyId or an instance. A lock with ExpiresAt in the past is gone.
 */
import { globMatch } from '../authorize/allow.js';
import { badRequest } from '../errors.js';
import { INSTANCE_ARN } from '../request.js';

export const LOCK_TYPES = ['Caller', 'Key', 'Serial', 'KeyId', 'Instance'] as const;
export type LockType = (typeof LOCK_TYPES)[number];

/** What an admin asks to lock (the `Lock` field of a Lock request). */
export interface LockSpec {
  Type: LockType;
  Value: string;
  Reason: string;
  /** Unix seconds; absent → until unlocked. */
  ExpiresAt?: number;
}

/** A stored lock, as `lkp locks` shows it. */
export interface Lock extends LockSpec {
  LockId: string;
  /** The ARN of the admin who locked. */
  CreatedBy: string;
  /** Unix seconds. */
  CreatedAt: number;
}

/** What a certificate request would sign; every field is checked against every lock. */
export interface LockSubject {
  callerArn: string;
  keyFingerprint: string;
  keyId: string;
  instanceArn: string;
}

export const LOCK_ID = /^lk-[0-9a-f]{16}$/;
const CALLER_PATTERN = /^arn:(\*|aws|aws-cn|aws-us-gov):[\x21-\x7e]{1,1000}$/;
const KEY_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const SERIAL = /^[1-9][0-9]{0,19}$/;
const KEY_ID = /^[\x20-\x7e]{1,1024}$/;
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
const REASON = /^[\x20-\x7e]{1,512}$/;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * Checks a lock request's fields; an instance id becomes the instance ARN in the CA's account and
 * region (`ownInstanceArn`), because host certificates name the ARN. Throws BadRequest with the fix.
 */
export function checkLockSpec(
  spec: LockSpec,
  now: number,
  ownInstanceArn: (id: string) => string | undefined,
): LockSpec {
  if (!REASON.test(spec.Reason))
    throw badRequest('a lock needs a reason: 1 to 512 printable ASCII characters');
  if (spec.ExpiresAt !== undefined && (!Number.isSafeInteger(spec.ExpiresAt) || spec.ExpiresAt <= now))
    throw badRequest('ExpiresAt must be a time in the future, in Unix seconds');
  return { ...spec, Value: checkValue(spec.Type, spec.Value.trim(), ownInstanceArn) };
}

function checkValue(
  type: LockType,
  value: string,
  ownInstanceArn: (id: string) => string | undefined,
): string {
  switch (type) {
    case 'Caller':
      if (!CALLER_PATTERN.test(value))
        throw badRequest(
          'a Caller lock is an IAM or STS ARN, with * for any characters: arn:aws:sts::111122223333:assumed-role/Dev/*',
        );
      return value;
    case 'Key':
      if (!KEY_FINGERPRINT.test(value))
        throw badRequest('a Key lock is a SHA256 fingerprint as ssh-keygen -l prints it: SHA256:…');
      return value;
    case 'Serial':
      if (!SERIAL.test(value) || BigInt(value) > UINT64_MAX)
        throw badRequest(
          'a Serial lock is the decimal serial that ssh-keygen -L and the audit line show (1 to 18446744073709551615)',
        );
      return value;
    case 'KeyId':
      if (!KEY_ID.test(value)) throw badRequest('a KeyId lock is printable ASCII, at most 1024 characters');
      return value;
    case 'Instance': {
      if (INSTANCE_ARN.test(value)) return value;
      const arn = INSTANCE_ID.test(value) ? ownInstanceArn(value) : undefined;
      if (arn === undefined)
        throw badRequest(
          INSTANCE_ID.test(value)
            ? `this CA does not know its account (LKP_CA_ACCOUNT): lock the instance ARN, arn:aws:ec2:<region>:<account>:instance/${value}`
            : 'an Instance lock is an instance ARN (arn:aws:ec2:<region>:<account>:instance/i-…) or an instance id',
        );
      return arn;
    }
  }
}

/** The locks still in force at `now`. */
export function activeLocks(locks: readonly Lock[], now: number): Lock[] {
  return locks.filter((l) => l.ExpiresAt === undefined || l.ExpiresAt > now);
}

/** The first lock that stops a certificate for `subject`, if any. */
export function lockFor(subject: LockSubject, locks: readonly Lock[]): Lock | undefined {
  return locks.find((lock) => {
    switch (lock.Type) {
      case 'Caller':
        return globMatch(lock.Value, subject.callerArn);
      case 'Key':
        return lock.Value === subject.keyFingerprint;
      case 'KeyId':
        return lock.Value === subject.keyId;
      case 'Instance':
        return lock.Value === subject.instanceArn;
      case 'Serial':
        // A new certificate gets a new random serial: serial locks stop existing certificates only.
        return false;
    }
  });
}

/** One line for messages and the audit: what is locked, by whom, why and until when. */
export function describeLock(lock: Lock): string {
  const until =
    lock.ExpiresAt === undefined
      ? 'until unlocked'
      : `until ${new Date(lock.ExpiresAt * 1000).toISOString()}`;
  return `${lock.Type} ${lock.Value} is locked (${lock.LockId}, ${until}): ${lock.Reason}`;
}

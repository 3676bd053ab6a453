/**
 * What the CA sends a policy → typed request, checked strictly (DESIGN §3.4). A policy that is
 * handed something else (a test event, another service's payload, a newer CA) throws, which
 * Lambda reports as a FunctionError and the CA treats as a broken policy: nothing is signed.
 *
 * Fields this SDK does not know are dropped rather than refused, so a newer CA that adds a field
 * does not break deployed policies; the handler sees exactly the typed shape.
 */
import type {
  LkpAccount,
  LkpAccountsAuthorizationRequest,
  LkpAuthorizationRequest,
  LkpHostCertAuthorizationRequest,
  LkpIdentity,
  LkpUserCertAuthorizationRequest,
  LkpVoucher,
} from '../../src/protocol.js';
import { LOCK_ID, LOCK_TYPES, type LockSpec, type LockType } from '../../src/locks/lock.js';
import type { LkpAdminAuthorizationRequest } from '../../src/locks/protocol.js';
import { INSTANCE_ARN, SSH_USERNAME } from '../../src/request.js';

export const USER_KIND = 'LkpUserCertAuthorizationRequest';
export const HOST_KIND = 'LkpHostCertAuthorizationRequest';
export const ACCOUNTS_KIND = 'LkpAccountsAuthorizationRequest';
export const ADMIN_KIND = 'LkpAdminAuthorizationRequest';
const ADMIN_ACTIONS: readonly LkpAdminAuthorizationRequest['Action'][] = ['Lock', 'Unlock', 'Locks'];

const IDENTITY_TYPES: readonly LkpIdentity['Type'][] = ['User', 'AssumedRole', 'FederatedUser'];
const ACCOUNT = /^\d{12}$/;

/** The event was not an lkp policy request; the message names the field. */
export class PolicyRequestError extends Error {
  override readonly name = 'PolicyRequestError';
  constructor(message: string) {
    super(`not an lkp policy request: ${message}`);
  }
}

type Json = Record<string, unknown>;

export function parseAuthorizationRequest(raw: unknown): LkpAuthorizationRequest {
  const event = object(raw, 'the event');
  switch (event.Kind) {
    case USER_KIND:
      return parseUserRequest(event);
    case HOST_KIND:
      return parseHostRequest(event);
    case ACCOUNTS_KIND:
      return parseAccountsRequest(event);
    default:
      throw new PolicyRequestError(`Kind must be "${USER_KIND}", "${HOST_KIND}" or "${ACCOUNTS_KIND}"`);
  }
}

/** Every request a policy can be asked: the certificate and accounts kinds, and admin actions (Lock, Unlock, Locks). */
export function parsePolicyRequest(raw: unknown): LkpAuthorizationRequest | LkpAdminAuthorizationRequest {
  const event = object(raw, 'the event');
  if (event.Kind === ADMIN_KIND) return parseAdminRequest(event);
  if (event.Kind !== USER_KIND && event.Kind !== HOST_KIND && event.Kind !== ACCOUNTS_KIND)
    throw new PolicyRequestError(
      `Kind must be "${USER_KIND}", "${HOST_KIND}", "${ACCOUNTS_KIND}" or "${ADMIN_KIND}"`,
    );
  return parseAuthorizationRequest(event);
}

function parseAdminRequest(event: Json): LkpAdminAuthorizationRequest {
  const action = event.Action;
  if (!ADMIN_ACTIONS.includes(action as LkpAdminAuthorizationRequest['Action']))
    throw new PolicyRequestError(`Action must be one of ${ADMIN_ACTIONS.join(', ')}`);
  const req: LkpAdminAuthorizationRequest = {
    Kind: ADMIN_KIND,
    From: parseIdentity(event.From, 'From'),
    Action: action as LkpAdminAuthorizationRequest['Action'],
  };
  if (action === 'Lock') req.Lock = parseLock(event.Lock);
  if (action === 'Unlock') req.LockId = matching(event.LockId, 'LockId', LOCK_ID, 'lk-<16 hex digits>');
  return req;
}

function parseLock(raw: unknown): LockSpec {
  const lock = object(raw, 'Lock');
  const type = string(lock.Type, 'Lock.Type');
  if (!LOCK_TYPES.includes(type as LockType))
    throw new PolicyRequestError(`Lock.Type must be one of ${LOCK_TYPES.join(', ')}`);
  const spec: LockSpec = {
    Type: type as LockType,
    Value: string(lock.Value, 'Lock.Value'),
    Reason: string(lock.Reason, 'Lock.Reason'),
  };
  if (lock.ExpiresAt !== undefined) {
    if (!Number.isSafeInteger(lock.ExpiresAt))
      throw new PolicyRequestError('Lock.ExpiresAt must be a whole number (Unix seconds)');
    spec.ExpiresAt = lock.ExpiresAt as number;
  }
  return spec;
}

function parseUserRequest(event: Json): LkpUserCertAuthorizationRequest {
  const req: LkpUserCertAuthorizationRequest = {
    Kind: USER_KIND,
    From: parseIdentity(event.From, 'From'),
    RemoteInstanceArn: instanceArn(event.RemoteInstanceArn, 'RemoteInstanceArn'),
    SshUsername: matching(event.SshUsername, 'SshUsername', SSH_USERNAME, 'a POSIX user name'),
    PublicKeyFingerprint: matching(
      event.PublicKeyFingerprint,
      'PublicKeyFingerprint',
      /^SHA256:\S+$/,
      'SHA256:…',
    ),
  };
  if (event.SourceIp !== undefined) req.SourceIp = string(event.SourceIp, 'SourceIp');
  if (event.Vouchers !== undefined) req.Vouchers = array(event.Vouchers, 'Vouchers').map(parseVoucher);
  return req;
}

function parseHostRequest(event: Json): LkpHostCertAuthorizationRequest {
  return {
    Kind: HOST_KIND,
    From: parseIdentity(event.From, 'From'),
    HostInstanceArn: instanceArn(event.HostInstanceArn, 'HostInstanceArn'),
    Principals: array(event.Principals, 'Principals').map((p, i) => string(p, `Principals[${i}]`)),
  };
}

function parseAccountsRequest(event: Json): LkpAccountsAuthorizationRequest {
  return {
    Kind: ACCOUNTS_KIND,
    From: parseIdentity(event.From, 'From'),
    HostInstanceArn: instanceArn(event.HostInstanceArn, 'HostInstanceArn'),
    Accounts: array(event.Accounts, 'Accounts').map(parseAccount),
  };
}

function parseAccount(raw: unknown, i: number): LkpAccount {
  const where = `Accounts[${i}]`;
  const account = object(raw, where);
  if (typeof account.Sudo !== 'boolean') throw new PolicyRequestError(`${where}.Sudo must be true or false`);
  return {
    User: matching(account.User, `${where}.User`, SSH_USERNAME, 'a POSIX user name'),
    IamUser: string(account.IamUser, `${where}.IamUser`),
    Groups: array(account.Groups, `${where}.Groups`).map((g, j) =>
      matching(g, `${where}.Groups[${j}]`, SSH_USERNAME, 'a POSIX group name'),
    ),
    Sudo: account.Sudo,
  };
}

function parseVoucher(raw: unknown, i: number): LkpVoucher {
  const where = `Vouchers[${i}]`;
  const voucher = object(raw, where);
  return {
    ...parseIdentity(voucher, where),
    Vouchee: string(voucher.Vouchee, `${where}.Vouchee`),
    Context: string(voucher.Context, `${where}.Context`),
  };
}

export function parseIdentity(raw: unknown, where: string): LkpIdentity {
  const from = object(raw, where);
  const type = from.Type;
  if (!IDENTITY_TYPES.includes(type as LkpIdentity['Type']))
    throw new PolicyRequestError(`${where}.Type must be one of ${IDENTITY_TYPES.join(', ')}`);
  const identity: LkpIdentity = {
    Arn: matching(from.Arn, `${where}.Arn`, /^arn:[a-z-]+:(iam|sts)::\d{12}:\S+$/, 'an IAM or STS ARN'),
    Account: matching(from.Account, `${where}.Account`, ACCOUNT, 'a 12-digit account id'),
    Id: string(from.Id, `${where}.Id`),
    Type: type as LkpIdentity['Type'],
  };
  for (const key of ['Name', 'RoleName', 'SessionName'] as const)
    if (from[key] !== undefined) identity[key] = string(from[key], `${where}.${key}`);
  return identity;
}

function object(raw: unknown, where: string): Json {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new PolicyRequestError(`${where} must be a JSON object`);
  return raw as Json;
}

function array(raw: unknown, where: string): unknown[] {
  if (!Array.isArray(raw)) throw new PolicyRequestError(`${where} must be an array`);
  return raw;
}

function string(raw: unknown, where: string): string {
  if (typeof raw !== 'string' || raw === '')
    throw new PolicyRequestError(`${where} must be a non-empty string`);
  return raw;
}

function matching(raw: unknown, where: string, pattern: RegExp, expected: string): string {
  const value = string(raw, where);
  if (!pattern.test(value)) throw new PolicyRequestError(`${where} must be ${expected}`);
  return value;
}

function instanceArn(raw: unknown, where: string): string {
  return matching(
    raw,
    where,
    INSTANCE_ARN,
    'an EC2 instance ARN (arn:aws:ec2:<region>:<account>:instance/i-…)',
  );
}

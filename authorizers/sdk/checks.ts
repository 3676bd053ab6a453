/**
 * Small pure checks for policy rules. Each reads only the request the CA verified (DESIGN §3.1:
 * Name, RoleName and SessionName come from the STS-verified ARN, never from caller input).
 */
import { checkHostCaller } from '../../src/authorize/host-caller.js';
import { personalAccountName } from '../../src/posix-name.js';
import type {
  LkpAuthorizationRequest,
  LkpHostCertAuthorizationRequest,
  LkpIdentity,
  LkpUserCertAuthorizationRequest,
  LkpVoucher,
} from '../../src/protocol.js';

/** Any request the CA asks a policy, admin actions included: the checks below read only its caller. */
export interface Caller {
  From: LkpIdentity;
}

/** The caller's account is one of `accounts`. */
export function inAccount(req: Caller, ...accounts: string[]): boolean {
  return accounts.includes(req.From.Account);
}

/** The caller is the IAM user `name` (not a federated user or role session that happens to share it). */
export function isIamUser(req: Caller, name: string): boolean {
  return req.From.Type === 'User' && req.From.Name === name;
}

/**
 * The role session name of an assumed-role caller: From.SessionName, else the part of From.Id
 * after ':' (the `${aws:userid}` form `AROA…:<session>`). Undefined for other callers. Whoever
 * assumes a role picks the session name, unless the role's trust policy pins it (SAML and IAM
 * Identity Center set it to the user's name): trust it only for such roles.
 */
export function roleSessionName(req: Caller): string | undefined {
  if (req.From.Type !== 'AssumedRole') return undefined;
  if (req.From.SessionName !== undefined) return req.From.SessionName;
  const colon = req.From.Id.indexOf(':');
  return colon < 0 ? undefined : req.From.Id.slice(colon + 1);
}

/**
 * The request is for the caller's own personal account: SshUsername equals posixName() of the IAM or
 * federated user name, or of the role session name (the account the host agent creates from the CA's Accounts answer).
 * Session names are chosen by whoever assumes the role unless its trust policy pins them (IAM
 * Identity Center and SAML do): combine with hasRole() for such roles.
 */
export function ownsAccount(req: LkpUserCertAuthorizationRequest): boolean {
  return req.SshUsername === personalAccountName(req.From);
}

/** The caller is a session of the role `roleName` (the name, not the ARN; paths are not part of it). */
export function hasRole(req: Caller, roleName: string): boolean {
  return req.From.Type === 'AssumedRole' && req.From.RoleName === roleName;
}

/**
 * The caller is a session of the role whose unique id (`AROA…`, from `aws iam get-role`) is
 * `roleId`. Unlike a name, the id changes when a role is deleted and re-created.
 */
export function hasRoleId(req: Caller, roleId: string): boolean {
  return req.From.Type === 'AssumedRole' && req.From.Id.startsWith(`${roleId}:`);
}

/** The instance the request is about: the login target, or the host asking for its certificate. */
export function instanceArnOf(req: LkpAuthorizationRequest): string {
  return req.Kind === 'LkpUserCertAuthorizationRequest' ? req.RemoteInstanceArn : req.HostInstanceArn;
}

/**
 * The request's instance ARN starts with `prefix` at an ARN boundary: the prefix ends with ':' or
 * '/', or the ARN continues with one of them, or they are equal. So `…:instance/i-1` does not
 * match `…:instance/i-12`, nor does account `…:12345678901` match `…:123456789012`.
 */
export function instanceArnStartsWith(req: LkpAuthorizationRequest, prefix: string): boolean {
  return arnStartsWith(instanceArnOf(req), prefix);
}

export function arnStartsWith(arn: string, prefix: string): boolean {
  if (prefix === '' || !arn.startsWith(prefix)) return false;
  return arn.length === prefix.length || /[:/]$/.test(prefix) || /^[:/]/.test(arn.slice(prefix.length));
}

/**
 * `now`'s UTC hour is in [from, to). A range with from > to wraps midnight (22–6 is 22:00–05:59);
 * from = to is empty; 0–24 is the whole day. Hours are whole numbers, from 0–23, to 0–24.
 */
export function withinUtcHours(now: Date, from: number, to: number): boolean {
  if (!isHour(from, 23) || !isHour(to, 24))
    throw new RangeError(`hours must be whole numbers, from 0–23 and to 0–24; got ${from}–${to}`);
  const hour = now.getUTCHours();
  return from <= to ? hour >= from && hour < to : hour >= from || hour < to;
}

const isHour = (h: number, max: number) => Number.isInteger(h) && h >= 0 && h <= max;

/**
 * The host request comes from the instance's own role session: the rule the CA enforces for host
 * certificates whatever the policy says (DESIGN §3.4), so a policy may simply answer with it.
 */
export function isInstanceOwnSession(req: LkpHostCertAuthorizationRequest): boolean {
  try {
    checkHostCaller(req.From, req.HostInstanceArn);
    return true;
  } catch {
    return false;
  }
}

/**
 * The names a voucher may write as Vouchee to mean `who`: the full ARN, or the short name, i.e. the
 * IAM or federated user name, or the role session name of an assumed role. Compared exactly.
 */
export function voucheeNames(who: LkpIdentity): string[] {
  const short = who.Type === 'AssumedRole' ? (who.SessionName ?? who.Id.split(':')[1]) : who.Name;
  return short === undefined ? [who.Arn] : [who.Arn, short];
}

export interface VoucherRule {
  /** What the vouchers must be for; default the request's RemoteInstanceArn. */
  context?: string;
  /** How many distinct vouchers are needed. */
  minimum: number;
  /** Vouchers by this identity do not count; default the caller (nobody vouches for themselves). */
  distinctFrom?: LkpIdentity;
}

export interface VoucherCount {
  /** Distinct identities that vouched for the caller in the context. */
  count: number;
  satisfied: boolean;
  /** Their ARNs, for the policy's log line. */
  vouchers: string[];
}

/**
 * Counts the vouchers (verified by the CA) for the caller: Vouchee is one of voucheeNames(caller),
 * Context equals the rule's context, and the voucher is another identity than `distinctFrom`.
 * Identities are distinct by ARN (case-insensitive) and unique id; two sessions of one role are two
 * ARNs, so for roles whose session names are not pinned one person may count twice.
 */
export function vouchersFor(req: LkpUserCertAuthorizationRequest, rule: VoucherRule): VoucherCount {
  const context = rule.context ?? req.RemoteInstanceArn;
  const excluded = rule.distinctFrom ?? req.From;
  const names = voucheeNames(req.From);
  const seen = new Set<string>();
  const vouchers: string[] = [];
  for (const v of req.Vouchers ?? []) {
    if (!names.includes(v.Vouchee) || v.Context !== context || sameIdentity(v, excluded)) continue;
    const keys = [`arn:${v.Arn.toLowerCase()}`, `id:${v.Id}`];
    if (keys.some((k) => seen.has(k))) continue;
    keys.forEach((k) => seen.add(k));
    vouchers.push(v.Arn);
  }
  return { count: vouchers.length, satisfied: vouchers.length >= rule.minimum, vouchers };
}

function sameIdentity(v: LkpVoucher, who: LkpIdentity): boolean {
  return v.Arn.toLowerCase() === who.Arn.toLowerCase() || v.Id === who.Id;
}

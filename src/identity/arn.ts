/**
 * Turns the caller STS vouched for into the LkpIdentity given to policies (DESIGN §3.1).
 * Only three ARN shapes are accepted, parsed by an explicit grammar with every part counted;
 * root and anything else is Forbidden. Name/RoleName/SessionName come only from the ARN.
 */
import { forbidden, unauthenticated, type LkpError } from '../errors.js';
import type { LkpIdentity } from '../protocol.js';
import type { CallerIdentity } from './sts.js';

const PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov'];
const ACCOUNT = /^\d{12}$/;
/** IAM name characters (user, role, session and federated user names). */
const IAM_NAME_CHARS = /^[A-Za-z0-9+=,.@_-]+$/;
/** IAM path segments may be any printable ASCII except the separator. */
const IAM_PATH_SEGMENT = /^[\x21-\x2e\x30-\x7e]+$/;
const MAX_IAM_PATH = 512;
const MAX_ARN = 2048;

type ParsedResource = Pick<LkpIdentity, 'Type' | 'Name' | 'RoleName' | 'SessionName'>;

interface ArnParts {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

export function identityFromArn(c: CallerIdentity, allowedAccounts: readonly string[]): LkpIdentity {
  const { Arn, Account, UserId } = checkCallerShape(c);
  const parts = splitArn(Arn);
  if (!parts) throw unsupported(Arn);
  checkArnHeader(parts, Arn);
  const identity = parseResource(parts, Arn);
  checkAccountConsistent(parts.account, Account);
  checkAccountAllowed(Account, allowedAccounts);
  return { Arn, Account, Id: UserId, ...identity };
}

/** The account an ARN names, or undefined when the string is not ARN-shaped (used to cross-check STS). */
export function arnAccount(arn: string): string | undefined {
  return splitArn(arn)?.account;
}

/** §3.1: the caller record must be the three strings STS returned. */
function checkCallerShape(c: unknown): CallerIdentity {
  const r = typeof c === 'object' && c !== null ? (c as Record<string, unknown>) : {};
  const { Arn, Account, UserId } = r;
  if (typeof Arn !== 'string' || typeof Account !== 'string' || typeof UserId !== 'string' || UserId === '') {
    throw unauthenticated('STS answer lacks Arn, Account or UserId');
  }
  return { Arn, Account, UserId };
}

/** arn:partition:service:region:account:resource — exactly five separators before the resource. */
function splitArn(arn: string): ArnParts | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn' || arn.length > MAX_ARN) return undefined;
  const [, partition = '', service = '', region = '', account = ''] = parts;
  return { partition, service, region, account, resource: parts.slice(5).join(':') };
}

/** §3.1: only the commercial, China and GovCloud partitions; IAM/STS identities have no region. */
function checkArnHeader(parts: ArnParts, arn: string): void {
  if (!PARTITIONS.includes(parts.partition) || parts.region !== '' || !ACCOUNT.test(parts.account)) {
    throw unsupported(arn);
  }
}

/** §3.1: root is never accepted; only users, assumed roles and federated users are. */
function parseResource(parts: ArnParts, arn: string): ParsedResource {
  if (parts.resource === 'root')
    throw forbidden('root credentials are never accepted; use an IAM user or role');
  const [kind, ...rest] = parts.resource.split('/');
  if (parts.service === 'iam' && kind === 'user') return parseUser(rest, arn);
  if (parts.service === 'sts' && kind === 'assumed-role') return parseAssumedRole(rest, arn);
  if (parts.service === 'sts' && kind === 'federated-user') return parseFederatedUser(rest, arn);
  throw unsupported(arn);
}

/** user/<path/>name: the path is any printable segments, the name an IAM user name (≤ 64). */
function parseUser(rest: string[], arn: string): ParsedResource {
  const name = rest[rest.length - 1] ?? '';
  const path = rest.slice(0, -1);
  const pathLength = path.reduce((n, s) => n + s.length + 1, 1);
  if (!isIamName(name, 1, 64) || !path.every((s) => IAM_PATH_SEGMENT.test(s)) || pathLength > MAX_IAM_PATH) {
    throw unsupported(arn);
  }
  return { Type: 'User', Name: name };
}

/** assumed-role/<role>/<session>: exactly two parts, role ≤ 64, session 2..64. */
function parseAssumedRole(rest: string[], arn: string): ParsedResource {
  const [role = '', session = ''] = rest;
  if (rest.length !== 2 || !isIamName(role, 1, 64) || !isIamName(session, 2, 64)) throw unsupported(arn);
  return { Type: 'AssumedRole', RoleName: role, SessionName: session };
}

/** federated-user/<name>: exactly one part, 2..32 characters. */
function parseFederatedUser(rest: string[], arn: string): ParsedResource {
  const [name = ''] = rest;
  if (rest.length !== 1 || !isIamName(name, 2, 32)) throw unsupported(arn);
  return { Type: 'FederatedUser', Name: name };
}

/** §3.1: STS's Account field and the ARN must agree, or the answer is not trustworthy. */
function checkAccountConsistent(arnAcct: string, account: string): void {
  if (arnAcct !== account)
    throw unauthenticated('STS answer is inconsistent: Account does not match the Arn');
}

/** §3.1: only callers from the allowed accounts. */
function checkAccountAllowed(account: string, allowed: readonly string[]): void {
  if (!allowed.includes(account)) {
    const accepted = allowed.length > 0 ? allowed.join(', ') : 'no account';
    throw forbidden(`your credentials are for account ${account}; this CA accepts ${accepted}`);
  }
}

function isIamName(s: string, min: number, max: number): boolean {
  return s.length >= min && s.length <= max && IAM_NAME_CHARS.test(s);
}

function unsupported(arn: string): LkpError {
  const shown = /^[\x21-\x7e]{1,2048}$/.test(arn) ? arn : '(unprintable ARN)';
  return forbidden(
    `identity ${shown} is not supported; use an IAM user, an assumed role or a federated user`,
  );
}

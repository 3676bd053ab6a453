/**
 * A policy function's answer → Grant (DESIGN §3.4). Pure and fail closed: anything that is not
 * exactly a valid answer is a PolicyError naming the field; a valid answer that does not say
 * `Authorized: true` is Forbidden. camelCase keys are accepted as a courtesy (`authorized`), but an
 * object that spells one key both ways is ambiguous and refused.
 *
 * Messages name fields and positions, not values taken from the answer, except for the short
 * network entries of SourceAddress; policy answers hold no secrets, but they may hold junk.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { formatHostAddress, parseHostAddress, type HostAddress } from '../host-address.js';
import { forbidden, policyError } from '../errors.js';
import {
  EICE_DNS_NAME,
  EICE_ID,
  type LkpHostCertAuthorizationRequest,
  type LkpUserCertAuthorizationRequest,
} from '../protocol.js';
import type { LkpAdminAuthorizationRequest } from '../locks/protocol.js';
import { SSH_USERNAME } from '../request.js';
import {
  DEFAULT_USER_EXTENSIONS,
  defaultUserPrincipal,
  type Grant,
  type IngressGrant,
  type JumpboxGrant,
} from './grant.js';

const MAX_PRINCIPALS = 32;
const MAX_PRINCIPAL_LENGTH = 256;
const MAX_JUMPBOXES = 4;
const MAX_FORCE_COMMAND_LENGTH = 1024;
const MAX_SOURCE_ADDRESSES = 64;
/** A 253-character DNS name, brackets and a port. */
const MAX_ADDRESS_LENGTH = 253 + 8;
/** How much of a policy's deny reason reaches the caller and the audit line. */
export const MAX_REASON_LENGTH = 200;

const USER_FIELDS = [
  'Authorized',
  'Principals',
  'Jumpboxes',
  'TargetAddress',
  'CertificateOptions',
  'Ingress',
  'InstanceConnectEndpoint',
  'Reason',
] as const;
const HOST_FIELDS = ['Authorized', 'Principals', 'KeyId', 'Reason'] as const;
const JUMPBOX_FIELDS = ['Address', 'User', 'HostKeyAlias', 'Principals'] as const;
const INGRESS_FIELDS = ['SecurityGroupId', 'Ports', 'Protocol'] as const;
const ENDPOINT_FIELDS = ['Id', 'DnsName'] as const;
const MAX_INGRESS_PORTS = 8;
/** EC2 security group ids: sg- and 8 (older) or 17 lower-case hex digits. */
const SECURITY_GROUP_ID = /^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** DESIGN §3.4: each boolean option switches one certificate extension on or off. */
const PERMIT_EXTENSIONS = {
  PermitPty: 'permit-pty',
  PermitPortForwarding: 'permit-port-forwarding',
  PermitAgentForwarding: 'permit-agent-forwarding',
  PermitX11Forwarding: 'permit-X11-forwarding',
  PermitUserRc: 'permit-user-rc',
} as const;
type PermitOption = keyof typeof PERMIT_EXTENSIONS;
const PERMIT_OPTIONS = Object.keys(PERMIT_EXTENSIONS) as PermitOption[];
const OPTION_FIELDS = ['ForceCommand', 'SourceAddress', 'ValidForSeconds', ...PERMIT_OPTIONS] as const;

/** One key of an answer object: `name` is its path as the policy spelled it, for messages. */
export interface Field {
  name: string;
  value: unknown;
}

export const invalid = (message: string) => policyError(`policy answer: ${message}`);

/** A user-certificate answer → Grant; throws Forbidden for a denial, PolicyError for anything malformed. */
export function parseUserPolicyResponse(raw: unknown, req: LkpUserCertAuthorizationRequest): Grant {
  const fields = readFields(raw, '', USER_FIELDS);
  checkAuthorized(fields, `policy denied access to ${req.RemoteInstanceArn} for ${req.SshUsername}`);
  const options = parseCertificateOptions(fields.CertificateOptions);
  const grant: Grant = {
    // An absent list means the default; an empty one is refused in parsePrincipals (DESIGN §3.4).
    principals: fields.Principals
      ? parsePrincipals(fields.Principals, 1)
      : [defaultUserPrincipal(req.SshUsername, req.RemoteInstanceArn)],
    criticalOptions: options.criticalOptions,
    extensions: options.extensions,
  };
  if (options.validForSeconds !== undefined) grant.validForSeconds = options.validForSeconds;
  if (fields.TargetAddress) grant.targetAddress = formatHostAddress(parseAddress(fields.TargetAddress));
  const jumpboxes = fields.Jumpboxes ? parseJumpboxes(fields.Jumpboxes) : [];
  if (jumpboxes.length > 0) grant.jumpboxes = jumpboxes;
  if (fields.Ingress) grant.ingress = parseIngress(fields.Ingress);
  if (fields.InstanceConnectEndpoint)
    grant.instanceConnectEndpoint = parseInstanceConnectEndpoint(fields.InstanceConnectEndpoint);
  return grant;
}

/** A host-certificate answer → Grant naming the instance ARN first; same failures as for users. */
export function parseHostPolicyResponse(raw: unknown, req: LkpHostCertAuthorizationRequest): Grant {
  const fields = readFields(raw, '', HOST_FIELDS);
  // DESIGN §3.4: host certificates obey Authorized exactly like user ones.
  checkAuthorized(fields, `policy denied a host certificate for ${req.HostInstanceArn}`);
  // The seed let a policy set KeyId. It is accepted so such policies keep working, and ignored:
  // KeyId is always the instance ARN (DESIGN §3.5), so a policy cannot make sshd's logs lie.
  if (fields.KeyId && typeof fields.KeyId.value !== 'string')
    throw invalid(`${fields.KeyId.name} must be a string (it is ignored: KeyId is always the instance ARN)`);
  // Here Principals are extra names: the instance ARN is always first, so [] is harmless.
  const extra = fields.Principals ? parsePrincipals(fields.Principals, 0) : [];
  return { principals: unique([req.HostInstanceArn, ...extra]), criticalOptions: {}, extensions: [] };
}

/** An admin-action answer (Lock, Unlock, Locks): only `Authorized`, decided exactly like a certificate. */
export function parseAdminPolicyResponse(raw: unknown, req: LkpAdminAuthorizationRequest): void {
  const fields = readFields(raw, '', ['Authorized', 'Reason'] as const);
  checkAuthorized(fields, `policy denied ${req.From.Arn} the admin action ${req.Action}`);
}

/**
 * The object's keys, each matched to a known PascalCase field or its camelCase spelling. Unknown
 * keys and a key given in both spellings are refused (fail closed, DESIGN §3.4). Keys whose value
 * is `undefined` (possible only for answers built in JavaScript, not parsed JSON) count as absent.
 */
export function readFields<K extends string>(
  raw: unknown,
  where: string,
  known: readonly K[],
): Partial<Record<K, Field>> {
  if (!isPlainObject(raw)) throw invalid(`${where || 'the answer'} must be a JSON object`);
  const fields: Partial<Record<K, Field>> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const field = known.find((k) => k === key || camelCase(k) === key);
    if (field === undefined)
      throw invalid(
        `${where || 'the answer'} has an unknown field ${quote(key)} (expected ${known.join(', ')})`,
      );
    if (fields[field] !== undefined)
      throw invalid(`${path(where, field)} is given as both ${field} and ${camelCase(field)}; send one`);
    fields[field] = { name: path(where, key), value };
  }
  return fields;
}

/**
 * A missing or non-boolean Authorized is a broken policy; only an explicit false is a denial. The
 * denial carries the policy's Reason, cleaned, after the CA's own words, so the caller learns why.
 */
function checkAuthorized(fields: { Authorized?: Field; Reason?: Field }, denial: string): void {
  const field = fields.Authorized;
  if (field === undefined)
    throw invalid('Authorized is missing; answer {"Authorized": true} or {"Authorized": false}');
  if (typeof field.value !== 'boolean') throw invalid(`${field.name} must be true or false`);
  const reason = parseReason(fields.Reason);
  if (field.value !== true) throw forbidden(reason === undefined ? denial : `${denial}: ${reason}`);
}

/**
 * (lkp) A policy's Reason is meant for the caller, but it is still the policy's text: it reaches a
 * terminal and a log line only as one line of at most MAX_REASON_LENGTH printable ASCII characters
 * (whitespace runs become one space, anything else outside ASCII '?'), so it can neither forge a
 * line nor send escape sequences. A Reason that is not a string is a broken answer.
 */
export function parseReason(field: Field | undefined): string | undefined {
  if (field === undefined) return undefined;
  if (typeof field.value !== 'string') throw invalid(`${field.name} must be a string`);
  return cleanReason(field.value);
}

/** The reason as the caller sees it, or undefined when nothing printable is left. */
export function cleanReason(text: string): string | undefined {
  const clean = text
    .replace(/\s+/gu, ' ')
    .replace(/[^\x20-\x7e]/gu, '?')
    .trim();
  if (clean === '') return undefined;
  return clean.length <= MAX_REASON_LENGTH ? clean : `${clean.slice(0, MAX_REASON_LENGTH - 3)}...`;
}

type CertificateOptions = Pick<Grant, 'criticalOptions' | 'extensions' | 'validForSeconds'>;

function parseCertificateOptions(field: Field | undefined): CertificateOptions {
  const options = field ? readFields(field.value, field.name, OPTION_FIELDS) : {};
  const criticalOptions: Record<string, string> = {};
  if (options.ForceCommand) criticalOptions['force-command'] = parseForceCommand(options.ForceCommand);
  if (options.SourceAddress) criticalOptions['source-address'] = parseSourceAddress(options.SourceAddress);

  // DESIGN §3.4: the defaults (pty, port forwarding) apply unless the policy switches them off.
  const extensions = new Set(DEFAULT_USER_EXTENSIONS);
  for (const option of PERMIT_OPTIONS) {
    const given = options[option];
    if (given === undefined) continue;
    if (typeof given.value !== 'boolean') throw invalid(`${given.name} must be true or false`);
    if (given.value) extensions.add(PERMIT_EXTENSIONS[option]);
    else extensions.delete(PERMIT_EXTENSIONS[option]);
  }

  const result: CertificateOptions = { criticalOptions, extensions: [...extensions].sort() };
  if (options.ValidForSeconds) result.validForSeconds = parseValidForSeconds(options.ValidForSeconds);
  return result;
}

/** Only ever shortens the CA's TTL: src/template.ts takes the minimum of the two. */
function parseValidForSeconds(field: Field): number {
  const seconds = field.value;
  if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds <= 0)
    throw invalid(`${field.name} must be a positive whole number of seconds`);
  return seconds;
}

/** Principal lists end up in certificates and sshd pattern lists, so sshd's list syntax is refused. */
function parsePrincipals(field: Field, min: 0 | 1): string[] {
  if (!Array.isArray(field.value)) throw invalid(`${field.name} must be an array of strings`);
  if (field.value.length < min)
    throw invalid(
      `${field.name} is empty; omit it for the default principal (an empty list is never signed)`,
    );
  if (field.value.length > MAX_PRINCIPALS)
    throw invalid(`${field.name} has more than ${MAX_PRINCIPALS} entries`);
  return unique(
    // Array.from, not .map: a hole must be checked (and refused) like any other entry.
    Array.from(field.value, (value: unknown, i) => parsePrincipal({ name: `${field.name}[${i}]`, value })),
  );
}

/**
 * DESIGN §3.4/§3.5: 1..256 printable ASCII characters, without ',' (it separates principals in
 * sshd lists), '*' and '?' (sshd wildcards) or whitespace: a principal must name one thing.
 */
function parsePrincipal(field: Field): string {
  if (typeof field.value !== 'string') throw invalid(`${field.name} must be a string`);
  if (field.value.length === 0 || field.value.length > MAX_PRINCIPAL_LENGTH)
    throw invalid(`${field.name} must be 1 to ${MAX_PRINCIPAL_LENGTH} characters`);
  const bad = [...field.value].find((c) => !/^[\x21-\x7e]$/.test(c) || ',*?'.includes(c));
  if (bad !== undefined) throw invalid(`${field.name} contains ${describeCharacter(bad)}`);
  return field.value;
}

/** sshd runs it through the user's shell: one line, so a log or config line cannot be forged from it. */
function parseForceCommand(field: Field): string {
  if (typeof field.value !== 'string') throw invalid(`${field.name} must be a string`);
  if (field.value.length === 0 || field.value.length > MAX_FORCE_COMMAND_LENGTH)
    throw invalid(`${field.name} must be 1 to ${MAX_FORCE_COMMAND_LENGTH} characters`);
  const bad = [...field.value].find((c) => c === '\0' || c === '\r' || c === '\n');
  if (bad !== undefined)
    throw invalid(`${field.name} contains ${describeCharacter(bad)}; it must be one line`);
  return field.value;
}

/**
 * DESIGN §3.4: a strict CIDR list, as sshd's source-address option: comma-separated, no spaces,
 * each entry an address or address/prefix. sshd refuses a certificate whose list it cannot parse,
 * including prefixes with host bits set, so such a list is refused here, with a reason.
 */
function parseSourceAddress(field: Field): string {
  if (typeof field.value !== 'string') throw invalid(`${field.name} must be a string`);
  if (field.value === '') throw invalid(`${field.name} is empty; omit it to allow any source address`);
  if (/\s/.test(field.value))
    throw invalid(
      `${field.name} contains whitespace; write the list with commas only (10.0.0.0/8,192.0.2.1)`,
    );
  const entries = field.value.split(',');
  if (entries.length > MAX_SOURCE_ADDRESSES)
    throw invalid(`${field.name} has more than ${MAX_SOURCE_ADDRESSES} entries`);
  entries.forEach((entry, i) => {
    const problem = cidrProblem(entry);
    if (problem !== undefined) throw invalid(`${field.name} entry ${i + 1} (${quote(entry)}) ${problem}`);
  });
  return field.value;
}

function cidrProblem(entry: string): string | undefined {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const bytes = addressBytes(address);
  if (bytes === undefined)
    return 'is not an IPv4 or IPv6 address or network (a.b.c.d, a.b.c.d/n, x:y::z, x:y::/n; no spaces)';
  if (slash < 0) return undefined;
  const prefix = entry.slice(slash + 1);
  const maxBits = bytes.length * 8;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix) || Number(prefix) > maxBits)
    return `has an invalid prefix length; use /0 to /${maxBits}`;
  if (!hostBitsAreZero(bytes, Number(prefix)))
    return `has bits set after the /${prefix} prefix; give the network address`;
  return undefined;
}

/** The address as bytes, or undefined when it is not a canonical IPv4 or a zone-less IPv6 literal. */
function addressBytes(address: string): number[] | undefined {
  // node:net refuses IPv4 octets with leading zeros, which some parsers read as octal.
  if (isIPv4(address)) return address.split('.').map(Number);
  if (!isIPv6(address) || address.includes('%')) return undefined;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const hex = dotted
    ? address.slice(0, dotted.index) +
      [(Number(dotted[1]) << 8) | Number(dotted[2]), (Number(dotted[3]) << 8) | Number(dotted[4])]
        .map((n) => n.toString(16))
        .join(':')
    : address;
  const [head = '', tail] = hex.split('::');
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const words = [
    ...groups(head),
    ...Array<string>(8 - groups(head).length - groups(tail).length).fill('0'),
    ...groups(tail),
  ];
  return words.flatMap((w) => [parseInt(w, 16) >> 8, parseInt(w, 16) & 0xff]);
}

function hostBitsAreZero(bytes: number[], prefix: number): boolean {
  return bytes.every((byte, i) => {
    const networkBits = Math.min(8, Math.max(0, prefix - i * 8));
    return (byte & (0xff >> networkBits)) === 0;
  });
}

/** TargetAddress or a jumpbox's Address (DESIGN §3.2): `host`, `host:port` or `[ipv6]:port`. */
function parseAddress(field: Field): HostAddress {
  const value = field.value;
  if (typeof value !== 'string') throw invalid(`${field.name} must be a string`);
  const address = value.length <= MAX_ADDRESS_LENGTH ? parseHostAddress(value) : undefined;
  if (address === undefined)
    throw invalid(
      `${field.name} must be host, host:port or [IPv6]:port, where host is a DNS name (letters, digits, '-' inside labels, '.') or an IP address and port is 1 to 65535`,
    );
  return address;
}

function parseJumpboxes(field: Field): JumpboxGrant[] {
  if (!Array.isArray(field.value)) throw invalid(`${field.name} must be an array`);
  if (field.value.length > MAX_JUMPBOXES)
    throw invalid(`${field.name} has more than ${MAX_JUMPBOXES} entries`);
  return Array.from(field.value, (entry: unknown, i) => parseJumpbox(entry, `${field.name}[${i}]`));
}

function parseJumpbox(raw: unknown, where: string): JumpboxGrant {
  const fields = readFields(raw, where, JUMPBOX_FIELDS);
  if (!fields.Address) throw invalid(`${path(where, 'Address')} is missing`);
  if (!fields.User) throw invalid(`${path(where, 'User')} is missing`);
  const address = parseAddress(fields.Address);
  const user = fields.User.value;
  if (typeof user !== 'string' || !SSH_USERNAME.test(user))
    throw invalid(
      `${fields.User.name} must be a POSIX user name: letters, digits, . _ -, not starting with - or a digit, at most 32`,
    );
  // The host certificate names the host, not the port it listens on.
  const hostKeyAlias = fields.HostKeyAlias ? parsePrincipal(fields.HostKeyAlias) : address.host;
  return {
    address: formatHostAddress(address),
    user,
    hostKeyAlias,
    // DESIGN §3.4: jumpbox certificates are for `<User>@<HostKeyAlias>` unless the policy says otherwise.
    principals: fields.Principals ? parsePrincipals(fields.Principals, 1) : [`${user}@${hostKeyAlias}`],
  };
}

/**
 * Our addition (docs/access-policy.md, "Network access leases"): the security group to open for the
 * caller's observed address. Whether the CA may touch that group is its own configuration's call
 * (LKP_INGRESS_GROUPS), checked when the lease is opened; here only the shape is judged.
 */
function parseIngress(field: Field): IngressGrant {
  const fields = readFields(field.value, field.name, INGRESS_FIELDS);
  const group = fields.SecurityGroupId;
  if (!group) throw invalid(`${path(field.name, 'SecurityGroupId')} is missing`);
  if (typeof group.value !== 'string' || !SECURITY_GROUP_ID.test(group.value))
    throw invalid(`${group.name} must be a security group id like sg-0123456789abcdef0`);
  if (fields.Protocol && fields.Protocol.value !== 'tcp')
    throw invalid(`${fields.Protocol.name} must be "tcp" (the only protocol lkp opens)`);
  const ingress: IngressGrant = { securityGroupId: group.value, protocol: 'tcp' };
  if (fields.Ports) ingress.ports = parsePorts(fields.Ports);
  return ingress;
}

/**
 * Our addition (docs/eice.md): the EC2 Instance Connect Endpoint to reach the target through. The
 * client sends a presigned URL to DnsName, so only a name under AWS's domains passes.
 */
function parseInstanceConnectEndpoint(field: Field): { id: string; dnsName?: string } {
  const fields = readFields(field.value, field.name, ENDPOINT_FIELDS);
  const id = fields.Id;
  if (!id) throw invalid(`${path(field.name, 'Id')} is missing`);
  if (typeof id.value !== 'string' || !EICE_ID.test(id.value))
    throw invalid(`${id.name} must be an endpoint id like eice-0123456789abcdef0`);
  const dns = fields.DnsName;
  if (dns === undefined) return { id: id.value };
  if (typeof dns.value !== 'string' || !EICE_DNS_NAME.test(dns.value))
    throw invalid(
      `${dns.name} must be the endpoint's DNS name under amazonaws.com (lower case; omit it to let the client look it up)`,
    );
  return { id: id.value, dnsName: dns.value };
}

function parsePorts(field: Field): number[] {
  const ports = field.value;
  if (!Array.isArray(ports) || ports.length === 0 || ports.length > MAX_INGRESS_PORTS)
    throw invalid(`${field.name} must be an array of 1 to ${MAX_INGRESS_PORTS} port numbers`);
  const numbers = Array.from(ports, (port: unknown, i) => {
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
      throw invalid(`${field.name}[${i}] must be a whole number from 1 to 65535`);
    return port;
  });
  if (new Set(numbers).size !== numbers.length) throw invalid(`${field.name} lists a port twice`);
  return [...numbers].sort((a, b) => a - b);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const camelCase = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);
const path = (where: string, key: string) => (where === '' ? key : `${where}.${key}`);
const unique = (values: string[]) => [...new Set(values)];
/** A value from the answer, shortened and escaped so that it cannot garble the message. */
const quote = (value: string) => JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);

function describeCharacter(c: string): string {
  if (/^[\x21-\x7e]$/.test(c)) return `'${c}'`;
  if (/^[\x00-\x1f\x7f]$/.test(c)) return `a control character (U+${hex4(c)})`;
  if (/^\s$/.test(c)) return `whitespace (U+${hex4(c)})`;
  return `a non-ASCII character (U+${hex4(c)})`;
}

const hex4 = (c: string) => (c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');

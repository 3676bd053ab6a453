/**
 * Raw JSON → typed CaRequest (DESIGN §3.2). Shape only: unknown fields, wrong types, over-long
 * strings and over-large bodies are BadRequest. Whether the proof is genuine is src/identity's job.
 */
import { badRequest } from './errors.js';
import { parseRevocationRequest, REVOCATION_KINDS } from './locks/request.js';
import {
  MAX_REQUEST_BYTES,
  MAX_VOUCHERS,
  type CaRequest,
  type HostCertRequest,
  type IdentityProof,
  type UserCertRequest,
} from './protocol.js';

export type Json = Record<string, unknown>;

const MAX_STRING = 8 * 1024;
const MAX_HEADERS = 16;
const MAX_HOST_PRINCIPALS = 32;

/** POSIX portable user name, not starting with '-' or a digit, at most 32 characters. */
export const SSH_USERNAME = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;
export const INSTANCE_ARN =
  /^arn:(aws|aws-cn|aws-us-gov):ec2:([a-z]{2}(?:-gov)?-[a-z]+-\d{1,2}):(\d{12}):instance\/(i-[0-9a-f]{8,17})$/;
/** A DNS name or an IPv4/IPv6 literal, as a host might be reached. */
const HOST_NAME = /^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$|^[0-9a-fA-F:.]{2,45}$/;

/** Decodes a transport body (HTTP, Function URL) into a request, enforcing the size limit first. */
export function parseRequestBody(body: string | Buffer): CaRequest {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (size > MAX_REQUEST_BYTES)
    throw badRequest(`request body is ${size} bytes; the limit is ${MAX_REQUEST_BYTES}`);
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString());
  } catch {
    throw badRequest('request body is not valid JSON');
  }
  return parseRequest(raw);
}

export function parseRequest(raw: unknown): CaRequest {
  const req = object(raw, 'request');
  switch (req.Kind) {
    case 'Info':
      onlyFields(req, 'request', ['Kind']);
      return { Kind: 'Info' };
    case 'User':
      return parseUserRequest(req);
    case 'Host':
      return parseHostRequest(req);
    case 'Close':
      onlyFields(req, 'request', ['Kind', 'Identity', 'PublicKey']);
      return {
        Kind: 'Close',
        Identity: parseIdentityProof(req.Identity),
        PublicKey: string(req.PublicKey, 'PublicKey'),
      };
    case 'Accounts':
      onlyFields(req, 'request', ['Kind', 'Identity', 'PublicKey', 'HostInstanceArn']);
      return {
        Kind: 'Accounts',
        Identity: parseIdentityProof(req.Identity),
        PublicKey: string(req.PublicKey, 'PublicKey'),
        HostInstanceArn: instanceArn(req.HostInstanceArn, 'HostInstanceArn'),
      };
    default:
      if (REVOCATION_KINDS.includes(req.Kind as never)) return parseRevocationRequest(req);
      throw badRequest(
        `request Kind must be one of "User", "Host", "Info", "Close", "Accounts", ${REVOCATION_KINDS.map((k) => `"${k}"`).join(', ')}`,
      );
  }
}

function parseUserRequest(req: Json): UserCertRequest {
  onlyFields(req, 'request', [
    'Kind',
    'Identity',
    'PublicKey',
    'RemoteInstanceArn',
    'SshUsername',
    'Vouchers',
  ]);
  const sshUsername = string(req.SshUsername, 'SshUsername');
  if (!SSH_USERNAME.test(sshUsername))
    throw badRequest(
      'SshUsername must be a POSIX user name: letters, digits, . _ -, not starting with - or a digit, at most 32',
    );
  const remoteInstanceArn = instanceArn(req.RemoteInstanceArn, 'RemoteInstanceArn');
  const parsed: UserCertRequest = {
    Kind: 'User',
    Identity: parseIdentityProof(req.Identity),
    PublicKey: string(req.PublicKey, 'PublicKey'),
    RemoteInstanceArn: remoteInstanceArn,
    SshUsername: sshUsername,
  };
  // Tokens only: src/identity/voucher.ts decodes and verifies them once the caller is authenticated.
  const vouchers = stringArray(req.Vouchers ?? [], 'Vouchers', MAX_VOUCHERS);
  if (vouchers.length > 0) parsed.Vouchers = vouchers;
  return parsed;
}

function parseHostRequest(req: Json): HostCertRequest {
  onlyFields(req, 'request', ['Kind', 'Identity', 'PublicKey', 'HostInstanceArn', 'Principals']);
  const hostInstanceArn = instanceArn(req.HostInstanceArn, 'HostInstanceArn');
  const principals = stringArray(req.Principals ?? [], 'Principals', MAX_HOST_PRINCIPALS);
  const bad = principals.find((p) => !HOST_NAME.test(p));
  if (bad !== undefined)
    throw badRequest(`Principals must be host names or IP addresses; "${printable(bad)}" is not`);
  return {
    Kind: 'Host',
    Identity: parseIdentityProof(req.Identity),
    PublicKey: string(req.PublicKey, 'PublicKey'),
    HostInstanceArn: hostInstanceArn,
    Principals: principals,
  };
}

/** The shape of a proof: the request's Identity, or the proof inside a voucher token (`what` names it). */
export function parseIdentityProof(raw: unknown, what = 'Identity'): IdentityProof {
  const proof = object(raw, what);
  onlyFields(proof, what, ['Method', 'Url', 'Body', 'Headers']);
  const headers = object(proof.Headers, `${what}.Headers`);
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) throw badRequest(`${what}.Headers has more than ${MAX_HEADERS} headers`);
  // No prototype: a header named `__proto__` must stay a header (and be refused by the allow-list), not vanish.
  const parsedHeaders: Record<string, string | number> = Object.create(null) as Record<
    string,
    string | number
  >;
  for (const [name, value] of entries) {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) parsedHeaders[name] = value;
    else parsedHeaders[name] = string(value, `${what}.Headers.${printable(name)}`);
  }
  return {
    Method: string(proof.Method, `${what}.Method`),
    Url: string(proof.Url, `${what}.Url`),
    Body: string(proof.Body, `${what}.Body`),
    Headers: parsedHeaders,
  };
}

export function instanceArn(raw: unknown, what: string): string {
  const arn = string(raw, what);
  if (!INSTANCE_ARN.test(arn))
    throw badRequest(`${what} must be an EC2 instance ARN: arn:aws:ec2:<region>:<account>:instance/i-…`);
  return arn;
}

export function object(raw: unknown, what: string): Json {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw badRequest(`${what} must be a JSON object`);
  return raw as Json;
}

export function onlyFields(obj: Json, what: string, allowed: readonly string[]): void {
  const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    throw badRequest(
      `${what} has unknown field(s) ${unknown.map(printable).join(', ')}; allowed: ${allowed.join(', ')}`,
    );
}

export function string(raw: unknown, what: string): string {
  if (typeof raw !== 'string') throw badRequest(`${what} must be a string`);
  if (raw.length > MAX_STRING) throw badRequest(`${what} is longer than ${MAX_STRING} characters`);
  return raw;
}

function stringArray(raw: unknown, what: string, max: number): string[] {
  if (!Array.isArray(raw)) throw badRequest(`${what} must be an array of strings`);
  if (raw.length > max) throw badRequest(`${what} may have at most ${max} entries`);
  // Array.from turns holes into undefined, so a sparse array fails the element check instead of skipping it.
  return Array.from(raw, (v: unknown, i) => string(v, `${what}[${i}]`));
}

/** Echo caller text in messages only as short printable ASCII, so logs and terminals stay clean. */
function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}

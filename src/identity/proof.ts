/**
 * Checks a forwarded, signed-but-unsent STS GetCallerIdentity request (DESIGN §3.1) and turns it
 * into exactly the request the CA will send. Pure: no I/O, no clock of its own. Every rule is a
 * named guard so it can be tested alone; any failure is Unauthenticated and nothing is forwarded.
 * Messages never echo the Authorization value, the signature or the security token (DESIGN §5).
 */
import { internal, unauthenticated } from '../errors.js';
import {
  HEADER_KEY_FINGERPRINT,
  HEADER_SERVER_ID,
  HEADER_VOUCHEE,
  HEADER_VOUCHER_CONTEXT,
  STS_ACTION_BODY,
  type IdentityProof,
} from '../protocol.js';

/** The request the CA sends to STS: url, headers and body exactly as they go on the wire. */
export interface StsProof {
  url: string;
  headers: Record<string, string>;
  body: string;
}

interface CommonExpectations {
  stsEndpoint: string;
  region: string;
  serverId: string;
  clockSkewSeconds: number;
  now: Date;
}

/** A caller's proof: bound to the key the request asks a certificate for (§3.1). */
export interface ProofExpectations extends CommonExpectations {
  keyFingerprint: string;
}

/**
 * A voucher (§3.2 Vouchers): bound to whom it vouches for and in what context instead of a key,
 * and accepted for up to maxAgeSeconds after signing, since it travels from one person to another.
 */
export interface VoucherExpectations extends CommonExpectations {
  voucher: { maxAgeSeconds: number };
}

const COMMON_HEADERS = [
  'Authorization',
  'Host',
  'X-Amz-Date',
  'X-Amz-Security-Token',
  'Content-Type',
  HEADER_SERVER_ID,
  'Content-Length',
] as const;
/** Headers that bind a proof to its use; each kind of proof requires and signs its own, and allows no other. */
const BINDING_HEADERS = [HEADER_KEY_FINGERPRINT, HEADER_VOUCHEE, HEADER_VOUCHER_CONTEXT] as const;
type AllowedHeader = (typeof COMMON_HEADERS)[number] | (typeof BINDING_HEADERS)[number];
type HeaderMap = ReadonlyMap<AllowedHeader, string>;

const COMMON_REQUIRED: readonly AllowedHeader[] = [
  'Authorization',
  'Host',
  'X-Amz-Date',
  'Content-Type',
  HEADER_SERVER_ID,
];

/** What distinguishes a caller's proof from a voucher: its name in messages, binding headers and age limit. */
interface ProofKind {
  /** e.g. "identity proof", for messages. */
  name: string;
  article: string;
  binding: readonly AllowedHeader[];
  /** How old the proof may be; undefined: the clock skew, as for a caller's proof. */
  maxAgeSeconds?: number;
}
const ACCEPTED_BODIES: readonly string[] = [STS_ACTION_BODY, 'Action=GetCallerIdentity'];
const ACCEPTED_CONTENT_TYPES: readonly string[] = [
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded',
];
const ALWAYS_SIGNED = ['host', 'x-amz-date', 'x-lkp-server-id'];
const PROOF_FIELDS = ['Method', 'Url', 'Body', 'Headers'];

interface Sigv4Authorization {
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
}

interface ProofShape {
  Method: string;
  Url: string;
  Body: string;
  Headers: Record<string, unknown>;
}

/**
 * A caller's proof (ProofExpectations) or a voucher (VoucherExpectations): the same §3.1 guards,
 * differing only in the binding headers and the age limit. For a voucher, the returned headers
 * hold the signed X-Lkp-Vouchee and X-Lkp-Voucher-Context; their values are the caller's to judge.
 */
export function parseStsProof(
  proof: IdentityProof,
  expect: ProofExpectations | VoucherExpectations,
): StsProof {
  const kind = proofKind(expect);
  const endpoint = configuredEndpoint(expect.stsEndpoint);
  const p = checkProofShape(proof);
  checkMethod(p.Method);
  checkUrl(p.Url, endpoint);
  checkBody(p.Body);
  const headers = readHeaders(p.Headers, kind);
  checkRequiredHeaders(headers, kind);
  checkContentType(get(headers, 'Content-Type'));
  checkContentLength(headers.get('Content-Length'), p.Body);
  checkHost(get(headers, 'Host'), endpoint);
  checkAmzDate(get(headers, 'X-Amz-Date'), expect.now, expect.clockSkewSeconds, kind);
  const auth = parseAuthorization(get(headers, 'Authorization'));
  checkCredentialScope(auth, expect.region, get(headers, 'X-Amz-Date'));
  checkSignedHeaders(auth.signedHeaders, headers, kind);
  checkServerId(get(headers, HEADER_SERVER_ID), expect.serverId);
  if ('keyFingerprint' in expect)
    checkKeyFingerprint(get(headers, HEADER_KEY_FINGERPRINT), expect.keyFingerprint);
  return { url: p.Url, body: p.Body, headers: outgoingHeaders(headers, p.Body) };
}

/**
 * §3.1 binds a caller's proof to its key; a voucher binds whom and what for instead (§3.2). Neither
 * may carry the other's headers, so a caller's proof is no voucher and a voucher no caller's proof.
 */
function proofKind(expect: ProofExpectations | VoucherExpectations): ProofKind {
  if ('voucher' in expect) {
    return {
      name: 'voucher',
      article: 'a voucher',
      binding: [HEADER_VOUCHEE, HEADER_VOUCHER_CONTEXT],
      maxAgeSeconds: expect.voucher.maxAgeSeconds,
    };
  }
  return {
    name: 'identity proof',
    article: 'an identity proof',
    binding: [HEADER_KEY_FINGERPRINT],
  };
}

/** §3.1: the CA only ever talks to its configured endpoint, so that endpoint must itself be a plain origin. */
function configuredEndpoint(stsEndpoint: string): URL {
  const u = URL.canParse(stsEndpoint) ? new URL(stsEndpoint) : undefined;
  if (!u || u.origin !== stsEndpoint || (u.protocol !== 'https:' && u.protocol !== 'http:')) {
    throw internal(
      `CA misconfigured: STS endpoint ${JSON.stringify(stsEndpoint)} is not a normalized http(s) origin`,
    );
  }
  return u;
}

/** §3.1: an allow-list of fields with the right types; anything else is not a proof we understand. */
function checkProofShape(proof: unknown): ProofShape {
  if (!isPlainObject(proof))
    throw unauthenticated('Identity must be an object with Method, Url, Body and Headers');
  if (Object.keys(proof).some((k) => !PROOF_FIELDS.includes(k))) {
    throw unauthenticated('Identity may only have the fields Method, Url, Body and Headers');
  }
  const { Method, Url, Body, Headers } = proof;
  if (
    typeof Method !== 'string' ||
    typeof Url !== 'string' ||
    typeof Body !== 'string' ||
    !isPlainObject(Headers)
  ) {
    throw unauthenticated('Identity needs string Method, Url and Body and an object Headers');
  }
  return { Method, Url, Body, Headers };
}

/** §3.1: GetCallerIdentity is sent as POST; any other method is a different request. */
function checkMethod(method: string): void {
  if (method !== 'POST') throw unauthenticated('Identity Method must be POST');
}

/** §3.1: the proof must target this CA's STS endpoint at `/`, so it can never steer where the CA connects. */
function checkUrl(raw: string, endpoint: URL): void {
  const expected = `${endpoint.origin}/`;
  const u = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!u) throw unauthenticated(`Identity Url is not a URL; expected ${expected}`);
  if (u.username !== '' || u.password !== '') throw unauthenticated('Identity Url must not carry user info');
  if (u.search !== '' || raw.includes('?'))
    throw unauthenticated('Identity Url must not have a query string');
  if (u.hash !== '' || raw.includes('#')) throw unauthenticated('Identity Url must not have a fragment');
  if (u.pathname !== '/') throw unauthenticated(`Identity Url path must be /; expected ${expected}`);
  if (u.hostname.endsWith('.')) throw unauthenticated('Identity Url host must not end with a dot');
  if (u.host !== endpoint.host || u.protocol !== endpoint.protocol) {
    throw unauthenticated(
      `Identity Url is for ${u.protocol}//${u.host}; this CA's STS endpoint is ${endpoint.origin}`,
    );
  }
  // The parsed form can normalise case, ports and escapes away; the raw string must match too.
  if (raw !== expected) throw unauthenticated(`Identity Url must be exactly ${expected}`);
}

/** §3.1: only the one action, so the signature cannot be reused for another STS call. */
function checkBody(body: string): void {
  if (!ACCEPTED_BODIES.includes(body)) {
    throw unauthenticated(`Identity Body must be exactly ${STS_ACTION_BODY} (Version optional)`);
  }
}

/** §3.1: allow-listed names only, one of each (case-insensitive), values that cannot split an HTTP header. */
function readHeaders(raw: Record<string, unknown>, kind: ProofKind): HeaderMap {
  const allowed: readonly AllowedHeader[] = [...COMMON_HEADERS, ...kind.binding];
  const headers = new Map<AllowedHeader, string>();
  for (const [name, value] of Object.entries(raw)) {
    const canonical = allowed.find((h) => h.toLowerCase() === name.toLowerCase());
    if (!canonical) throw unauthenticated(`header ${printableName(name)} is not allowed in ${kind.article}`);
    if (headers.has(canonical)) throw unauthenticated(`header ${canonical} appears more than once`);
    headers.set(canonical, headerValue(canonical, value));
  }
  return headers;
}

/** §3.1: values are strings (Content-Length may be aws4's number); no CR/LF/NUL or other control bytes. */
function headerValue(name: AllowedHeader, value: unknown): string {
  const isLengthNumber =
    name === 'Content-Length' && typeof value === 'number' && Number.isSafeInteger(value);
  if (typeof value !== 'string' && !isLengthNumber) throw unauthenticated(`header ${name} must be a string`);
  const text = String(value);
  if (!/^[\t\x20-\x7e]*$/.test(text)) {
    throw unauthenticated(`header ${name} contains CR, LF, NUL or another character not allowed in a header`);
  }
  return text;
}

/** §3.1: a proof without these cannot be bound to this CA, this key and this moment. */
function checkRequiredHeaders(headers: HeaderMap, kind: ProofKind): void {
  const missing = [...COMMON_REQUIRED, ...kind.binding].filter((h) => !headers.has(h));
  if (missing.length > 0) throw unauthenticated(`${kind.name} is missing header(s) ${missing.join(', ')}`);
}

/** §3.1: the body is a form; any other type would make STS read it differently. */
function checkContentType(value: string): void {
  if (!ACCEPTED_CONTENT_TYPES.includes(value)) {
    throw unauthenticated(`header Content-Type must be ${ACCEPTED_CONTENT_TYPES[0]}`);
  }
}

/** §3.1: a Content-Length that disagrees with the body would desynchronise the request STS reads. */
function checkContentLength(value: string | undefined, body: string): void {
  if (value === undefined) return;
  if (value !== String(Buffer.byteLength(body))) {
    throw unauthenticated(`header Content-Length must be ${Buffer.byteLength(body)}, the length of the Body`);
  }
}

/** §3.1: the signed Host must name the endpoint the CA sends to (port only if the endpoint has one). */
function checkHost(value: string, endpoint: URL): void {
  if (value.toLowerCase() !== endpoint.host.toLowerCase()) {
    throw unauthenticated(`header Host must be ${endpoint.host}, this CA's STS endpoint`);
  }
}

/**
 * §3.1: a fresh date limits how long a captured proof is worth anything. A voucher may be older
 * (LKP_VOUCHER_MAX_AGE, §3.2) but, like any proof, no further in the future than the clock skew.
 */
function checkAmzDate(value: string, now: Date, skewSeconds: number, kind: ProofKind): void {
  const signedAt = parseAmzDate(value);
  const ageMs = now.getTime() - signedAt;
  const awaySeconds = Math.round(Math.abs(ageMs) / 1000);
  const ownAgeLimit = ageMs > 0 && kind.maxAgeSeconds !== undefined;
  const allowed = ageMs > 0 ? (kind.maxAgeSeconds ?? skewSeconds) : skewSeconds;
  // negated so that a NaN clock or skew fails closed
  if (!(awaySeconds <= allowed)) {
    throw unauthenticated(
      ownAgeLimit
        ? `${kind.name} was signed ${awaySeconds} s ago (allowed ${allowed} s); ask for a fresh one`
        : `X-Amz-Date is ${awaySeconds} s away from the CA clock (allowed ${allowed} s); check your clock`,
    );
  }
}

function parseAmzDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  const iso = m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : '';
  const t = Date.parse(iso);
  // the round trip rejects dates like 20240230 that Date would silently roll over
  if (!m || Number.isNaN(t) || new Date(t).toISOString() !== iso) {
    throw unauthenticated('header X-Amz-Date must be a valid date in the form yyyymmddThhmmssZ');
  }
  return t;
}

/** §3.1: one strict AWS4-HMAC-SHA256 value, so no second credential or field can hide in it. */
function parseAuthorization(value: string): Sigv4Authorization {
  const prefix = 'AWS4-HMAC-SHA256 ';
  if (!value.startsWith(prefix))
    throw unauthenticated('header Authorization must be an AWS4-HMAC-SHA256 signature');
  const fields = value.slice(prefix.length).split(', ');
  if (fields.length !== 3) {
    throw unauthenticated(
      'header Authorization must have exactly Credential, SignedHeaders and Signature, in order',
    );
  }
  const [credential, signedHeaders, signature] = ['Credential', 'SignedHeaders', 'Signature'].map((name, i) =>
    authorizationField(fields[i] ?? '', name),
  ) as [string, string, string];
  const scope = /^[A-Za-z0-9_]{16,128}\/(\d{8})\/([a-z0-9-]{1,32})\/([a-z0-9-]{1,32})\/aws4_request$/.exec(
    credential,
  );
  if (!scope) {
    throw unauthenticated(
      'Authorization Credential must be <access key id>/<yyyymmdd>/<region>/sts/aws4_request',
    );
  }
  if (!/^[a-z0-9-]+(;[a-z0-9-]+)*$/.test(signedHeaders)) {
    throw unauthenticated('Authorization SignedHeaders must be lowercase header names separated by ;');
  }
  if (!/^[0-9a-f]{64}$/.test(signature))
    throw unauthenticated('Authorization Signature must be 64 hex digits');
  return {
    scopeDate: scope[1] ?? '',
    region: scope[2] ?? '',
    service: scope[3] ?? '',
    signedHeaders: signedHeaders.split(';'),
  };
}

function authorizationField(field: string, name: string): string {
  if (!field.startsWith(`${name}=`))
    throw unauthenticated(`header Authorization must have ${name}= in its place`);
  return field.slice(name.length + 1);
}

/** §3.1: a signature for another service, region or day is not a GetCallerIdentity proof for this CA. */
function checkCredentialScope(auth: Sigv4Authorization, region: string, amzDate: string): void {
  if (auth.service !== 'sts')
    throw unauthenticated(`request signed for service ${auth.service}, CA expects sts`);
  if (auth.region !== region)
    throw unauthenticated(`request signed for region ${auth.region}, CA expects ${region}`);
  if (auth.scopeDate !== amzDate.slice(0, 8)) {
    throw unauthenticated('Authorization credential scope date does not match X-Amz-Date');
  }
}

/** §3.1: the binding headers only bind if STS verified them, i.e. if they are signed. */
function checkSignedHeaders(signed: readonly string[], headers: HeaderMap, kind: ProofKind): void {
  for (let i = 1; i < signed.length; i++) {
    if ((signed[i - 1] ?? '') >= (signed[i] ?? '')) {
      throw unauthenticated('Authorization SignedHeaders must be sorted and without duplicates');
    }
  }
  const present = new Set([...headers.keys()].map((h) => h.toLowerCase()));
  const absent = signed.find((h) => !present.has(h));
  if (absent !== undefined)
    throw unauthenticated(`Authorization SignedHeaders names ${absent}, which is not sent`);
  const mustSign = [
    ...ALWAYS_SIGNED,
    ...kind.binding.map((h) => h.toLowerCase()),
    ...(present.has('x-amz-security-token') ? ['x-amz-security-token'] : []),
  ];
  const unsigned = mustSign.filter((h) => !signed.includes(h));
  if (unsigned.length > 0)
    throw unauthenticated(`Authorization SignedHeaders must include ${unsigned.join(', ')}`);
}

/** §3.1: a proof made for another CA (another server id) must not work here. */
function checkServerId(value: string, serverId: string): void {
  if (value !== serverId) {
    throw unauthenticated(
      `${HEADER_SERVER_ID} does not match this CA (expected ${serverId}); check which CA you use`,
    );
  }
}

/** §3.1: binds the proof to the submitted key, so a captured proof cannot certify another key. */
function checkKeyFingerprint(value: string, keyFingerprint: string): void {
  if (value !== keyFingerprint) {
    throw unauthenticated(
      `${HEADER_KEY_FINGERPRINT} does not match the request's PublicKey (${keyFingerprint}); sign the proof for that key`,
    );
  }
}

/** What goes to STS: canonical names, and Content-Length always set so Node never switches to chunked. */
function outgoingHeaders(headers: HeaderMap, body: string): Record<string, string> {
  const out: Record<string, string> = Object.fromEntries(headers);
  out['Content-Length'] = String(Buffer.byteLength(body));
  return out;
}

function get(headers: HeaderMap, name: AllowedHeader): string {
  return headers.get(name) ?? '';
}

function printableName(name: string): string {
  return /^[A-Za-z0-9-]{1,64}$/.test(name) ? name : '(unprintable name)';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An independent AWS Signature Version 4 verifier (AWS4-HMAC-SHA256, header and presigned-URL
 * forms), written from the AWS SigV4 specification with node:crypto so that the client's signer
 * (aws4) and this verifier cannot share a bug. Used by the local AWS stand-ins (DESIGN §6).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type SigV4FailureCode =
  | 'MissingAuthenticationToken'
  | 'IncompleteSignature'
  | 'InvalidClientTokenId'
  | 'SignatureDoesNotMatch'
  | 'RequestExpired';

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Present for temporary (ASIA…) credentials: the request must carry and sign the same token. */
  sessionToken?: string;
}

export interface RequestToVerify {
  method: string;
  /** The request target as received: path plus optional query. */
  target: string;
  /** Header name/value pairs in arrival order (Node's `rawHeaders`), so repeated headers stay visible. */
  headers: ReadonlyArray<readonly [string, string]>;
  body: Buffer | string;
}

export interface VerifyOptions {
  region: string;
  service: string;
  now: Date;
  /** Allowed distance between X-Amz-Date and `now`. */
  maxSkewMs: number;
  findCredentials(accessKeyId: string): SigningCredentials | undefined;
}

export type VerifyResult =
  { ok: true; accessKeyId: string } | { ok: false; code: SigV4FailureCode; message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AMZ_DATE = /^(\d{8})T\d{6}Z$/;

interface ParsedAuthorization {
  accessKeyId: string;
  scopeDate: string;
  scopeRegion: string;
  scopeService: string;
  scopeTerminator: string;
  signedHeaders: string[];
  signature: string;
}

const fail = (code: SigV4FailureCode, message: string): VerifyResult => ({ ok: false, code, message });

export function verifySigV4(req: RequestToVerify, opts: VerifyOptions): VerifyResult {
  const headers = groupHeaders(req.headers);
  const authorization = headers.get('authorization');
  if (authorization === undefined)
    return fail('MissingAuthenticationToken', 'Request is missing Authentication Token');
  if (authorization.length !== 1) return fail('IncompleteSignature', 'Authorization header must appear once');
  const auth = parseAuthorization(authorization[0] ?? '');
  if (typeof auth === 'string') return fail('IncompleteSignature', auth);

  const requestTime = headers.get('x-amz-date')?.length === 1 ? headers.get('x-amz-date')?.[0] : undefined;
  const dateMatch = AMZ_DATE.exec(requestTime ?? '');
  if (requestTime === undefined || !dateMatch) {
    return fail(
      'IncompleteSignature',
      'Authorization header requires a single X-Amz-Date header (YYYYMMDDTHHMMSSZ)',
    );
  }

  const scopeProblem = checkScope(auth, dateMatch[1] ?? '', opts);
  if (scopeProblem) return fail('SignatureDoesNotMatch', scopeProblem);
  for (const required of ['host', 'x-amz-date']) {
    if (!auth.signedHeaders.includes(required)) {
      return fail('SignatureDoesNotMatch', `'${required}' must be a SignedHeader in the AWS Authorization`);
    }
  }

  const credentials = opts.findCredentials(auth.accessKeyId);
  if (!credentials)
    return fail('InvalidClientTokenId', 'The security token included in the request is invalid.');
  const tokenProblem = checkSessionToken(
    credentials,
    headers.get('x-amz-security-token'),
    auth.signedHeaders,
  );
  if (tokenProblem) return tokenProblem;

  const skewMs = Math.abs(opts.now.getTime() - parseAmzDate(requestTime));
  // Written as !(<=) so that an impossible date (NaN) is rejected too.
  if (!(skewMs <= opts.maxSkewMs)) {
    return fail(
      'RequestExpired',
      `Request has expired: X-Amz-Date ${requestTime} is too far from the server time`,
    );
  }

  const missing = auth.signedHeaders.find((name) => !headers.has(name));
  if (missing)
    return fail('SignatureDoesNotMatch', `signed header '${missing}' is not present in the request`);

  const canonicalRequest = buildCanonicalRequest(req, headers, auth.signedHeaders, sha256Hex(req.body));
  return checkSignature(canonicalRequest, requestTime, auth, credentials);
}

function checkSignature(
  canonicalRequest: string,
  requestTime: string,
  auth: ParsedAuthorization,
  credentials: SigningCredentials,
): VerifyResult {
  const scope = [auth.scopeDate, auth.scopeRegion, auth.scopeService, auth.scopeTerminator].join('/');
  const stringToSign = [ALGORITHM, requestTime, scope, sha256Hex(canonicalRequest)].join('\n');
  const expected = hmac(signingKey(credentials.secretAccessKey, auth), stringToSign).toString('hex');
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(auth.signature))) {
    return fail(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  return { ok: true, accessKeyId: auth.accessKeyId };
}

/** The longest X-Amz-Expires SigV4 allows (7 days). */
const MAX_EXPIRES_SECONDS = 604_800;
const PRESIGN_PARAMETERS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
] as const;

/**
 * The presigned-URL form (query parameters X-Amz-*; what the AWS CLI sends for EC2 Instance Connect
 * Endpoint's OpenTunnel): valid from X-Amz-Date (less the allowed skew) for X-Amz-Expires seconds.
 * The payload of a GET is empty, and its hash is signed as such.
 */
export function verifyPresignedSigV4(
  req: Pick<RequestToVerify, 'method' | 'target' | 'headers'>,
  opts: VerifyOptions,
): VerifyResult {
  const headers = groupHeaders(req.headers);
  const queryAt = req.target.indexOf('?');
  const params = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(queryAt < 0 ? '' : req.target.slice(queryAt + 1)))
    params.set(name, [...(params.get(name) ?? []), value]);
  if (headers.has('authorization'))
    return fail(
      'IncompleteSignature',
      'Only one auth mechanism allowed; give an Authorization header or X-Amz-* query parameters, not both',
    );
  if (!params.has('X-Amz-Signature') && !params.has('X-Amz-Credential'))
    return fail('MissingAuthenticationToken', 'Request is missing Authentication Token');
  const one = (name: string) => (params.get(name)?.length === 1 ? params.get(name)?.[0] : undefined);
  const missing = PRESIGN_PARAMETERS.find((name) => one(name) === undefined);
  if (missing !== undefined)
    return fail('IncompleteSignature', `${missing} must appear exactly once in the query`);
  if (one('X-Amz-Algorithm') !== ALGORITHM)
    return fail('IncompleteSignature', `X-Amz-Algorithm must be ${ALGORITHM}`);
  const scope = parseCredential(one('X-Amz-Credential') ?? '');
  if (typeof scope === 'string') return fail('IncompleteSignature', scope);
  const signedHeaders = parseSignedHeaders(one('X-Amz-SignedHeaders') ?? '');
  if (typeof signedHeaders === 'string') return fail('IncompleteSignature', signedHeaders);
  const signature = one('X-Amz-Signature') ?? '';
  if (!/^[0-9a-f]{64}$/.test(signature))
    return fail('IncompleteSignature', 'X-Amz-Signature must be 64 lower-case hex digits');
  const auth: ParsedAuthorization = { ...scope, signedHeaders, signature };

  const requestTime = one('X-Amz-Date') ?? '';
  const dateMatch = AMZ_DATE.exec(requestTime);
  if (!dateMatch) return fail('IncompleteSignature', 'X-Amz-Date must have the form YYYYMMDDTHHMMSSZ');
  const expires = one('X-Amz-Expires') ?? '';
  if (!/^[1-9][0-9]{0,5}$/.test(expires) || Number(expires) > MAX_EXPIRES_SECONDS)
    return fail(
      'IncompleteSignature',
      `X-Amz-Expires must be a whole number of seconds from 1 to ${MAX_EXPIRES_SECONDS}`,
    );
  const scopeProblem = checkScope(auth, dateMatch[1] ?? '', opts);
  if (scopeProblem) return fail('SignatureDoesNotMatch', scopeProblem);
  if (!signedHeaders.includes('host'))
    return fail('SignatureDoesNotMatch', "'host' must be a SignedHeader in X-Amz-SignedHeaders");

  const credentials = opts.findCredentials(auth.accessKeyId);
  if (!credentials)
    return fail('InvalidClientTokenId', 'The security token included in the request is invalid.');
  const token = params.get('X-Amz-Security-Token');
  if (
    credentials.sessionToken === undefined
      ? token !== undefined
      : token?.length !== 1 || !sameSecret(token[0] ?? '', credentials.sessionToken)
  )
    return fail('InvalidClientTokenId', 'The security token included in the request is invalid.');

  const signedAt = parseAmzDate(requestTime);
  const now = opts.now.getTime();
  // Written as !(…) so that an impossible date (NaN) is rejected too.
  if (!(signedAt - opts.maxSkewMs <= now))
    return fail('RequestExpired', `Request is not yet valid: X-Amz-Date ${requestTime} is in the future`);
  if (!(now <= signedAt + Number(expires) * 1000))
    return fail('RequestExpired', `Request has expired: signed at ${requestTime}, valid for ${expires} s`);

  const absent = signedHeaders.find((name) => !headers.has(name));
  if (absent) return fail('SignatureDoesNotMatch', `signed header '${absent}' is not present in the request`);
  const canonicalRequest = buildCanonicalRequest(
    req,
    headers,
    signedHeaders,
    sha256Hex(''),
    'X-Amz-Signature',
  );
  return checkSignature(canonicalRequest, requestTime, auth, credentials);
}

/** Lower-cased header name → values in arrival order, without the optional whitespace HTTP allows around them. */
function groupHeaders(raw: ReadonlyArray<readonly [string, string]>): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of raw) {
    const key = name.toLowerCase();
    grouped.set(key, [...(grouped.get(key) ?? []), value.trim()]);
  }
  return grouped;
}

/** `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, each field exactly once. */
function parseAuthorization(value: string): ParsedAuthorization | string {
  if (!value.startsWith(`${ALGORITHM} `)) return `Authorization must use the ${ALGORITHM} algorithm`;
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, Math.max(eq, 0)).trim();
    if (eq < 0 || fields.has(key)) return 'Authorization header is malformed';
    fields.set(key, part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (
    fields.size !== 3 ||
    credential === undefined ||
    signedHeaders === undefined ||
    signature === undefined
  ) {
    return 'Authorization header requires exactly Credential, SignedHeaders and Signature';
  }
  const scope = parseCredential(credential);
  if (typeof scope === 'string') return scope;
  const names = parseSignedHeaders(signedHeaders);
  if (typeof names === 'string') return names;
  if (!/^[0-9a-f]{64}$/.test(signature)) return 'Signature must be 64 lower-case hex digits';
  return { ...scope, signedHeaders: names, signature };
}

type CredentialScope = Omit<ParsedAuthorization, 'signedHeaders' | 'signature'>;

/** `<access key>/<date>/<region>/<service>/aws4_request`. */
function parseCredential(credential: string): CredentialScope | string {
  const scope = credential.split('/');
  const [accessKeyId, scopeDate, scopeRegion, scopeService, scopeTerminator] = scope;
  if (
    scope.length !== 5 ||
    !accessKeyId ||
    !scopeDate ||
    scopeRegion === undefined ||
    scopeService === undefined ||
    scopeTerminator === undefined
  ) {
    return 'Credential must have the form <access key>/<date>/<region>/<service>/aws4_request';
  }
  return { accessKeyId, scopeDate, scopeRegion, scopeService, scopeTerminator };
}

/** Canonical form: lower case, sorted, unique, no empty names. */
function parseSignedHeaders(signedHeaders: string): string[] | string {
  const names = signedHeaders.split(';');
  const canonical = names.every(
    (n, i) => /^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(n) && (i === 0 || `${names[i - 1]}` < n),
  );
  return canonical
    ? names
    : 'SignedHeaders must be lower-case header names, sorted and unique, separated by ";"';
}

function checkScope(auth: ParsedAuthorization, requestDate: string, opts: VerifyOptions): string | undefined {
  if (auth.scopeDate !== requestDate) {
    return `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate}' != '${requestDate}'`;
  }
  if (auth.scopeRegion !== opts.region) {
    return `Credential should be scoped to a valid region: '${opts.region}', not '${auth.scopeRegion}'`;
  }
  if (auth.scopeService !== opts.service)
    return `Credential should be scoped to correct service: '${opts.service}'`;
  if (auth.scopeTerminator !== 'aws4_request')
    return "Credential should be scoped with a valid terminator: 'aws4_request'";
  return undefined;
}

/** Temporary credentials are only valid together with their own session token, and the token must be signed. */
function checkSessionToken(
  credentials: SigningCredentials,
  tokens: string[] | undefined,
  signedHeaders: string[],
): VerifyResult | undefined {
  const invalid = fail('InvalidClientTokenId', 'The security token included in the request is invalid.');
  if (credentials.sessionToken === undefined) return tokens === undefined ? undefined : invalid;
  if (tokens?.length !== 1 || !sameSecret(tokens[0] ?? '', credentials.sessionToken)) return invalid;
  if (!signedHeaders.includes('x-amz-security-token')) {
    return fail(
      'SignatureDoesNotMatch',
      "'x-amz-security-token' must be a SignedHeader in the AWS Authorization",
    );
  }
  return undefined;
}

function buildCanonicalRequest(
  req: Pick<RequestToVerify, 'method' | 'target'>,
  headers: Map<string, string[]>,
  signedHeaders: string[],
  payloadHash: string,
  /** Query parameters that are not signed (the presigned form's X-Amz-Signature). */
  unsignedParameter?: string,
): string {
  const queryAt = req.target.indexOf('?');
  const path = queryAt < 0 ? req.target : req.target.slice(0, queryAt);
  const query = queryAt < 0 ? '' : req.target.slice(queryAt + 1);
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(headers.get(name) ?? []).map(trimAll).join(',')}\n`)
    .join('');
  return [
    req.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query, unsignedParameter),
    canonicalHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

/** Non-S3 services encode each path segment once more on top of its encoding on the wire. */
function canonicalUri(path: string): string {
  return path === '' ? '/' : path.split('/').map(uriEncode).join('/');
}

/** Parameters decoded, re-encoded per RFC 3986 and sorted by name, then value. */
function canonicalQuery(query: string, unsignedParameter?: string): string {
  if (query === '') return '';
  const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const [name, value] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
      return [decode(name), decode(value)] as const;
    })
    .filter(([name]) => name !== unsignedParameter)
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([an, av], [bn, bv]) => (an === bn ? compare(av, bv) : compare(an, bn)))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const uriEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const trimAll = (value: string) => value.trim().replace(/\s+/g, ' ');

function parseAmzDate(value: string): number {
  const iso = `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}T${value.slice(9, 11)}:${value.slice(11, 13)}:${value.slice(13, 15)}Z`;
  return Date.parse(iso);
}

function signingKey(secret: string, auth: ParsedAuthorization): Buffer {
  const dateKey = hmac(`AWS4${secret}`, auth.scopeDate);
  const regionKey = hmac(dateKey, auth.scopeRegion);
  const serviceKey = hmac(regionKey, auth.scopeService);
  return hmac(serviceKey, auth.scopeTerminator);
}

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** Constant-time equality of two secrets of possibly different lengths (compares their digests). */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

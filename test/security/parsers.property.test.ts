/**
 * Property-based attacks on the CA's parsers: for inputs made by mutating valid ones (and for
 * junk), each parser throws nothing but LkpError, and whatever it accepts satisfies the strict
 * grammar, checked by an oracle written here independently of the code under test.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseHostPolicyResponse, parseUserPolicyResponse } from '../../src/authorize/response.js';
import { parsePublicKey } from '../../src/cert/index.js';
import { LkpError } from '../../src/errors.js';
import { identityFromArn } from '../../src/identity/arn.js';
import { parseStsProof, type ProofExpectations } from '../../src/identity/proof.js';
import type {
  IdentityProof,
  LkpHostCertAuthorizationRequest,
  LkpUserCertAuthorizationRequest,
} from '../../src/protocol.js';
import { parseRequest, parseRequestBody } from '../../src/request.js';
import { amzDate, ecdsaP256PublicKey, ed25519PublicKey, rsaPublicKey, signProof } from '../helpers/attack.js';

const RUNS = { numRuns: 400 };

/** Runs `parse`; a thrown LkpError is a refusal (undefined), anything else thrown fails the property. */
function attempt<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (e) {
    if (e instanceof LkpError) return undefined;
    throw e;
  }
}

// ---- mutation helpers --------------------------------------------------------------------------

/** Characters that break parsers: separators, controls, look-alikes, quotes, escapes. */
const NASTY = [
  '\r',
  '\n',
  '\0',
  '\t',
  ' ',
  ',',
  ';',
  '=',
  '&',
  '/',
  ':',
  '@',
  '.',
  '%',
  '?',
  '#',
  '*',
  '"',
  '\\',
  'é',
  'ｈ',
  '\u200b',
  'A',
  'z',
  '0',
  '-',
  '_',
];
const nastyChar = fc.oneof(fc.constantFrom(...NASTY), fc.string({ minLength: 1, maxLength: 1 }));

/** One edit of a string: insert, delete, replace a character, or swap case, at some position. */
function mutated(s: string): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.nat({ max: Math.max(0, s.length) }),
      fc.constantFrom('insert', 'delete', 'replace', 'case', 'truncate', 'double'),
      nastyChar,
    )
    .map(([i, op, c]) => {
      switch (op) {
        case 'insert':
          return s.slice(0, i) + c + s.slice(i);
        case 'delete':
          return s.slice(0, i) + s.slice(i + 1);
        case 'replace':
          return s.slice(0, i) + c + s.slice(i + 1);
        case 'case':
          return (
            s.slice(0, i) +
            s
              .slice(i, i + 1)
              .toUpperCase()
              .replace(s.charAt(i), s.charAt(i).toLowerCase()) +
            s.slice(i + 1)
          );
        case 'truncate':
          return s.slice(0, i);
        default:
          return s.slice(0, i) + s.slice(i - 1);
      }
    });
}

/** Several edits in a row. */
const mutatedMany = (s: string) =>
  fc.integer({ min: 1, max: 3 }).chain((n) => {
    let arb = fc.constant(s);
    for (let k = 0; k < n; k++) arb = arb.chain(mutated);
    return arb;
  });

const hostileOptions = {
  withNullPrototype: true,
  withBoxedValues: true,
  withMap: true,
  withBigInt: true,
  withTypedArray: true,
};
const hostile = fc.anything({ ...hostileOptions, withSparseArray: true });
/** Without sparse arrays, which have their own deterministic test (policy validator, below). */
const hostileDense = fc.anything(hostileOptions);

// ---- request parser ------------------------------------------------------------------------------

/** Oracle for DESIGN §3.2 SshUsername, written character by character. */
function isPosixName(s: string): boolean {
  if (s.length < 1 || s.length > 32) return false;
  const first = s.charCodeAt(0);
  const letter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  const digit = (c: number) => c >= 48 && c <= 57;
  if (!letter(first) && s[0] !== '_') return false;
  return [...s].every((ch) => letter(ch.charCodeAt(0)) || digit(ch.charCodeAt(0)) || '._-'.includes(ch));
}

const INSTANCE = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0';
const VALID_USER_REQUEST = {
  Kind: 'User',
  Identity: {
    Method: 'POST',
    Url: 'https://sts.us-east-1.amazonaws.com/',
    Body: 'Action=GetCallerIdentity&Version=2011-06-15',
    Headers: { Host: 'sts.us-east-1.amazonaws.com' },
  },
  PublicKey: 'ssh-ed25519 AAAA',
  RemoteInstanceArn: INSTANCE,
  SshUsername: 'ec2-user',
};
const USER_FIELDS = ['Kind', 'Identity', 'PublicKey', 'RemoteInstanceArn', 'SshUsername', 'Vouchers'];

describe('parseRequest / parseRequestBody', () => {
  it('throws only LkpError for any value or byte string', () => {
    fc.assert(
      fc.property(hostile, (v) => (attempt(() => parseRequest(v)), true)),
      RUNS,
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        (b) => (attempt(() => parseRequestBody(Buffer.from(b))), true),
      ),
      RUNS,
    );
  });

  it('accepts a mutated request only when every field still obeys the grammar', () => {
    const fieldMutation = fc.oneof(
      fc.record({
        key: fc.constantFrom(...USER_FIELDS, 'kind', 'Extra', '__proto__', 'constructor'),
        value: hostile,
      }),
      fc.record({ key: fc.constant('SshUsername'), value: mutatedMany('ec2-user') }),
      fc.record({ key: fc.constant('RemoteInstanceArn'), value: mutatedMany(INSTANCE) }),
    );
    fc.assert(
      fc.property(fieldMutation, ({ key, value }) => {
        const raw: Record<string, unknown> = JSON.parse(JSON.stringify(VALID_USER_REQUEST)) as Record<
          string,
          unknown
        >;
        Object.defineProperty(raw, key, { value, enumerable: true, writable: true, configurable: true });
        const parsed = attempt(() => parseRequest(raw));
        if (parsed === undefined || parsed.Kind !== 'User') return true;
        expect(Object.keys(raw).every((k) => USER_FIELDS.includes(k))).toBe(true);
        expect(isPosixName(parsed.SshUsername)).toBe(true);
        expect(parsed.RemoteInstanceArn).toMatch(
          /^arn:(aws|aws-cn|aws-us-gov):ec2:[a-z]{2}(-gov)?-[a-z]+-\d{1,2}:\d{12}:instance\/i-[0-9a-f]{8,17}$/,
        );
        return true;
      }),
      RUNS,
    );
  });

  it('throws only LkpError for a valid body with one text edit', () => {
    const text = JSON.stringify(VALID_USER_REQUEST);
    fc.assert(
      fc.property(mutatedMany(text), (t) => (attempt(() => parseRequestBody(t)), true)),
      RUNS,
    );
  });
});

// ---- STS proof parser -------------------------------------------------------------------------------

const NOW = new Date('2025-03-01T12:00:00Z');
const ORIGIN = 'https://sts.us-east-1.amazonaws.com';
const KEY = ed25519PublicKey();
const FP = parsePublicKey(KEY).fingerprint;
const EXPECT: ProofExpectations = {
  stsEndpoint: ORIGIN,
  region: 'us-east-1',
  serverId: 'lkp-prop',
  keyFingerprint: FP,
  clockSkewSeconds: 300,
  now: NOW,
};
const VALID_PROOF = signProof({
  stsEndpoint: ORIGIN,
  region: 'us-east-1',
  serverId: 'lkp-prop',
  publicKey: KEY,
  amzDate: amzDate(NOW),
  credentials: {
    accessKeyId: 'ASIAPROPERTYTEST0001',
    secretAccessKey: 'secret',
    sessionToken: 'token/with+chars==',
  },
});
const ALLOWED_HEADERS = [
  'authorization',
  'host',
  'x-amz-date',
  'x-amz-security-token',
  'content-type',
  'x-lkp-server-id',
  'content-length',
  'x-lkp-key-fingerprint',
];
/** Oracle: DESIGN §3.1's Authorization grammar, one regular expression. */
const STRICT_AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=[A-Za-z0-9_]{16,128}\/(\d{8})\/us-east-1\/sts\/aws4_request, SignedHeaders=([a-z0-9-]+(?:;[a-z0-9-]+)*), Signature=[0-9a-f]{64}$/;

function checkAcceptedProof(p: IdentityProof): void {
  const headers = Object.entries(p.Headers).map(([k, v]) => [k.toLowerCase(), String(v)] as const);
  const get = (n: string) => headers.find(([k]) => k === n)?.[1];
  expect(p.Method).toBe('POST');
  expect(p.Url).toBe(`${ORIGIN}/`);
  expect(['Action=GetCallerIdentity&Version=2011-06-15', 'Action=GetCallerIdentity']).toContain(p.Body);
  expect(new Set(headers.map(([k]) => k)).size).toBe(headers.length);
  for (const [k, v] of headers) {
    expect(ALLOWED_HEADERS).toContain(k);
    expect(v).toMatch(/^[\t\x20-\x7e]*$/);
  }
  expect(get('host')?.toLowerCase()).toBe('sts.us-east-1.amazonaws.com');
  expect(get('x-lkp-server-id')).toBe('lkp-prop');
  expect(get('x-lkp-key-fingerprint')).toBe(FP);
  const auth = STRICT_AUTHORIZATION.exec(get('authorization') ?? '');
  expect(auth, get('authorization')).not.toBeNull();
  expect(auth?.[1]).toBe(get('x-amz-date')?.slice(0, 8));
  const signed = (auth?.[2] ?? '').split(';');
  expect([...signed].sort()).toEqual([...new Set(signed)].sort());
  for (const must of [
    'host',
    'x-amz-date',
    'x-lkp-server-id',
    'x-lkp-key-fingerprint',
    ...(get('x-amz-security-token') ? ['x-amz-security-token'] : []),
  ])
    expect(signed).toContain(must);
  for (const name of signed) expect(headers.map(([k]) => k)).toContain(name);
}

function proofVariant(
  change: (p: { Method: string; Url: string; Body: string; Headers: Record<string, unknown> }) => void,
): IdentityProof {
  const copy = { ...VALID_PROOF, Headers: { ...VALID_PROOF.Headers } as Record<string, unknown> };
  change(copy);
  return copy as IdentityProof;
}

describe('parseStsProof (SignedHeaders/Authorization and the rest of §3.1)', () => {
  it('accepts the unmutated proof (control)', () => {
    checkAcceptedProof(VALID_PROOF);
    expect(parseStsProof(VALID_PROOF, EXPECT).url).toBe(`${ORIGIN}/`);
  });

  const headerNames = Object.keys(VALID_PROOF.Headers);
  const mutation = fc.oneof(
    fc
      .constantFrom(...headerNames)
      .chain((name) =>
        mutatedMany(String(VALID_PROOF.Headers[name])).map(
          (v) => (p: Parameters<Parameters<typeof proofVariant>[0]>[0]) => (p.Headers[name] = v),
        ),
      ),
    fc.constantFrom(...headerNames).chain((name) =>
      mutatedMany(name).map((n) => (p: Parameters<Parameters<typeof proofVariant>[0]>[0]) => {
        const v = p.Headers[name];
        delete p.Headers[name];
        p.Headers[n] = v;
      }),
    ),
    fc.tuple(fc.constantFrom(...headerNames), hostile).map(
      ([name, v]) =>
        (p: Parameters<Parameters<typeof proofVariant>[0]>[0]) =>
          (p.Headers[name] = v),
    ),
    fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(
      ([n, v]) =>
        (p: Parameters<Parameters<typeof proofVariant>[0]>[0]) =>
          (p.Headers[n] = v),
    ),
    mutatedMany(VALID_PROOF.Url).map(
      (u) => (p: Parameters<Parameters<typeof proofVariant>[0]>[0]) => (p.Url = u),
    ),
    mutatedMany(VALID_PROOF.Body).map(
      (b) => (p: Parameters<Parameters<typeof proofVariant>[0]>[0]) => (p.Body = b),
    ),
    mutatedMany('POST').map((m) => (p: Parameters<Parameters<typeof proofVariant>[0]>[0]) => (p.Method = m)),
  );

  it('accepts a mutated proof only when it still obeys every §3.1 rule', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (changes) => {
        const p = proofVariant((copy) => changes.forEach((c) => c(copy)));
        const accepted = attempt(() => parseStsProof(p, EXPECT));
        if (accepted !== undefined) checkAcceptedProof(p);
        return true;
      }),
      { numRuns: 1500 },
    );
  });

  it('throws only LkpError for any value', () => {
    fc.assert(
      fc.property(hostile, (v) => (attempt(() => parseStsProof(v as IdentityProof, EXPECT)), true)),
      RUNS,
    );
  });
});

// ---- ARN parser ---------------------------------------------------------------------------------------

const ACCOUNT = '111122223333';
const PARTITION = '(aws|aws-cn|aws-us-gov)';
const NAME = '[A-Za-z0-9+=,.@_-]';
/** Oracle: the three accepted ARN shapes of DESIGN §3.1. */
const ARN_GRAMMAR = [
  new RegExp(`^arn:${PARTITION}:iam::(\\d{12}):user/(?:[\\x21-\\x2e\\x30-\\x7e]+/)*(${NAME}{1,64})$`),
  new RegExp(`^arn:${PARTITION}:sts::(\\d{12}):assumed-role/${NAME}{1,64}/(${NAME}{2,64})$`),
  new RegExp(`^arn:${PARTITION}:sts::(\\d{12}):federated-user/(${NAME}{2,32})$`),
];

const arnPart = {
  partition: fc.constantFrom('aws', 'aws-cn', 'aws-us-gov', 'AWS', 'aws-iso', '', 'aws ', 'aws\n'),
  service: fc.constantFrom('iam', 'sts', 'IAM', 'ec2', ''),
  region: fc.constantFrom('', '', 'us-east-1', ' '),
  account: fc.constantFrom(
    ACCOUNT,
    ACCOUNT,
    '11112222333',
    '1111222233334',
    '11112222333x',
    '',
    '444455556666',
  ),
  kind: fc.constantFrom(
    'user',
    'assumed-role',
    'federated-user',
    'role',
    'root',
    'User',
    'assumed-role ',
    '',
  ),
  segment: fc.oneof(
    fc.constantFrom(
      'alice',
      'i-0123456789abcdef0',
      'a',
      'x'.repeat(64),
      'x'.repeat(65),
      'x'.repeat(33),
      '',
      'a b',
      'a*',
      'é',
      'a:b',
      'a\u0000',
    ),
    fc.stringMatching(/^[A-Za-z0-9+=,.@_-]{1,70}$/),
  ),
};
const arbitraryArn = fc
  .record({ ...arnPart, segments: fc.array(arnPart.segment, { maxLength: 4 }) })
  .map(
    ({ partition, service, region, account, kind, segments }) =>
      `arn:${partition}:${service}:${region}:${account}:${[kind, ...segments].join('/')}`,
  );

describe('identityFromArn', () => {
  it('accepts only ARNs of the three grammars, from an allowed account, and reports them faithfully', () => {
    fc.assert(
      fc.property(fc.oneof(arbitraryArn, arbitraryArn.chain(mutated)), fc.boolean(), (arn, sameAccount) => {
        const Account = sameAccount ? (arn.split(':')[4] ?? '') : ACCOUNT;
        const id = attempt(() => identityFromArn({ Arn: arn, Account, UserId: 'AIDAEXAMPLE' }, [ACCOUNT]));
        if (id === undefined) return true;
        const match = ARN_GRAMMAR.map((g) => g.exec(arn)).find((m) => m !== null);
        expect(match, arn).toBeDefined();
        expect(id.Arn).toBe(arn);
        expect(id.Account).toBe(ACCOUNT);
        expect(match?.[2]).toBe(ACCOUNT);
        const last = match?.[3];
        if (id.Type === 'AssumedRole') expect(id.SessionName).toBe(last);
        else expect(id.Name).toBe(last);
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it('throws only LkpError for any caller record', () => {
    fc.assert(
      fc.property(hostile, (v) => (attempt(() => identityFromArn(v as never, [ACCOUNT])), true)),
      RUNS,
    );
  });
});

// ---- public key parser -----------------------------------------------------------------------------

/** Oracle: reads the blob's SSH strings itself and checks the shape of each accepted type. */
function wellFormedKeyBlob(blob: Buffer): boolean {
  const strings: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) return false;
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) return false;
    strings.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  const [type, ...rest] = strings.map((s) => s);
  switch (type?.toString()) {
    case 'ssh-ed25519':
      return rest.length === 1 && rest[0]?.length === 32;
    case 'ecdsa-sha2-nistp256':
      return (
        rest.length === 2 && rest[0]?.toString() === 'nistp256' && rest[1]?.length === 65 && rest[1][0] === 4
      );
    case 'ssh-rsa': {
      if (rest.length !== 2) return false;
      const n = rest[1] ?? Buffer.alloc(0);
      const bits = (n[0] === 0 ? n.length - 1 : n.length) * 8;
      return bits >= 2048 && ((n[n.length - 1] ?? 0) & 1) === 1 && ((rest[0]?.at(-1) ?? 0) & 1) === 1;
    }
    default:
      return false;
  }
}

const KEYS = [ed25519PublicKey(), ecdsaP256PublicKey(), rsaPublicKey(2048)];
const TYPE_NAMES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ssh-rsa',
  'ssh-dss',
  'ssh-ed25519-cert-v01@openssh.com',
  'sk-ssh-ed25519@openssh.com',
];

const mutatedKeyLine = fc
  .tuple(
    fc.constantFrom(...KEYS),
    fc.constantFrom('flip', 'truncate', 'append', 'retype', 'splice'),
    fc.nat(),
    fc.uint8Array({ minLength: 1, maxLength: 8 }),
    fc.constantFrom(...TYPE_NAMES),
  )
  .map(([line, op, at, bytes, typeName]) => {
    const [name = '', encoded = ''] = line.split(' ');
    const blob = Buffer.from(encoded, 'base64');
    const i = at % blob.length;
    let out: Buffer = blob;
    if (op === 'flip') (out = Buffer.from(blob))[i] = (blob[i] ?? 0) ^ (bytes[0] ?? 1);
    if (op === 'truncate') out = blob.subarray(0, i);
    if (op === 'append') out = Buffer.concat([blob, bytes]);
    if (op === 'splice') out = Buffer.concat([blob.subarray(0, i), bytes, blob.subarray(i)]);
    return `${op === 'retype' ? typeName : name} ${out.toString('base64')} comment`;
  });

describe('parsePublicKey', () => {
  it('accepts the valid keys (control)', () => {
    for (const key of KEYS) expect(parsePublicKey(key).blob.toString('base64')).toBe(key.split(' ')[1]);
  });

  it('accepts a mutated key only when its blob is well formed and matches its type name', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedKeyLine, fc.constantFrom(...KEYS).chain(mutated)), (line) => {
        const key = attempt(() => parsePublicKey(line));
        if (key === undefined) return true;
        const [name = '', encoded = ''] = line.trim().split(/ +/);
        expect(key.type).toBe(name);
        expect(key.blob.toString('base64')).toBe(encoded);
        expect(wellFormedKeyBlob(key.blob)).toBe(true);
        expect(key.fingerprint).toBe(
          `SHA256:${createHash('sha256').update(key.blob).digest('base64').replace(/=+$/, '')}`,
        );
        return true;
      }),
      { numRuns: 1500 },
    );
  });

  it('throws only LkpError for any string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => (attempt(() => parsePublicKey(s)), true)),
      RUNS,
    );
  });
});

// ---- policy answer validator -----------------------------------------------------------------------

const FROM = {
  Arn: 'arn:aws:iam::111122223333:user/alice',
  Account: ACCOUNT,
  Id: 'AIDA',
  Type: 'User' as const,
  Name: 'alice',
};
const USER_REQ: LkpUserCertAuthorizationRequest = {
  Kind: 'LkpUserCertAuthorizationRequest',
  From: FROM,
  RemoteInstanceArn: INSTANCE,
  SshUsername: 'ec2-user',
  PublicKeyFingerprint: FP,
};
const HOST_REQ: LkpHostCertAuthorizationRequest = {
  Kind: 'LkpHostCertAuthorizationRequest',
  From: FROM,
  HostInstanceArn: INSTANCE,
  Principals: [],
};
const GOOD_ANSWER = {
  Authorized: true,
  Principals: ['ops@host', 'deploy'],
  CertificateOptions: {
    ForceCommand: '/usr/bin/uptime',
    SourceAddress: '10.0.0.0/8',
    PermitPty: false,
    ValidForSeconds: 600,
  },
};
const PERMITS = [
  'permit-pty',
  'permit-port-forwarding',
  'permit-agent-forwarding',
  'permit-X11-forwarding',
  'permit-user-rc',
];

/** Oracle: one principal per DESIGN §3.4/§3.5, checked character by character. */
const goodPrincipal = (p: unknown) =>
  typeof p === 'string' &&
  p.length >= 1 &&
  p.length <= 256 &&
  [...p].every((c) => c >= '!' && c <= '~' && !',*?'.includes(c));

type Answer = Record<string, unknown>;
/** The answer's options and principals, (re)created when an earlier mutation replaced them with junk. */
const optionsOf = (a: Answer) =>
  (a.CertificateOptions = isRecord(a.CertificateOptions) ? a.CertificateOptions : {}) as Record<
    string,
    unknown
  >;
const principalsOf = (a: Answer) =>
  (a.Principals = Array.isArray(a.Principals) ? a.Principals : []) as unknown[];
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const answerMutation = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        'Authorized',
        'authorized',
        'AUTHORIZED',
        'Principals',
        'principals',
        'CertificateOptions',
        'Extra',
        'KeyId',
      ),
      hostileDense,
    )
    .map(
      ([k, v]) =>
        (a: Answer) =>
          (a[k] = v),
    ),
  fc
    .tuple(
      fc.constantFrom(
        'ForceCommand',
        'SourceAddress',
        'PermitPty',
        'permitPty',
        'ValidForSeconds',
        'PermitAll',
      ),
      hostileDense,
    )
    .map(
      ([k, v]) =>
        (a: Answer) =>
          (optionsOf(a)[k] = v),
    ),
  fc.tuple(fc.nat({ max: 1 }), mutatedMany('ops@host')).map(([i, p]) => (a: Answer) => {
    const list = principalsOf(a);
    list[Math.min(i, list.length)] = p; // dense: sparse arrays have their own test below
  }),
  mutatedMany('/usr/bin/uptime').map((c) => (a: Answer) => (optionsOf(a).ForceCommand = c)),
  mutatedMany('10.0.0.0/8,192.0.2.1').map((s) => (a: Answer) => (optionsOf(a).SourceAddress = s)),
  fc.constantFrom('Authorized', 'Principals', 'CertificateOptions').map((k) => (a: Answer) => delete a[k]),
);

describe('policy answer validator (src/authorize/response.ts)', () => {
  it('accepts a mutated answer only when it says Authorized: true once and every field is valid', () => {
    fc.assert(
      fc.property(fc.array(answerMutation, { minLength: 1, maxLength: 3 }), (changes) => {
        const answer = JSON.parse(JSON.stringify(GOOD_ANSWER)) as Answer;
        changes.forEach((c) => c(answer));
        const grant = attempt(() => parseUserPolicyResponse(answer, USER_REQ));
        if (grant === undefined) return true;
        const saidYes = Object.entries(answer).filter(
          ([k, v]) => ['Authorized', 'authorized'].includes(k) && v !== undefined,
        );
        expect(saidYes).toEqual([[expect.any(String), true]]);
        expect(grant.principals.length).toBeGreaterThan(0);
        expect(grant.principals.length).toBeLessThanOrEqual(32);
        for (const p of grant.principals) expect(goodPrincipal(p), p).toBe(true);
        expect(
          Object.keys(grant.criticalOptions).every((k) => ['force-command', 'source-address'].includes(k)),
        ).toBe(true);
        expect(grant.criticalOptions['force-command'] ?? '').not.toMatch(/[\0\r\n]/);
        expect(grant.criticalOptions['source-address'] ?? '').toMatch(/^[0-9a-fA-F:.,/]*$/);
        for (const e of grant.extensions) expect(PERMITS).toContain(e);
        if (grant.validForSeconds !== undefined)
          expect(Number.isSafeInteger(grant.validForSeconds) && grant.validForSeconds > 0).toBe(true);
        return true;
      }),
      { numRuns: 1500 },
    );
  });

  it('refuses a sparse Principals array (an answer built in JavaScript, as authorizers/sdk judges it)', () => {
    const principals: string[] = [];
    principals[1] = 'ops';
    const grant = attempt(() =>
      parseUserPolicyResponse({ Authorized: true, Principals: principals }, USER_REQ),
    );
    // Array.prototype.map skips the hole, so the grant would carry an undefined principal.
    expect(grant?.principals).toBeUndefined();
  });

  it('always names the instance first in a host grant, and throws only LkpError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostile,
          fc.record(
            {
              Authorized: fc.constantFrom(true, false, 'true'),
              Principals: fc.array(fc.oneof(fc.string(), mutatedMany('web.example'))),
            },
            { requiredKeys: [] },
          ),
        ),
        (answer) => {
          const grant = attempt(() => parseHostPolicyResponse(answer, HOST_REQ));
          if (grant !== undefined) {
            expect(grant.principals[0]).toBe(INSTANCE);
            for (const p of grant.principals) expect(goodPrincipal(p), p).toBe(true);
          }
          return true;
        },
      ),
      RUNS,
    );
  });

  it('throws only LkpError for any user answer', () => {
    fc.assert(
      fc.property(hostile, (v) => (attempt(() => parseUserPolicyResponse(v, USER_REQ)), true)),
      RUNS,
    );
  });
});

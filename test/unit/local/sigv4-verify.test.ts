import aws4 from 'aws4';
import { describe, expect, it } from 'vitest';
import {
  verifySigV4,
  type SigningCredentials,
  type RequestToVerify,
} from '../../../src/local/sigv4-verify.js';

const NOW = new Date('2024-05-06T07:08:09Z');
const BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
const USER: SigningCredentials = { accessKeyId: 'AKIAEXAMPLEUSER00001', secretAccessKey: 'user-secret' };
const SESSION: SigningCredentials = {
  accessKeyId: 'ASIAEXAMPLESESSION01',
  secretAccessKey: 'session-secret',
  sessionToken: 'session-token-of-the-role',
};
const KNOWN = [USER, SESSION];

interface SignOptions {
  credentials?: aws4.Credentials;
  region?: string;
  service?: string;
  date?: Date;
  path?: string;
  method?: string;
  body?: string;
}

/** A request signed by aws4 (the independent signer), as the verifier would receive it. */
function signed(o: SignOptions = {}): RequestToVerify {
  const req = aws4.sign(
    {
      host: '127.0.0.1:4567',
      path: o.path ?? '/',
      method: o.method ?? 'POST',
      service: o.service ?? 'sts',
      region: o.region ?? 'us-east-1',
      body: o.body ?? BODY,
      headers: {
        Host: '127.0.0.1:4567',
        'X-Amz-Date': (o.date ?? NOW).toISOString().replace(/[-:]|\.\d{3}/g, ''),
        'X-Lkp-Server-Id': 'lkp-test',
      },
    },
    o.credentials ?? USER,
  );
  const headers = Object.entries(req.headers ?? {}).map(([k, v]) => [k, String(v)] as const);
  return { method: req.method ?? 'POST', target: req.path ?? '/', headers, body: String(req.body ?? '') };
}

const verify = (req: RequestToVerify, now = NOW) =>
  verifySigV4(req, {
    region: 'us-east-1',
    service: 'sts',
    now,
    maxSkewMs: 15 * 60_000,
    findCredentials: (id) => KNOWN.find((c) => c.accessKeyId === id),
  });

const header = (req: RequestToVerify, name: string) =>
  req.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ?? '';
const withHeader = (req: RequestToVerify, name: string, value: string | undefined): RequestToVerify => {
  const rest = req.headers.filter(([k]) => k.toLowerCase() !== name.toLowerCase());
  return { ...req, headers: value === undefined ? rest : [...rest, [name, value]] };
};
const failureCode = (req: RequestToVerify, now?: Date) => {
  const result = verify(req, now);
  return result.ok ? 'ok' : result.code;
};

describe('verifySigV4', () => {
  it('accepts a request signed by aws4 with long-term credentials', () => {
    expect(verify(signed())).toEqual({ ok: true, accessKeyId: USER.accessKeyId });
  });

  it('accepts a request signed with session credentials and their token', () => {
    expect(verify(signed({ credentials: SESSION }))).toEqual({ ok: true, accessKeyId: SESSION.accessKeyId });
  });

  it('accepts a signed query string and header names in any case', () => {
    const req = signed({
      method: 'GET',
      path: "/?Version=2011-06-15&Action=GetCallerIdentity&X=a%20b*'",
      body: '',
    });
    const upper = { ...req, headers: req.headers.map(([k, v]) => [k.toUpperCase(), `  ${v} `] as const) };
    expect(verify(upper).ok).toBe(true);
  });

  it('rejects a changed body', () => {
    expect(failureCode({ ...signed(), body: 'Action=GetCallerIdentity&Version=2011-06-16' })).toBe(
      'SignatureDoesNotMatch',
    );
  });

  it('rejects a changed value of a signed header', () => {
    expect(failureCode(withHeader(signed(), 'X-Lkp-Server-Id', 'other-ca'))).toBe('SignatureDoesNotMatch');
  });

  it('rejects a signed header removed from the request', () => {
    expect(failureCode(withHeader(signed(), 'X-Lkp-Server-Id', undefined))).toBe('SignatureDoesNotMatch');
  });

  it('rejects a header removed from the SignedHeaders list', () => {
    const req = signed();
    const auth = header(req, 'Authorization').replace('x-lkp-server-id', '').replace(';,', ',');
    expect(auth).not.toContain('x-lkp-server-id');
    expect(failureCode(withHeader(req, 'Authorization', auth))).toBe('SignatureDoesNotMatch');
  });

  it('requires host and x-amz-date to be signed', () => {
    const req = signed();
    const auth = header(req, 'Authorization').replace('host;', '');
    expect(verify(withHeader(req, 'Authorization', auth))).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: expect.stringContaining("'host'"),
    });
  });

  it('rejects a signature made with the wrong secret', () => {
    const req = signed({ credentials: { ...USER, secretAccessKey: 'not-the-secret' } });
    expect(failureCode(req)).toBe('SignatureDoesNotMatch');
  });

  it('rejects an unknown access key', () => {
    expect(failureCode(signed({ credentials: { ...USER, accessKeyId: 'AKIAUNKNOWN000000000' } }))).toBe(
      'InvalidClientTokenId',
    );
  });

  it('rejects a scope for another region', () => {
    expect(verify(signed({ region: 'us-west-2' }))).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: expect.stringContaining("'us-west-2'"),
    });
  });

  it('rejects a scope for another service', () => {
    expect(failureCode(signed({ service: 'iam' }))).toBe('SignatureDoesNotMatch');
  });

  it('rejects a scope date that differs from X-Amz-Date', () => {
    const req = signed();
    const auth = header(req, 'Authorization').replace('/20240506/', '/20240505/');
    expect(verify(withHeader(req, 'Authorization', auth))).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: expect.stringContaining('Date in Credential scope'),
    });
  });

  it('rejects a request dated more than 15 minutes from the server clock, either way', () => {
    const req = signed();
    expect(failureCode(req, new Date(NOW.getTime() + 16 * 60_000))).toBe('RequestExpired');
    expect(failureCode(req, new Date(NOW.getTime() - 16 * 60_000))).toBe('RequestExpired');
    expect(failureCode(req, new Date(NOW.getTime() + 14 * 60_000))).toBe('ok');
  });

  it('rejects an impossible X-Amz-Date even when the scope matches', () => {
    const req = signed({ date: NOW });
    const bad = withHeader(req, 'X-Amz-Date', '20240506T990000Z');
    expect(failureCode(bad)).toBe('RequestExpired');
  });

  it('rejects session credentials without their token', () => {
    expect(failureCode(withHeader(signed({ credentials: SESSION }), 'X-Amz-Security-Token', undefined))).toBe(
      'InvalidClientTokenId',
    );
  });

  it("rejects session credentials with another session's token, even if signed", () => {
    const req = signed({ credentials: { ...SESSION, sessionToken: 'token-of-someone-else' } });
    expect(failureCode(req)).toBe('InvalidClientTokenId');
  });

  it('rejects a token on long-term credentials', () => {
    expect(failureCode(signed({ credentials: { ...USER, sessionToken: 'stray' } }))).toBe(
      'InvalidClientTokenId',
    );
  });

  it('rejects a session token that is not signed', () => {
    const req = signed({ credentials: SESSION });
    const auth = header(req, 'Authorization').replace(';x-amz-security-token', '');
    expect(verify(withHeader(req, 'Authorization', auth))).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: expect.stringContaining('x-amz-security-token'),
    });
  });

  it('reports a missing Authorization header as MissingAuthenticationToken', () => {
    expect(failureCode(withHeader(signed(), 'Authorization', undefined))).toBe('MissingAuthenticationToken');
  });

  it.each([
    ['another algorithm', (a: string) => a.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512')],
    ['a repeated field', (a: string) => `${a}, Signature=${'0'.repeat(64)}`],
    ['a short credential scope', (a: string) => a.replace('/aws4_request', '')],
    [
      'unsorted SignedHeaders',
      (a: string) => a.replace('content-length;content-type', 'content-type;content-length'),
    ],
    ['upper-case SignedHeaders', (a: string) => a.replace('host', 'Host')],
    ['a non-hex signature', (a: string) => a.replace(/Signature=[0-9a-f]{4}/, 'Signature=ZZZZ')],
  ])('rejects an Authorization header with %s as IncompleteSignature', (_name, mutate) => {
    const req = signed();
    expect(failureCode(withHeader(req, 'Authorization', mutate(header(req, 'Authorization'))))).toBe(
      'IncompleteSignature',
    );
  });

  it('rejects a repeated Authorization or X-Amz-Date header', () => {
    const req = signed();
    const twiceAuth = {
      ...req,
      headers: [...req.headers, ['authorization', header(req, 'Authorization')] as const],
    };
    const twiceDate = {
      ...req,
      headers: [...req.headers, ['x-amz-date', header(req, 'X-Amz-Date')] as const],
    };
    expect(failureCode(twiceAuth)).toBe('IncompleteSignature');
    expect(failureCode(twiceDate)).toBe('IncompleteSignature');
  });
});

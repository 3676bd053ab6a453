/**
 * One case per DESIGN §3.1 proof rule, each a real attack. Every rejection goes through
 * verifyIdentity with a spy transport, which must never be called: nothing is forwarded.
 */
import { describe, expect, it, vi } from 'vitest';
import { LkpError, type ErrorCode } from '../../../src/errors.js';
import { parseStsProof } from '../../../src/identity/proof.js';
import { verifyIdentity, type IdentityConfig, type StsTransport } from '../../../src/identity/index.js';
import type { IdentityProof } from '../../../src/protocol.js';
import { stsXml } from '../../helpers/fake-sts.js';
import {
  ACCESS_KEY_ID,
  CALLER,
  CONFIG,
  ENDPOINT,
  EXPECT,
  FINGERPRINT,
  NOW,
  SESSION_TOKEN,
  amzDate,
  authorizationOf,
  signedProof,
  withHeaders,
} from './fixtures.js';

function okTransport() {
  return vi.fn<StsTransport>(async () => ({ status: 200, contentType: 'text/xml', body: stsXml(CALLER) }));
}

/** The proof must be refused with `code` and a message matching `message`, without touching STS or leaking secrets. */
async function expectRejected(
  proof: IdentityProof,
  message: RegExp,
  code: ErrorCode = 'Unauthenticated',
  cfg: IdentityConfig = CONFIG,
  now: Date = NOW,
) {
  const transport = okTransport();
  const err = await verifyIdentity(proof, FINGERPRINT, cfg, now, transport).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LkpError);
  const e = err as LkpError;
  expect({ code: e.code, message: e.message }).toEqual({ code, message: expect.stringMatching(message) });
  expect(transport).not.toHaveBeenCalled();
  const auth = String(proof?.Headers?.['Authorization'] ?? '');
  const signature = /Signature=([0-9a-f]+)/.exec(auth)?.[1];
  for (const secret of [SESSION_TOKEN, ACCESS_KEY_ID, auth, signature].filter(Boolean)) {
    expect(e.message).not.toContain(secret);
  }
}

function replaceAuth(p: IdentityProof, from: string | RegExp, to: string): IdentityProof {
  return withHeaders(p, { Authorization: authorizationOf(p).replace(from, to) });
}

describe('a valid proof', () => {
  it('is accepted and becomes exactly the request sent to STS', async () => {
    const proof = signedProof();
    const transport = okTransport();
    const who = await verifyIdentity(proof, FINGERPRINT, CONFIG, NOW, transport);
    expect(who).toEqual({
      Arn: CALLER.Arn,
      Account: CALLER.Account,
      Id: CALLER.UserId,
      Type: 'AssumedRole',
      RoleName: 'Developer',
      SessionName: 'alice',
    });
    expect(transport).toHaveBeenCalledOnce();
    const [req, opts] = transport.mock.calls[0] ?? [];
    // The first attempt gets what is left of the 1 s budget (a millisecond may already be gone).
    expect(opts).toEqual({ timeoutMs: expect.any(Number), maxResponseBytes: 16384 });
    expect(opts?.timeoutMs).toBeGreaterThan(0);
    expect(opts?.timeoutMs).toBeLessThanOrEqual(1000);
    expect(req).toEqual({
      url: `${ENDPOINT}/`,
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
      headers: {
        Authorization: authorizationOf(proof),
        Host: 'sts.us-east-1.amazonaws.com',
        'X-Amz-Date': '20250301T120000Z',
        'X-Amz-Security-Token': SESSION_TOKEN,
        'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
        'Content-Length': '43',
        'X-Lkp-Server-Id': 'lkp-test-ca',
        'X-Lkp-Key-Fingerprint': FINGERPRINT,
      },
    });
  });

  it('may omit Version, the session token, Content-Length and the charset', () => {
    const base = signedProof({ body: 'Action=GetCallerIdentity', sessionToken: null });
    const proof = withHeaders(base, {
      'Content-Length': undefined,
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: authorizationOf(base).replace('content-length;', ''),
    });
    const req = parseStsProof(proof, EXPECT);
    expect(req.headers['Content-Length']).toBe('24');
    expect(req.headers['X-Amz-Security-Token']).toBeUndefined();
  });

  it('accepts header names in any case and a Host header in another case', () => {
    const p = signedProof();
    const lower = Object.fromEntries(Object.entries(p.Headers).map(([k, v]) => [k.toLowerCase(), v]));
    const req = parseStsProof({ ...p, Headers: { ...lower, host: 'STS.US-EAST-1.amazonaws.com' } }, EXPECT);
    expect(req.headers['Host']).toBe('STS.US-EAST-1.amazonaws.com');
  });

  it('accepts a loopback endpoint with an explicit port', () => {
    const origin = 'http://127.0.0.1:45123';
    const req = parseStsProof(signedProof({ origin }), { ...EXPECT, stsEndpoint: origin });
    expect(req.url).toBe(`${origin}/`);
    expect(req.headers['Host']).toBe('127.0.0.1:45123');
  });

  it('accepts a date exactly at the skew limit', () => {
    expect(() =>
      parseStsProof(signedProof({ date: new Date(NOW.getTime() - 300_000) }), EXPECT),
    ).not.toThrow();
  });
});

describe('method and URL (§3.1)', () => {
  it('rejects a method other than POST', async () => {
    await expectRejected({ ...signedProof(), Method: 'GET' }, /Method must be POST/);
    await expectRejected({ ...signedProof(), Method: 'post' }, /Method must be POST/);
  });

  it('rejects another STS host', async () => {
    const proof = signedProof({ origin: 'https://sts.us-west-2.amazonaws.com' });
    await expectRejected(
      proof,
      /Url is for https:\/\/sts\.us-west-2\.amazonaws\.com; this CA's STS endpoint is/,
    );
  });

  it('rejects a suffix host', async () => {
    const proof = signedProof({ origin: 'https://sts.us-east-1.amazonaws.com.evil.com' });
    await expectRejected(proof, /Url is for https:\/\/sts\.us-east-1\.amazonaws\.com\.evil\.com;/);
  });

  it('rejects userinfo', async () => {
    await expectRejected({ ...signedProof(), Url: 'https://x@sts.us-east-1.amazonaws.com/' }, /user info/);
    await expectRejected(
      { ...signedProof(), Url: 'https://evil.com@sts.us-east-1.amazonaws.com/' },
      /user info/,
    );
  });

  it('rejects another path', async () => {
    await expectRejected({ ...signedProof(), Url: `${ENDPOINT}/foo` }, /path must be \//);
    await expectRejected({ ...signedProof(), Url: `${ENDPOINT}//` }, /path must be \//);
    await expectRejected({ ...signedProof(), Url: ENDPOINT }, /must be exactly/);
    await expectRejected({ ...signedProof(), Url: `${ENDPOINT}/%2e` }, /must be exactly/);
  });

  it('rejects a query, even an empty one', async () => {
    await expectRejected({ ...signedProof(), Url: `${ENDPOINT}/?Action=AssumeRole` }, /query string/);
    await expectRejected({ ...signedProof(), Url: `${ENDPOINT}/?` }, /query string/);
  });

  it('rejects a fragment, even an empty one', async () => {
    await expectRejected({ ...signedProof(), Url: `${ENDPOINT}/#x` }, /fragment/);
    await expectRejected({ ...signedProof(), Url: `${ENDPOINT}/#` }, /fragment/);
  });

  it('rejects a trailing-dot host', async () => {
    await expectRejected(
      { ...signedProof(), Url: 'https://sts.us-east-1.amazonaws.com./' },
      /end with a dot/,
    );
  });

  it('rejects case, scheme, port and whitespace variations of the endpoint', async () => {
    await expectRejected(
      { ...signedProof(), Url: 'https://STS.us-east-1.amazonaws.com/' },
      /must be exactly/,
    );
    await expectRejected(
      { ...signedProof(), Url: 'HTTPS://sts.us-east-1.amazonaws.com/' },
      /must be exactly/,
    );
    await expectRejected(
      { ...signedProof(), Url: 'https://sts.us-east-1.amazonaws.com:443/' },
      /must be exactly/,
    );
    await expectRejected(
      { ...signedProof(), Url: ' https://sts.us-east-1.amazonaws.com/' },
      /must be exactly/,
    );
    await expectRejected(
      { ...signedProof(), Url: 'https://sts.us-east-1.amazonaws.com:8443/' },
      /Url is for/,
    );
    await expectRejected(
      { ...signedProof(), Url: 'http://sts.us-east-1.amazonaws.com/' },
      /Url is for http:/,
    );
  });

  it('rejects a Url that is not a URL', async () => {
    await expectRejected({ ...signedProof(), Url: 'sts.us-east-1.amazonaws.com' }, /not a URL/);
  });

  it('refuses to run with an endpoint that is not a normalized origin (Internal)', async () => {
    await expectRejected(signedProof(), /not a normalized/, 'Internal', {
      ...CONFIG,
      stsEndpoint: `${ENDPOINT}/`,
    });
  });

  it('refuses to run with an endpoint of another scheme, even a normalized origin (Internal)', async () => {
    for (const stsEndpoint of ['ws://sts.us-east-1.amazonaws.com', 'ftp://sts.us-east-1.amazonaws.com'])
      await expectRejected(signedProof(), /not a normalized http\(s\) origin/, 'Internal', {
        ...CONFIG,
        stsEndpoint,
      });
  });
});

describe('Host header (§3.1)', () => {
  it('rejects a Host that names another server', async () => {
    await expectRejected(
      withHeaders(signedProof(), { Host: 'evil.com' }),
      /Host must be sts\.us-east-1\.amazonaws\.com/,
    );
  });

  it('rejects trailing-dot, suffix and port variations', async () => {
    for (const Host of [
      'sts.us-east-1.amazonaws.com.',
      'sts.us-east-1.amazonaws.com.evil.com',
      'sts.us-east-1.amazonaws.com:443',
      'x@sts.us-east-1.amazonaws.com',
    ]) {
      await expectRejected(withHeaders(signedProof(), { Host }), /Host must be/);
    }
  });

  it('requires the port when the endpoint has one', async () => {
    const origin = 'http://127.0.0.1:45123';
    const cfg = { ...CONFIG, stsEndpoint: origin };
    await expectRejected(
      withHeaders(signedProof({ origin }), { Host: '127.0.0.1' }),
      /Host must be 127\.0\.0\.1:45123/,
      'Unauthenticated',
      cfg,
    );
  });
});

describe('Body (§3.1)', () => {
  it.each([
    ['an extra parameter', 'Action=GetCallerIdentity&Version=2011-06-15&Action=AssumeRole'],
    ['a repeated parameter', 'Action=GetCallerIdentity&Action=GetCallerIdentity'],
    ['a re-cased parameter name', 'action=GetCallerIdentity&Version=2011-06-15'],
    ['a re-cased action', 'Action=getcalleridentity'],
    ['another version', 'Action=GetCallerIdentity&Version=2012-01-01'],
    ['another action', 'Action=AssumeRole&Version=2011-06-15'],
    ['reordered parameters', 'Version=2011-06-15&Action=GetCallerIdentity'],
    ['a trailing &', 'Action=GetCallerIdentity&'],
    ['an empty body', ''],
  ])('rejects %s', async (_what, body) => {
    await expectRejected(
      signedProof({ body }),
      /Body must be exactly Action=GetCallerIdentity&Version=2011-06-15/,
    );
  });
});

describe('headers (§3.1)', () => {
  it('rejects a header outside the allow-list', async () => {
    const proof = signedProof({
      signedExtra: { 'X-Amz-Target': 'AWSSecurityTokenServiceV20110615.AssumeRole' },
    });
    await expectRejected(proof, /header X-Amz-Target is not allowed/);
    await expectRejected(
      withHeaders(signedProof(), { 'Transfer-Encoding': 'chunked' }),
      /Transfer-Encoding is not allowed/,
    );
  });

  it('does not echo an unprintable header name', async () => {
    await expectRejected(
      withHeaders(signedProof(), { 'X-Evil\r\nInjected': 'x' }),
      /header \(unprintable name\) is not allowed/,
    );
  });

  it('rejects a duplicate header differing only in case', async () => {
    await expectRejected(
      withHeaders(signedProof(), { 'x-amz-date': amzDate(NOW) }),
      /X-Amz-Date appears more than once/,
    );
    await expectRejected(withHeaders(signedProof(), { HOST: 'evil.com' }), /Host appears more than once/);
  });

  it('rejects CR, LF and NUL in a value', async () => {
    for (const bad of ['lkp-test-ca\r\nX-Amz-Target: x', 'lkp-test-ca\n', 'lkp-test-ca\0', 'lkp\rtest']) {
      await expectRejected(
        withHeaders(signedProof(), { 'X-Lkp-Server-Id': bad }),
        /X-Lkp-Server-Id contains CR, LF, NUL/,
      );
    }
  });

  it('rejects values that are not strings (a number only for Content-Length)', async () => {
    await expectRejected(
      withHeaders(signedProof(), { 'X-Amz-Date': 20250301 }),
      /X-Amz-Date must be a string/,
    );
    const arrayValue = {
      ...signedProof(),
      Headers: { ...signedProof().Headers, Host: ['a', 'b'] },
    } as unknown as IdentityProof;
    await expectRejected(arrayValue, /Host must be a string/);
    await expectRejected(
      withHeaders(signedProof(), { 'Content-Length': 43.5 }),
      /Content-Length must be a string/,
    );
  });

  it('rejects a Content-Length that is not the body length', async () => {
    await expectRejected(withHeaders(signedProof(), { 'Content-Length': 44 }), /Content-Length must be 43/);
    await expectRejected(
      withHeaders(signedProof(), { 'Content-Length': '043' }),
      /Content-Length must be 43/,
    );
    await expectRejected(
      withHeaders(signedProof(), { 'Content-Length': '43 ' }),
      /Content-Length must be 43/,
    );
  });

  it('rejects another Content-Type', async () => {
    for (const ct of [
      'application/json',
      'application/x-www-form-urlencoded; charset=utf-16',
      'text/plain',
    ]) {
      await expectRejected(
        withHeaders(signedProof(), { 'Content-Type': ct }),
        /Content-Type must be application\/x-www-form-urlencoded/,
      );
    }
  });

  it('rejects a proof missing a required header', async () => {
    for (const h of [
      'Authorization',
      'Host',
      'X-Amz-Date',
      'Content-Type',
      'X-Lkp-Server-Id',
      'X-Lkp-Key-Fingerprint',
    ]) {
      await expectRejected(
        withHeaders(signedProof(), { [h]: undefined }),
        new RegExp(`missing header\\(s\\) ${h}`),
      );
    }
  });

  it('rejects a proof that is not shaped like one', async () => {
    await expectRejected(null as unknown as IdentityProof, /Identity must be an object/);
    await expectRejected({ ...signedProof(), Extra: 1 } as unknown as IdentityProof, /only have the fields/);
    await expectRejected({ ...signedProof(), Headers: [] } as unknown as IdentityProof, /object Headers/);
    await expectRejected(
      { ...signedProof(), Body: 1 } as unknown as IdentityProof,
      /string Method, Url and Body/,
    );
  });
});

describe('binding headers (§3.1)', () => {
  it('rejects an unsigned server id', async () => {
    const proof = withHeaders(signedProof({ omit: ['X-Lkp-Server-Id'] }), {
      'X-Lkp-Server-Id': 'lkp-test-ca',
    });
    await expectRejected(proof, /SignedHeaders must include x-lkp-server-id/);
  });

  it('rejects an unsigned key fingerprint', async () => {
    const proof = withHeaders(signedProof({ omit: ['X-Lkp-Key-Fingerprint'] }), {
      'X-Lkp-Key-Fingerprint': FINGERPRINT,
    });
    await expectRejected(proof, /SignedHeaders must include x-lkp-key-fingerprint/);
  });

  it('rejects a proof made for another CA', async () => {
    const proof = signedProof({ signedExtra: { 'X-Lkp-Server-Id': 'other-ca' } });
    await expectRejected(proof, /X-Lkp-Server-Id does not match this CA \(expected lkp-test-ca\)/);
  });

  it('rejects a proof made for another key', async () => {
    const proof = signedProof({ signedExtra: { 'X-Lkp-Key-Fingerprint': 'SHA256:someoneElsesKey' } });
    await expectRejected(
      proof,
      /X-Lkp-Key-Fingerprint does not match the request's PublicKey \(SHA256:47DEQ/,
    );
  });

  it('rejects a session token that is not signed', async () => {
    const proof = withHeaders(signedProof({ sessionToken: null }), { 'X-Amz-Security-Token': SESSION_TOKEN });
    await expectRejected(proof, /SignedHeaders must include x-amz-security-token/);
  });
});

describe('X-Amz-Date (§3.1)', () => {
  it('rejects a stale date, saying how far off it is', async () => {
    const proof = signedProof({ date: new Date(NOW.getTime() - 412_000) });
    await expectRejected(
      proof,
      /^X-Amz-Date is 412 s away from the CA clock \(allowed 300 s\); check your clock$/,
    );
  });

  it('rejects a future date', async () => {
    await expectRejected(signedProof({ date: new Date(NOW.getTime() + 301_000) }), /301 s away/);
    await expectRejected(signedProof({ date: new Date('2099-01-01T00:00:00Z') }), /away from the CA clock/);
  });

  it('fails closed when the CA clock is not a valid date', async () => {
    await expectRejected(
      signedProof(),
      /away from the CA clock/,
      'Unauthenticated',
      CONFIG,
      new Date(Number.NaN),
    );
  });

  it('rejects malformed and impossible dates', async () => {
    for (const d of [
      '2025-03-01T12:00:00Z',
      '20250301T120000',
      '20250230T120000Z',
      '20250301T246000Z',
      '20250301t120000z',
      // Anchored at both ends: nothing may come before or after the date (issue 15, mutation testing).
      `x${amzDate(NOW)}`,
      `${amzDate(NOW)}x`,
    ]) {
      await expectRejected(
        withHeaders(signedProof(), { 'X-Amz-Date': d }),
        /X-Amz-Date must be a valid date/,
      );
    }
  });

  it('rejects a credential scope date that differs from X-Amz-Date', async () => {
    await expectRejected(
      replaceAuth(signedProof(), '/20250301/', '/20250302/'),
      /scope date does not match X-Amz-Date/,
    );
  });
});

describe('Authorization credential scope (§3.1)', () => {
  it('rejects another region with a helpful message', async () => {
    await expectRejected(
      signedProof({ region: 'us-west-2' }),
      /^request signed for region us-west-2, CA expects us-east-1$/,
    );
  });

  it('rejects another service', async () => {
    await expectRejected(signedProof({ service: 'iam' }), /^request signed for service iam, CA expects sts$/);
  });
});

describe('Authorization syntax (§3.1)', () => {
  const valid = authorizationOf(signedProof());
  const sig = /Signature=([0-9a-f]{64})/.exec(valid)?.[1] ?? '';

  it.each([
    [
      'another algorithm',
      valid.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512'),
      /AWS4-HMAC-SHA256 signature/,
    ],
    [
      'a lowercase algorithm',
      valid.replace('AWS4-HMAC-SHA256', 'aws4-hmac-sha256'),
      /AWS4-HMAC-SHA256 signature/,
    ],
    ['two values joined', `${valid}, ${valid}`, /exactly Credential, SignedHeaders and Signature/],
    [
      'a missing Signature',
      valid.replace(/, Signature=.*$/, ''),
      /exactly Credential, SignedHeaders and Signature/,
    ],
    ['an extra field', `${valid}, Extra=1`, /exactly Credential, SignedHeaders and Signature/],
    ['fields without a space', valid.replace(/, /g, ','), /exactly Credential, SignedHeaders and Signature/],
    [
      'reordered fields',
      valid.replace(/Credential=([^,]*), SignedHeaders=([^,]*)/, 'SignedHeaders=$2, Credential=$1'),
      /must have Credential= in its place/,
    ],
    [
      'a repeated Credential',
      valid.replace(/SignedHeaders=[^,]*/, 'Credential=x'),
      /must have SignedHeaders= in its place/,
    ],
    ['a short signature', valid.replace(sig, sig.slice(0, 63)), /Signature must be 64 hex digits/],
    ['an uppercase signature', valid.replace(sig, sig.toUpperCase()), /Signature must be 64 hex digits/],
    ['a signature with a prefix', valid.replace(sig, `x${sig}`), /Signature must be 64 hex digits/],
    ['a signature with a suffix', valid.replace(sig, `${sig}0`), /Signature must be 64 hex digits/],
    [
      'a credential with a prefix before the key id',
      valid.replace(ACCESS_KEY_ID, `-${ACCESS_KEY_ID}`),
      /Credential must be <access key id>/,
    ],
    [
      'a credential with a suffix after the terminator',
      valid.replace('/aws4_request', '/aws4_requestx'),
      /Credential must be <access key id>/,
    ],
    [
      'a credential with an extra part',
      valid.replace('/sts/aws4_request', '/sts/x/aws4_request'),
      /Credential must be <access key id>/,
    ],
    [
      'a credential without a terminator',
      valid.replace('/aws4_request', '/aws4_reques'),
      /Credential must be <access key id>/,
    ],
    [
      'a credential with an odd key id',
      valid.replace(ACCESS_KEY_ID, 'AKIA/EXAMPLE'),
      /Credential must be <access key id>/,
    ],
    [
      'an uppercase region',
      valid.replace('/us-east-1/', '/US-EAST-1/'),
      /Credential must be <access key id>/,
    ],
    [
      'extra whitespace',
      valid.replace('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256  '),
      /must have Credential= in its place/,
    ],
  ])('rejects %s', async (_what, Authorization, message) => {
    await expectRejected(withHeaders(signedProof(), { Authorization }), message);
  });

  it('rejects a duplicate Authorization header by case', async () => {
    await expectRejected(
      withHeaders(signedProof(), { authorization: valid }),
      /Authorization appears more than once/,
    );
  });
});

describe('SignedHeaders (§3.1)', () => {
  const signedList = /SignedHeaders=([^,]*)/;
  const withSigned = (list: string) => replaceAuth(signedProof(), signedList, `SignedHeaders=${list}`);
  const all =
    'content-length;content-type;host;x-amz-date;x-amz-security-token;x-lkp-key-fingerprint;x-lkp-server-id';

  it('accepts the list aws4 produces', () => {
    expect(authorizationOf(signedProof())).toContain(`SignedHeaders=${all}`);
  });

  it('rejects an unsorted list', async () => {
    await expectRejected(
      withSigned(all.replace('host;x-amz-date', 'x-amz-date;host')),
      /sorted and without duplicates/,
    );
  });

  it('rejects a duplicate entry', async () => {
    await expectRejected(withSigned(all.replace('host;', 'host;host;')), /sorted and without duplicates/);
  });

  it('rejects a name for a header that is not sent', async () => {
    await expectRejected(withSigned(`${all};x-one-more`), /names x-one-more, which is not sent/);
  });

  it('rejects uppercase, empty or odd entries', async () => {
    for (const list of [all.replace('host', 'Host'), `${all};`, `;${all}`, all.replace(/;/g, ','), '']) {
      await expectRejected(withSigned(list), /SignedHeaders must be lowercase header names/);
    }
  });

  it('rejects a list missing host or x-amz-date', async () => {
    await expectRejected(withSigned(all.replace('host;', '')), /must include host/);
    await expectRejected(withSigned(all.replace('x-amz-date;', '')), /must include x-amz-date/);
  });
});

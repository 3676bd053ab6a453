/**
 * DESIGN §3.1 request smuggling, through the real HTTP transport of `lkp-ca serve` and the STS
 * stand-in. Each attack is signed over exactly the values it sends (test/helpers/attack.ts), so a
 * local STS would vouch for it: the CA's own guards must refuse it, before anything reaches STS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { LOCAL_INSTANCE_ARN, startLocalStack, type LocalStack } from '../../src/local/stack.js';
import type { IdentityProof, InfoResponse } from '../../src/protocol.js';
import {
  amzDate,
  ed25519PublicKey,
  expectNoSecretsIn,
  expectRefused,
  fingerprint,
  postCa,
  signProof,
  tamper,
  withAuthorization,
  type CaAnswer,
  type SignOptions,
  principalSecrets,
} from '../helpers/attack.js';

let stack: LocalStack;
let info: InfoResponse;
let host: string;
const publicKey = ed25519PublicKey('victim');
const otherKey = ed25519PublicKey('attacker');

beforeAll(async () => {
  stack = await startLocalStack();
  info = await fetchCaInfo(stack.caUrl);
  host = new URL(info.StsEndpoint).host;
});
afterAll(async () => stack?.close());

const port = () => new URL(info.StsEndpoint).port;

function signed(over: Partial<SignOptions> = {}): IdentityProof {
  return signProof({
    stsEndpoint: info.StsEndpoint,
    region: info.StsRegion,
    serverId: info.ServerId,
    credentials: stack.user.credentials,
    publicKey,
    ...over,
  });
}

function userRequest(identity: unknown, key = publicKey): Record<string, unknown> {
  return {
    Kind: 'User',
    Identity: identity,
    PublicKey: key,
    RemoteInstanceArn: LOCAL_INSTANCE_ARN,
    SshUsername: 'ec2-user',
  };
}

async function send(body: unknown): Promise<CaAnswer & { stsCalls: number }> {
  const before = stack.sts.requestCount();
  const answer = await postCa(stack.caUrl, body);
  return { ...answer, stsCalls: stack.sts.requestCount() - before };
}

/** Refused by the CA's own parser: 400/401, no certificate, and STS never asked. */
async function expectStoppedAtTheDoor(body: unknown): Promise<void> {
  const answer = await send(body);
  expectRefused(answer, [400, 401]);
  expect(answer.stsCalls).toBe(0);
}

describe('controls', () => {
  it('issues a certificate for an honest proof signed by the attack helper', async () => {
    const answer = await send(userRequest(signed()));
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json.Principals).toEqual([`ec2-user@${LOCAL_INSTANCE_ARN}`]);
    expect(answer.stsCalls).toBe(1);
  });

  it('issues one for a proof with header names in another case (names are case-insensitive)', async () => {
    const p = signed();
    const lower = Object.fromEntries(Object.entries(p.Headers).map(([k, v]) => [k.toLowerCase(), v]));
    const answer = await send(userRequest({ ...p, Headers: lower }));
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  });
});

describe('§3.1 Host header tricks (signed)', () => {
  const hosts: [string, () => string][] = [
    ['a suffix', () => `${host}.evil.example`],
    ['a prefix label', () => `evil.${host}`],
    ['userinfo', () => `user@${host}`],
    ['a trailing dot', () => `127.0.0.1.:${port()}`],
    ['a trailing dot after the port', () => `${host}.`],
    ['no port', () => '127.0.0.1'],
    ['another port', () => '127.0.0.1:443'],
    ['a zero-padded port', () => `127.0.0.1:0${port()}`],
    ['the port twice', () => `${host}:${port()}`],
    ['an empty port', () => '127.0.0.1:'],
    ['a look-alike (fullwidth digits)', () => `１２７.0.0.1:${port()}`],
    ['a look-alike (Cyrillic)', () => `lоcalhost:${port()}`],
    ['another name for loopback', () => `localhost:${port()}`],
    ['an IPv6 literal', () => `[::1]:${port()}`],
    ['a v4-mapped IPv6 literal', () => `[::ffff:127.0.0.1]:${port()}`],
    ['a decimal IP', () => `2130706433:${port()}`],
    ['a hex IP', () => `0x7f000001:${port()}`],
    ['a short IP', () => `127.1:${port()}`],
    ['surrounding spaces', () => ` ${host} `],
    ['a comma list', () => `${host},evil.example`],
  ];
  it.each(hosts)('refuses a Host with %s', async (_, make) => {
    await expectStoppedAtTheDoor(userRequest(signed({ host: make() })));
  });
});

describe('§3.1 Url tricks', () => {
  const urls: [string, () => Partial<SignOptions>][] = [
    ['another host', () => ({ url: 'http://evil.example/' })],
    ['a suffix host', () => ({ url: `http://${host}.evil.example/` })],
    ['userinfo', () => ({ url: `http://user:pw@${host}/` })],
    ['userinfo that hides the real host', () => ({ url: `http://${host}@evil.example/` })],
    ['a trailing dot', () => ({ url: `http://127.0.0.1.:${port()}/` })],
    ['https instead of http', () => ({ url: `https://${host}/` })],
    ['upper-case scheme', () => ({ url: `HTTP://${host}/` })],
    ['a zero-padded port', () => ({ url: `http://127.0.0.1:0${port()}/` })],
    ['a decimal IP', () => ({ url: `http://2130706433:${port()}/` })],
    ['no path', () => ({ url: `http://${host}` })],
    ['a query', () => ({ url: `http://${host}/?Action=AssumeRole` })],
    ['an empty query', () => ({ url: `http://${host}/?` })],
    ['a fragment', () => ({ url: `http://${host}/#x` })],
    ['an empty fragment', () => ({ url: `http://${host}/#` })],
    ['another path (signed)', () => ({ path: '/x', url: `http://${host}/x` })],
    ['an encoded slash', () => ({ path: '/%2F', url: `http://${host}/%2F` })],
    ['a double slash', () => ({ path: '//', url: `http://${host}//` })],
    ['a dot segment', () => ({ url: `http://${host}/x/..` })],
    ['an encoded dot segment', () => ({ url: `http://${host}/%2e` })],
    ['a backslash', () => ({ url: `http://${host}\\` })],
    ['a tab inside', () => ({ url: `http://${host}/\t` })],
    ['a trailing space', () => ({ url: `http://${host}/ ` })],
    ['a scheme-relative URL', () => ({ url: `//${host}/` })],
    ['a relative URL', () => ({ url: '/' })],
    ['a file URL', () => ({ url: 'file:///etc/passwd' })],
    ['CRLF in the URL', () => ({ url: `http://${host}/\r\nX-Injected: 1` })],
  ];
  it.each(urls)('refuses a Url with %s', async (_, make) => {
    await expectStoppedAtTheDoor(userRequest(signed(make())));
  });

  it('refuses a Method other than POST, in any case', async () => {
    for (const Method of ['GET', 'post', 'PUT', 'POST ', '']) {
      await expectStoppedAtTheDoor(userRequest({ ...signed(), Method }));
    }
  });
});

describe('§3.1 Body tricks (signed)', () => {
  const bodies = [
    'Action=GetCallerIdentity&Version=2011-06-15&Action=AssumeRole',
    'Action=GetCallerIdentity&Action=GetCallerIdentity',
    'Action=GetCallerIdentity&Version=2011-06-15&Version=2011-06-15',
    'action=GetCallerIdentity&Version=2011-06-15',
    'Action=getcalleridentity&Version=2011-06-15',
    'Action=GetCallerIdentity&version=2011-06-15',
    'Action=GetCallerIdentity&Version=2011-06-15&RoleArn=arn:aws:iam::111122223333:role/x',
    'Action=GetCaller%49dentity&Version=2011-06-15',
    'Action%3DGetCallerIdentity&Version=2011-06-15',
    'Action=GetCallerIdentity%26Version%3D2011-06-15',
    'Action=GetCallerIdentity&Version=2011-06-15&',
    '&Action=GetCallerIdentity&Version=2011-06-15',
    'Action=GetCallerIdentity&&Version=2011-06-15',
    'Action=GetCallerIdentity&Version=2011-06-15;',
    'Version=2011-06-15&Action=GetCallerIdentity',
    'Action=GetCallerIdentity&Version=2099-01-01',
    'Action=GetCallerIdentity+&Version=2011-06-15',
    ' Action=GetCallerIdentity&Version=2011-06-15',
    'Action=GetCallerIdentity&Version=2011-06-15\n',
    'Action=GetCallerIdentity&Version=2011-06-15\0',
    'Action=AssumeRole&RoleArn=arn:aws:iam::111122223333:role/admin&RoleSessionName=x',
    '',
  ];
  it.each(bodies.map((b) => [JSON.stringify(b), b]))('refuses the body %s', async (_, body) => {
    await expectStoppedAtTheDoor(userRequest(signed({ body })));
  });
});

describe('§3.1 header tricks', () => {
  const extraSigned = [
    'X-Amz-Target',
    'X-Amz-Content-Sha256',
    'X-Amz-User-Agent',
    'X-Forwarded-For',
    'X-Forwarded-Host',
    'X-Lkp-Server-Id2',
    'X-Lkp-Vouchee',
    'Accept',
    'Connection',
    'Transfer-Encoding',
    'Expect',
    'Host2',
    'Authorization2',
  ];
  it.each(extraSigned)('refuses an extra signed header %s', async (name) => {
    await expectStoppedAtTheDoor(userRequest(signed({ extraHeaders: { [name]: 'x' } })));
  });

  const tampering: [string, (h: Record<string, unknown>) => void][] = [
    ['a duplicate Host by case', (h) => (h.host = h.Host)],
    ['a duplicate server id by case', (h) => (h['x-lkp-server-id'] = h['X-Lkp-Server-Id'])],
    ['a duplicate Authorization by case', (h) => (h.AUTHORIZATION = h.Authorization)],
    ['a header name with a trailing space', (h) => (h['Host '] = h.Host)],
    ['a header name with a colon', (h) => (h['Host:'] = 'x')],
    ['an empty header name', (h) => (h[''] = 'x')],
    ['a __proto__ header', (h) => Object.defineProperty(h, '__proto__', { value: 'x', enumerable: true })],
    ['CRLF in the server id', (h) => (h['X-Lkp-Server-Id'] = `${info.ServerId}\r\nX-Amz-Target: x`)],
    ['LF in the Host', (h) => (h.Host = `${host}\nX-Amz-Target: x`)],
    ['CR in the date', (h) => (h['X-Amz-Date'] = `${String(h['X-Amz-Date'])}\r`)],
    ['NUL in the fingerprint', (h) => (h['X-Lkp-Key-Fingerprint'] = `${fingerprint(publicKey)}\0`)],
    ['DEL in the content type', (h) => (h['Content-Type'] = `${String(h['Content-Type'])}\x7f`)],
    ['a non-ASCII server id', (h) => (h['X-Lkp-Server-Id'] = `${info.ServerId}\u00e9`)],
    ['a numeric server id', (h) => (h['X-Lkp-Server-Id'] = 7)],
    ['a boolean date', (h) => (h['X-Amz-Date'] = true)],
    ['a null Host', (h) => (h.Host = null)],
    ['an object Authorization', (h) => (h.Authorization = { toString: 'x' })],
    ['an array Authorization', (h) => (h.Authorization = [h.Authorization, h.Authorization])],
    ['an array Host', (h) => (h.Host = [h.Host])],
    ['a fractional Content-Length', (h) => (h['Content-Length'] = 43.5)],
    ['a negative Content-Length', (h) => (h['Content-Length'] = -43)],
    ['a wrong Content-Length', (h) => (h['Content-Length'] = '1')],
    ['a padded Content-Length', (h) => (h['Content-Length'] = '043')],
    ['an array Content-Length', (h) => (h['Content-Length'] = [43])],
    ['an unlisted Content-Type', (h) => (h['Content-Type'] = 'application/json')],
    ['a missing Host', (h) => delete h.Host],
    ['a missing date', (h) => delete h['X-Amz-Date']],
    ['a missing server id', (h) => delete h['X-Lkp-Server-Id']],
    ['a missing key fingerprint', (h) => delete h['X-Lkp-Key-Fingerprint']],
    ['a missing Authorization', (h) => delete h.Authorization],
  ];
  it.each(tampering)('refuses %s', async (_, change) => {
    await expectStoppedAtTheDoor(userRequest(tamper(signed(), change)));
  });

  it('refuses Headers that are an array, a string or null', async () => {
    for (const Headers of [[], 'Host: x', null, [['Host', host]]]) {
      await expectStoppedAtTheDoor(userRequest({ ...signed(), Headers }));
    }
  });

  it('refuses extra fields next to Method, Url, Body and Headers', async () => {
    await expectStoppedAtTheDoor(userRequest({ ...signed(), Endpoint: 'http://evil.example/' }));
  });
});

describe('§3.1 Authorization and SignedHeaders parsing tricks', () => {
  const rewrites: [string, (auth: string) => string][] = [
    [
      'spaces in SignedHeaders',
      (a) => a.replace(/SignedHeaders=([^,]+)/, (_, s: string) => `SignedHeaders=${s.replaceAll(';', '; ')}`),
    ],
    [
      'upper-case SignedHeaders',
      (a) => a.replace(/SignedHeaders=([^,]+)/, (_, s: string) => `SignedHeaders=${s.toUpperCase()}`),
    ],
    ['a duplicated SignedHeaders entry', (a) => a.replace('SignedHeaders=', 'SignedHeaders=content-length;')],
    [
      'unsorted SignedHeaders',
      (a) =>
        a.replace(
          /SignedHeaders=([^,]+)/,
          (_, s: string) => `SignedHeaders=${s.split(';').reverse().join(';')}`,
        ),
    ],
    ['SignedHeaders without the key fingerprint', (a) => a.replace(';x-lkp-key-fingerprint', '')],
    ['SignedHeaders without the server id', (a) => a.replace(';x-lkp-server-id', '')],
    ['SignedHeaders without host', (a) => a.replace('host;', '')],
    ['SignedHeaders without the date', (a) => a.replace(';x-amz-date', '')],
    ['SignedHeaders naming a header not sent', (a) => a.replace(';x-amz-date', ';x-amz-date;x-amz-target')],
    ['an empty SignedHeaders entry', (a) => a.replace('host;', 'host;;')],
    ['a trailing ; in SignedHeaders', (a) => a.replace(/(SignedHeaders=[^,]+)/, '$1;')],
    ['an extra comma', (a) => a.replace(', SignedHeaders', ',, SignedHeaders')],
    ['no space after the commas', (a) => a.replaceAll(', ', ',')],
    [
      'fields out of order',
      (a) => {
        const [cred, signedH, sig] = a.replace('AWS4-HMAC-SHA256 ', '').split(', ');
        return `AWS4-HMAC-SHA256 ${signedH}, ${cred}, ${sig}`;
      },
    ],
    ['a fourth field', (a) => `${a}, Extra=1`],
    ['a second credential', (a) => `${a}, ${a}`],
    ['a lower-case algorithm', (a) => a.replace('AWS4-HMAC-SHA256', 'aws4-hmac-sha256')],
    ['another algorithm', (a) => a.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512')],
    ['a tab separator', (a) => a.replace('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256\t')],
    ['a short signature', (a) => a.replace(/Signature=[0-9a-f]{64}/, 'Signature=abcd')],
    [
      'an upper-case signature',
      (a) => a.replace(/Signature=([0-9a-f]{64})/, (_, s: string) => `Signature=${s.toUpperCase()}`),
    ],
    ['a scope for another service', (a) => a.replace('/sts/aws4_request', '/iam/aws4_request')],
    ['a scope for another region', (a) => a.replace(`/${info.StsRegion}/`, '/us-west-2/')],
    ['a scope date of another day', (a) => a.replace(/\/(\d{8})\//, '/20200101/')],
    ['a scope without aws4_request', (a) => a.replace('/aws4_request', '/aws4')],
    ['a scope with an extra part', (a) => a.replace('/sts/', '/sts/x/')],
    ['a presigned-style Credential', (a) => a.replace('Credential=', 'X-Amz-Credential=')],
  ];
  it.each(rewrites)('refuses %s', async (_, rewrite) => {
    await expectStoppedAtTheDoor(userRequest(withAuthorization(signed(), rewrite)));
  });

  it('refuses a validly signed proof that left the key fingerprint out of the signature', async () => {
    const p = signed({
      omit: ['X-Lkp-Key-Fingerprint'],
      unsigned: { 'X-Lkp-Key-Fingerprint': fingerprint(publicKey) },
    });
    expect(String(p.Headers.Authorization)).not.toContain('x-lkp-key-fingerprint');
    await expectStoppedAtTheDoor(userRequest(p));
  });

  it('refuses a validly signed proof that left the server id out of the signature', async () => {
    const p = signed({ omit: ['X-Lkp-Server-Id'], unsigned: { 'X-Lkp-Server-Id': info.ServerId } });
    await expectStoppedAtTheDoor(userRequest(p));
  });

  it('refuses a session proof whose security token is sent but not signed', async () => {
    const base = buildIdentityProof({
      stsEndpoint: info.StsEndpoint,
      region: info.StsRegion,
      serverId: info.ServerId,
      keyFingerprint: fingerprint(publicKey),
      credentials: { ...stack.host.credentials, sessionToken: undefined },
    });
    const p = tamper(base, (h) => (h['X-Amz-Security-Token'] = stack.host.credentials.sessionToken));
    await expectStoppedAtTheDoor(userRequest(p));
  });
});

describe('§3.1 dates, scope and server id', () => {
  const now = Date.now();
  const cases: [string, () => Partial<SignOptions>][] = [
    ['a stale date (10 min)', () => ({ amzDate: amzDate(new Date(now - 600_000)) })],
    ['a date just past the skew', () => ({ amzDate: amzDate(new Date(now - 330_000)) })],
    ['a future date (10 min)', () => ({ amzDate: amzDate(new Date(now + 600_000)) })],
    ['an ISO date with dashes', () => ({ amzDate: new Date(now).toISOString() })],
    ['a date without Z', () => ({ amzDate: amzDate(new Date(now)).slice(0, -1) })],
    ['an impossible date', () => ({ amzDate: '20240230T000000Z' })],
    ['an HTTP date', () => ({ amzDate: new Date(now).toUTCString() })],
    ['a Unix time', () => ({ amzDate: String(Math.floor(now / 1000)) })],
    ['another region', () => ({ region: 'us-west-2' })],
    ['another partition region', () => ({ region: 'cn-north-1' })],
    ['another service', () => ({ service: 'iam' })],
    ['the service in upper case', () => ({ service: 'STS' })],
    ['another server id', () => ({ serverIdValue: 'other-ca' })],
    ['the server id in upper case', () => ({ serverIdValue: info.ServerId.toUpperCase() })],
    ['the server id with a trailing space', () => ({ serverIdValue: `${info.ServerId} ` })],
    ['an empty server id', () => ({ serverIdValue: '' })],
  ];
  it.each(cases)('refuses a proof signed with %s', async (_, over) => {
    await expectStoppedAtTheDoor(userRequest(signed(over())));
  });
});

describe('§3.1 key binding', () => {
  it('refuses a captured proof replayed with another key', async () => {
    const captured = signed();
    await expectStoppedAtTheDoor(userRequest(captured, otherKey));
    // and the victim's own request with it still works: the proof itself was fine
    expect((await send(userRequest(captured))).status).toBe(200);
  });

  it('refuses a proof whose fingerprint is another spelling of the same key', async () => {
    const fp = fingerprint(publicKey);
    const spellings = [
      fp.toLowerCase(),
      fp.replace('SHA256:', ''),
      `${fp}=`,
      `SHA256: ${fp.slice(7)}`,
      ` ${fp}`,
    ];
    for (const fingerprintValue of spellings) {
      await expectStoppedAtTheDoor(userRequest(signed({ fingerprintValue })));
    }
  });

  it('refuses a host request carrying a user proof made for another key', async () => {
    const answer = await send({
      Kind: 'Host',
      Identity: signed({ credentials: stack.host.credentials }),
      PublicKey: otherKey,
      HostInstanceArn: LOCAL_INSTANCE_ARN,
      Principals: [],
    });
    expectRefused(answer, [401]);
    expect(answer.stsCalls).toBe(0);
  });
});

describe('request shape around the proof', () => {
  const shapes: [string, Record<string, unknown>][] = [
    ['a source IP claim', { SourceIp: '10.0.0.1' }],
    ['a caller-chosen Principals on a user request', { Principals: ['root'] }],
    ['a caller-chosen From', { From: { Arn: 'arn:aws:iam::111122223333:user/admin' } }],
    ['a KeyId', { KeyId: 'admin' }],
    ['a re-cased field', { sshUsername: 'root' }],
  ];
  it.each(shapes)('refuses %s', async (_, extra) => {
    const answer = await send({ ...userRequest(signed()), ...extra });
    expectRefused(answer, [400]);
    expect(answer.stsCalls).toBe(0);
  });
});

describe('logging (DESIGN §5)', () => {
  it('wrote no Authorization value, signature, session token or secret key', () => {
    expectNoSecretsIn(stack.caOutput(), principalSecrets(stack.sts.principals));
    expect(stack.caOutput().split('\n').filter(Boolean).length).toBeGreaterThan(100);
  });
});

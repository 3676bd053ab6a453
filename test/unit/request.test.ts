import { describe, expect, it } from 'vitest';
import { LkpError } from '../../src/errors.js';
import { MAX_REQUEST_BYTES } from '../../src/protocol.js';
import { parseRequest, parseRequestBody } from '../../src/request.js';

const ARN = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0';
const identity = {
  Method: 'POST',
  Url: 'https://sts.us-east-1.amazonaws.com/',
  Body: 'Action=GetCallerIdentity&Version=2011-06-15',
  Headers: { Host: 'sts.us-east-1.amazonaws.com', 'Content-Length': 43 },
};
const user = {
  Kind: 'User',
  Identity: identity,
  PublicKey: 'ssh-ed25519 AAAA',
  RemoteInstanceArn: ARN,
  SshUsername: 'ec2-user',
};
const host = {
  Kind: 'Host',
  Identity: identity,
  PublicKey: 'ssh-ed25519 AAAA',
  HostInstanceArn: ARN,
  Principals: ['10.0.0.5'],
};

function badRequest(raw: unknown): string {
  try {
    parseRequest(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(LkpError);
    expect((e as LkpError).code).toBe('BadRequest');
    return (e as LkpError).message;
  }
  throw new Error('expected BadRequest');
}

describe('parseRequest', () => {
  it('accepts the three kinds of DESIGN §3.2', () => {
    expect(parseRequest({ Kind: 'Info' })).toEqual({ Kind: 'Info' });
    expect(parseRequest(user)).toEqual(user);
    expect(parseRequest(host)).toEqual(host);
    expect(parseRequest({ ...host, Principals: undefined })).toMatchObject({ Principals: [] });
  });

  it.each([
    ['not an object', 'User', /request must be a JSON object/],
    ['an array', [user], /request must be a JSON object/],
    [
      'an unknown Kind',
      { ...user, Kind: 'Admin' },
      /Kind must be one of "User", "Host", "Info", "Close", "Accounts", "Lock"/,
    ],
    ['Info with extra fields', { Kind: 'Info', X: 1 }, /unknown field\(s\) X/],
    ['an unknown field', { ...user, Principals: ['root'] }, /unknown field\(s\) Principals/],
    ['a non-string PublicKey', { ...user, PublicKey: 42 }, /PublicKey must be a string/],
    ['an over-long PublicKey', { ...user, PublicKey: 'x'.repeat(9000) }, /PublicKey is longer than/],
    ['a missing Identity', { ...user, Identity: undefined }, /Identity must be a JSON object/],
    [
      'extra Identity fields',
      { ...user, Identity: { ...identity, Extra: '' } },
      /Identity has unknown field/,
    ],
    [
      'a non-string header',
      { ...user, Identity: { ...identity, Headers: { Host: ['a', 'b'] } } },
      /Headers.Host must be a string/,
    ],
    [
      'a negative number header',
      { ...user, Identity: { ...identity, Headers: { 'Content-Length': -1 } } },
      /must be a string/,
    ],
    [
      'too many headers',
      {
        ...user,
        Identity: { ...identity, Headers: Object.fromEntries([...Array(17)].map((_, i) => [`H${i}`, 'v'])) },
      },
      /more than 16 headers/,
    ],
  ])('rejects %s', (_, raw, message) => {
    expect(badRequest(raw)).toMatch(message);
  });

  it('accepts a Close request and nothing more in it', () => {
    expect(parseRequest({ Kind: 'Close', Identity: identity, PublicKey: 'ssh-ed25519 AAAA' })).toEqual({
      Kind: 'Close',
      Identity: identity,
      PublicKey: 'ssh-ed25519 AAAA',
    });
    expect(badRequest({ Kind: 'Close', Identity: identity, PublicKey: 'k', RemoteInstanceArn: ARN })).toMatch(
      /unknown field\(s\) RemoteInstanceArn/,
    );
  });

  it.each(['root;', '-rf', '0day', 'a'.repeat(33), 'ec2 user', 'ec2-user\n', 'ünicode', ''])(
    'rejects the SshUsername %j',
    (name) => {
      expect(badRequest({ ...user, SshUsername: name })).toMatch(/SshUsername must be a POSIX user name/);
    },
  );

  it.each(['ec2-user', 'ubuntu', '_svc', 'jane.doe.at.example.com', 'a'.repeat(32)])(
    'accepts the SshUsername %j',
    (name) => {
      expect(parseRequest({ ...user, SshUsername: name })).toMatchObject({ SshUsername: name });
    },
  );

  it.each([
    'arn:aws:ec2:us-east-1:111122223333:instance/i-XYZ',
    'arn:aws:ec2:us-east-1:1111:instance/i-0123456789abcdef0',
    'arn:aws:ec2:us-east-1:111122223333:volume/vol-0123456789abcdef0',
    'arn:evil:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0',
    `${ARN}/extra`,
    `${ARN},root`,
  ])('rejects the instance ARN %s', (arn) => {
    expect(badRequest({ ...user, RemoteInstanceArn: arn })).toMatch(
      /RemoteInstanceArn must be an EC2 instance ARN/,
    );
    expect(badRequest({ ...host, HostInstanceArn: arn })).toMatch(
      /HostInstanceArn must be an EC2 instance ARN/,
    );
  });

  it.each(['*', 'host,other', 'a b', 'x\0', '', 'a'.repeat(254)])('rejects the host principal %j', (name) => {
    expect(badRequest({ ...host, Principals: [name] })).toMatch(
      /Principals must be host names or IP addresses/,
    );
  });

  it('passes voucher tokens on for verification, and drops an empty list', () => {
    expect(parseRequest({ ...user, Vouchers: ['lkpv1.abc'] })).toMatchObject({ Vouchers: ['lkpv1.abc'] });
    expect(parseRequest({ ...user, Vouchers: [] })).not.toHaveProperty('Vouchers');
    expect(badRequest({ ...user, Vouchers: Array(9).fill('lkpv1.abc') })).toMatch(/at most 8/);
  });
});

describe('parseRequestBody', () => {
  it('parses JSON text', () => {
    expect(parseRequestBody(JSON.stringify({ Kind: 'Info' }))).toEqual({ Kind: 'Info' });
  });

  it('refuses a body over the limit before parsing it', () => {
    const body = Buffer.alloc(MAX_REQUEST_BYTES + 1, 0x20);
    expect(() => parseRequestBody(body)).toThrow(/the limit is 65536/);
  });

  it('refuses text that is not JSON', () => {
    expect(() => parseRequestBody('{"Kind":')).toThrow(/not valid JSON/);
  });
});

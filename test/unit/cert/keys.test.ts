import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf, parsePublicKey } from '../../../src/cert/keys.js';
import { LkpError } from '../../../src/errors.js';
import {
  keygenFingerprint,
  makeKeyPair,
  securityKeyLine,
  type KeyPairType,
} from '../../helpers/ssh-keygen.js';

// Inputs are built with this local encoder, not the one under test.
const str = (data: Buffer | string): Buffer => {
  const bytes = Buffer.from(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};
const line = (type: string, ...fields: (Buffer | string)[]) =>
  `${type} ${Buffer.concat(fields.map(str)).toString('base64')}`;
const blobOf = (keyLine: string) => Buffer.from(keyLine.split(' ')[1] ?? '', 'base64');

function expectBadRequest(text: string, message: RegExp): void {
  let caught: unknown;
  try {
    parsePublicKey(text);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(LkpError);
  expect((caught as LkpError).code).toBe('BadRequest');
  expect((caught as LkpError).message).toMatch(message);
}

function p256Point(): { x: Buffer; y: Buffer } {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  return { x: Buffer.from(jwk.x ?? '', 'base64url'), y: Buffer.from(jwk.y ?? '', 'base64url') };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-keys-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parsePublicKey accepts', () => {
  const cases: [KeyPairType, string, number][] = [
    ['ed25519', 'ssh-ed25519', 256],
    ['ecdsa-256', 'ecdsa-sha2-nistp256', 256],
    ['ecdsa-384', 'ecdsa-sha2-nistp384', 384],
    ['ecdsa-521', 'ecdsa-sha2-nistp521', 521],
    ['rsa-2048', 'ssh-rsa', 2048],
    ['rsa-3072', 'ssh-rsa', 3072],
  ];
  it.each(cases)('%s keys from ssh-keygen, with the fingerprint ssh-keygen -l prints', (kind, type, bits) => {
    const pair = makeKeyPair(dir, kind);
    const key = parsePublicKey(pair.publicKey);
    expect(key.type).toBe(type);
    expect(key.bits).toBe(bits);
    expect(key.blob.equals(blobOf(pair.publicKey))).toBe(true);
    expect(key.fingerprint).toBe(keygenFingerprint(pair.publicPath));
    expect(fingerprintOf(key.blob)).toBe(key.fingerprint);
  });

  it.each([
    ['sk-ed25519', 'sk-ssh-ed25519@openssh.com'],
    ['sk-ecdsa', 'sk-ecdsa-sha2-nistp256@openssh.com'],
  ] as const)('%s security keys built per PROTOCOL.u2f', (kind, type) => {
    const text = securityKeyLine(kind);
    const path = join(dir, `${kind}.pub`);
    writeFileSync(path, text + '\n');
    const key = parsePublicKey(text);
    expect(key.type).toBe(type);
    expect(key.bits).toBe(256);
    expect(key.fingerprint).toBe(keygenFingerprint(path));
  });

  it('a line read from a .pub file, trailing newline and comment with spaces included', () => {
    const pair = makeKeyPair(dir, 'ed25519', 'with-comment');
    const key = parsePublicKey(`${pair.publicKey} some more comment words\n`);
    expect(key.blob.equals(blobOf(pair.publicKey))).toBe(true);
  });
});

describe('parsePublicKey rejects', () => {
  let ed25519: string;
  beforeAll(() => {
    ed25519 = makeKeyPair(dir, 'ed25519', 'reject-base').publicKey;
  });

  it('DSA keys, pointing at ed25519', () => {
    let dsa: string;
    try {
      dsa = makeKeyPair(dir, 'dsa').publicKey;
    } catch {
      // Newer OpenSSH builds cannot make DSA keys: the shape of the blob is all that matters here.
      dsa = line('ssh-dss', randomBytes(128), randomBytes(20), randomBytes(128), randomBytes(128));
    }
    expectBadRequest(dsa, /^DSA keys are not accepted; use ed25519/);
  });

  it('RSA keys under 2048 bits', () => {
    expectBadRequest(makeKeyPair(dir, 'rsa-1024').publicKey, /at least 2048 bits \(this one has 1024\)/);
  });

  it('certificates offered as keys', () => {
    const ca = makeKeyPair(dir, 'ed25519', 'cert-ca');
    const user = makeKeyPair(dir, 'ed25519', 'cert-user');
    execFileSync('ssh-keygen', ['-q', '-s', ca.privatePath, '-I', 'id', '-n', 'u', user.publicPath], {
      stdio: 'pipe',
    });
    const cert = readFileSync(join(dir, 'cert-user-cert.pub'), 'utf8');
    expectBadRequest(cert, /certificate was sent as PublicKey; send the plain public key/);
  });

  it('unknown key types', () => {
    expectBadRequest(line('ssh-foo', randomBytes(32)), /key type "ssh-foo" is not supported/);
  });

  it('a type name that does not match the blob', () => {
    expectBadRequest(
      `ecdsa-sha2-nistp256 ${ed25519.split(' ')[1]}`,
      /says "ecdsa-sha2-nistp256" but its key data is "ssh-ed25519"/,
    );
  });

  it('a line without key data', () => {
    expectBadRequest('ssh-ed25519', /must look like "<type> <base64> \[comment\]"/);
  });

  it('characters outside base64', () => {
    expectBadRequest(`ssh-ed25519 ${ed25519.split(' ')[1]?.slice(0, -4)}A*A=`, /not valid base64/);
  });

  it('non-canonical base64 (padding bits set)', () => {
    // "AAB=" decodes like "AAA=" but is not what an encoder writes.
    expectBadRequest('ssh-ed25519 AAB=', /not valid base64/);
  });

  it('a truncated blob', () => {
    const blob = blobOf(ed25519);
    expectBadRequest(`ssh-ed25519 ${blob.subarray(0, blob.length - 1).toString('base64')}`, /truncated/);
  });

  it('trailing data inside the blob', () => {
    const blob = Buffer.concat([blobOf(ed25519), Buffer.of(0)]);
    expectBadRequest(`ssh-ed25519 ${blob.toString('base64')}`, /trailing data/);
  });

  it('ed25519 keys that are not 32 bytes', () => {
    expectBadRequest(line('ssh-ed25519', 'ssh-ed25519', randomBytes(31)), /exactly 32 bytes/);
  });

  it('compressed ECDSA points', () => {
    const { x } = p256Point();
    expectBadRequest(
      line('ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256', 'nistp256', Buffer.concat([Buffer.of(2), x])),
      /uncompressed nistp256 point/,
    );
  });

  it('ECDSA points off the curve', () => {
    const { x, y } = p256Point();
    y[31] = (y[31] ?? 0) ^ 1;
    expectBadRequest(
      line('ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256', 'nistp256', Buffer.concat([Buffer.of(4), x, y])),
      /not a point on nistp256/,
    );
  });

  it('an ECDSA curve name that does not match the type', () => {
    const { x, y } = p256Point();
    expectBadRequest(
      line('ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256', 'nistp384', Buffer.concat([Buffer.of(4), x, y])),
      /names curve "nistp384" but its type says nistp256/,
    );
  });

  it('security keys without an application', () => {
    const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const sk = 'sk-ssh-ed25519@openssh.com';
    expectBadRequest(line(sk, sk, Buffer.from(ed.x ?? '', 'base64url'), ''), /empty application/);
  });

  describe('RSA keys with', () => {
    const modulus = () => {
      const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
      return Buffer.concat([Buffer.of(0), Buffer.from(jwk.n ?? '', 'base64url')]);
    };
    it('an even exponent', () => {
      expectBadRequest(line('ssh-rsa', 'ssh-rsa', Buffer.of(1, 0, 0), modulus()), /exponent is invalid/);
    });
    it('exponent 1', () => {
      expectBadRequest(line('ssh-rsa', 'ssh-rsa', Buffer.of(1), modulus()), /exponent is invalid/);
    });
    it('an even modulus', () => {
      const n = modulus();
      n[n.length - 1] = (n[n.length - 1] ?? 0) & 0xfe;
      expectBadRequest(line('ssh-rsa', 'ssh-rsa', Buffer.of(1, 0, 1), n), /modulus is invalid/);
    });
    it('a negative modulus', () => {
      expectBadRequest(line('ssh-rsa', 'ssh-rsa', Buffer.of(1, 0, 1), modulus().subarray(1)), /negative/);
    });
    it('an mpint with unnecessary leading zeros', () => {
      expectBadRequest(
        line('ssh-rsa', 'ssh-rsa', Buffer.of(0, 1, 0, 1), modulus()),
        /unnecessary leading zeros/,
      );
    });
  });

  it('input over 16 KiB', () => {
    expectBadRequest(`${ed25519} ${'x'.repeat(16 * 1024)}`, /longer than 16 KiB/);
  });

  it.each([
    ['NUL', '\0'],
    ['escape', '\x1b'],
    ['embedded newline', '\n'],
    ['tab', '\t'],
  ])('control characters (%s)', (_name, char) => {
    expectBadRequest(`${ed25519.split(' ').slice(0, 2).join(' ')} comment${char}more`, /control characters/);
  });
});

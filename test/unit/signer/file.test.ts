import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePublicKey } from '../../../src/cert/keys.js';
import { fileSigner } from '../../../src/signer/file.js';
import { verifySshSignature } from '../../../src/signer/ssh-signature.js';
import { makeKeyPair } from '../../helpers/ssh-keygen.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-file-signer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The base64 body of a private key file: no error message may contain any line of it. */
function expectNoKeyMaterial(message: string, privatePath: string): void {
  const lines = readFileSync(privatePath, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('-----'));
  for (const l of lines) expect(message).not.toContain(l.slice(0, 24));
}

async function refusal(path: string): Promise<string> {
  const error = await fileSigner(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return (error as Error).message;
}

describe('fileSigner', () => {
  it.each([
    ['ed25519', 'ssh-ed25519'],
    ['ecdsa-256', 'ecdsa-sha2-nistp256'],
    ['ecdsa-384', 'ecdsa-sha2-nistp384'],
    ['ecdsa-521', 'ecdsa-sha2-nistp521'],
    ['rsa-2048', 'rsa-sha2-512'],
    ['rsa-3072', 'rsa-sha2-512'],
  ] as const)('loads %s keys and signs with %s', async (type, algorithm) => {
    const pair = makeKeyPair(dir, type);
    const signer = await fileSigner(pair.privatePath);
    const expected = parsePublicKey(pair.publicKey);
    expect(signer.algorithm).toBe(algorithm);
    expect(signer.publicKeyBlob.equals(expected.blob)).toBe(true);
    expect(signer.publicKey).toBe(`${expected.type} ${expected.blob.toString('base64')} lkp-ca`);
    const data = Buffer.from('certificate body');
    const signature = await signer.sign(data);
    expect(signature.subarray(4, 4 + algorithm.length).toString()).toBe(algorithm);
    expect(verifySshSignature(expected, signature, data)).toBe(true);
    expect(verifySshSignature(expected, signature, Buffer.from('other body'))).toBe(false);
  });

  it('refuses passphrase-protected keys and says how to fix it', async () => {
    const pair = makeKeyPair(dir, 'ed25519', 'encrypted');
    execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'secret', '-f', pair.privatePath], {
      stdio: 'pipe',
    });
    const message = await refusal(pair.privatePath);
    expect(message).toMatch(/protected by a passphrase/);
    expect(message).toContain(`ssh-keygen -p -N '' -f ${pair.privatePath}`);
    expect(message).not.toContain('secret');
    expectNoKeyMaterial(message, pair.privatePath);
  });

  it('refuses PEM keys, pointing at the conversion', async () => {
    const pair = makeKeyPair(dir, 'ecdsa-256', 'pem');
    execFileSync('ssh-keygen', ['-q', '-p', '-m', 'PEM', '-P', '', '-N', '', '-f', pair.privatePath], {
      stdio: 'pipe',
    });
    expect(readFileSync(pair.privatePath, 'utf8')).toContain('BEGIN EC PRIVATE KEY');
    const message = await refusal(pair.privatePath);
    expect(message).toMatch(/is not an OpenSSH private key; convert it with ssh-keygen -p/);
    expectNoKeyMaterial(message, pair.privatePath);
  });

  it('refuses garbage', async () => {
    const path = join(dir, 'garbage');
    writeFileSync(path, 'hello, this is not a key\n');
    expect(await refusal(path)).toMatch(/not an OpenSSH private key.*ssh-keygen -t ed25519 -N ''/);
  });

  it('refuses a corrupt key inside valid armor', async () => {
    const path = join(dir, 'corrupt');
    const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), Buffer.alloc(7, 0xff)]).toString('base64');
    writeFileSync(path, `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\n`);
    expect(await refusal(path)).toMatch(/is corrupt \(data is truncated\)/);
  });

  it('refuses a truncated key file', async () => {
    const pair = makeKeyPair(dir, 'ed25519', 'truncated');
    const [begin, ...rest] = readFileSync(pair.privatePath, 'utf8').trim().split('\n');
    const end = rest.pop();
    writeFileSync(pair.privatePath, [begin, ...rest.slice(0, 2), end].join('\n'));
    const message = await refusal(pair.privatePath);
    expect(message).toMatch(/is corrupt/);
  });

  it('refuses a missing file', async () => {
    expect(await refusal(join(dir, 'nope'))).toMatch(/cannot read CA key file .*nope \(ENOENT\)/);
  });

  it('refuses an unreadable file', async (ctx) => {
    if (process.getuid?.() === 0) ctx.skip(); // root reads anything: nothing to prove here
    const pair = makeKeyPair(dir, 'ed25519', 'unreadable');
    chmodSync(pair.privatePath, 0);
    expect(await refusal(pair.privatePath)).toMatch(/\(EACCES\)/);
  });

  it('refuses RSA keys under 2048 bits', async () => {
    expect(await refusal(makeKeyPair(dir, 'rsa-1024').privatePath)).toMatch(
      /has 1024 bits; use at least 2048/,
    );
  });

  it('refuses DSA keys', async (ctx) => {
    let path: string;
    try {
      path = makeKeyPair(dir, 'dsa').privatePath;
    } catch {
      ctx.skip(); // this ssh-keygen cannot make DSA keys
      return;
    }
    expect(await refusal(path)).toMatch(/holds a ssh-dss key; the CA signs with ed25519/);
  });

  it('refuses a file whose private half does not match its public half', async () => {
    // An openssh-key-v1 file built by hand: P-256 public point of one key, private scalar of another.
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const b = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const point = Buffer.concat([
      Buffer.of(4),
      Buffer.from(a.x ?? '', 'base64url'),
      Buffer.from(a.y ?? '', 'base64url'),
    ]);
    const d = Buffer.from(b.d ?? '', 'base64url');
    const scalar = d[0]! >= 0x80 ? Buffer.concat([Buffer.of(0), d]) : d;
    const publicBlob = Buffer.concat([str('ecdsa-sha2-nistp256'), str('nistp256'), str(point)]);
    const unpadded = Buffer.concat([
      Buffer.from('0102030401020304', 'hex'),
      str('ecdsa-sha2-nistp256'),
      str('nistp256'),
      str(point),
      str(scalar),
      str('mixed'),
    ]);
    const padding = Buffer.from(Array.from({ length: (8 - (unpadded.length % 8)) % 8 }, (_, i) => i + 1));
    const file = Buffer.concat([
      Buffer.from('openssh-key-v1\0'),
      str('none'),
      str('none'),
      str(''),
      Buffer.from('00000001', 'hex'),
      str(publicBlob),
      str(Buffer.concat([unpadded, padding])),
    ]);
    const path = join(dir, 'mixed');
    writeFileSync(
      path,
      `-----BEGIN OPENSSH PRIVATE KEY-----\n${file.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    );
    // Node 24's OpenSSL already refuses the mismatched halves when the key is imported; Node 22's
    // imports them and the signer's own self-test refuses them. Either way no signer is made.
    expect(await refusal(path)).toMatch(
      /is (inconsistent \(its key pair does not verify\)|corrupt \(key parameters are invalid\))/,
    );
  });
});

function str(data: Buffer | string): Buffer {
  const bytes = Buffer.from(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

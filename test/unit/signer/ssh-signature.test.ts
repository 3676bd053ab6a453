import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePublicKey, publicKeyFromBlob } from '../../../src/cert/keys.js';
import { LkpError } from '../../../src/errors.js';
import {
  ecdsaDerToSshSignature,
  sshPublicKeyBlobFromSpki,
  sshSignatureBlob,
  verifySshSignature,
} from '../../../src/signer/ssh-signature.js';
import { makeKeyPair } from '../../helpers/ssh-keygen.js';

const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');
const str = (data: Buffer | string): Buffer => {
  const bytes = Buffer.from(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};
const derInteger = (bytes: Buffer) => Buffer.concat([Buffer.of(0x02, bytes.length), bytes]);
const derSequence = (...items: Buffer[]) => {
  const body = Buffer.concat(items);
  const length = body.length < 0x80 ? Buffer.of(body.length) : Buffer.of(0x81, body.length);
  return Buffer.concat([Buffer.of(0x30), length, body]);
};
/** The expected SSH blob, built independently: string(alg) || string(string(r) || string(s)) with r, s given as mpint bytes. */
const sshEcdsa = (alg: string, r: Buffer, s: Buffer) =>
  Buffer.concat([str(alg), str(Buffer.concat([str(r), str(s)]))]);

describe('sshSignatureBlob', () => {
  it('is string(algorithm) || string(signature)', () => {
    const expected = Buffer.concat([hex('0000000b'), Buffer.from('ssh-ed25519'), hex('00000002 0102')]);
    expect(sshSignatureBlob('ssh-ed25519', hex('0102')).equals(expected)).toBe(true);
  });
});

describe('ecdsaDerToSshSignature', () => {
  const alg = 'ecdsa-sha2-nistp256';
  const high = Buffer.concat([Buffer.of(0x80), Buffer.alloc(31, 0x11)]);

  it('keeps the DER 0x00 pad when the high bit is set', () => {
    const der = derSequence(derInteger(Buffer.concat([Buffer.of(0), high])), derInteger(Buffer.of(0x05)));
    const expected = sshEcdsa(alg, Buffer.concat([Buffer.of(0), high]), Buffer.of(0x05));
    expect(ecdsaDerToSshSignature(der, alg).equals(expected)).toBe(true);
  });

  it('writes short integers without padding', () => {
    const der = derSequence(derInteger(Buffer.of(0x01)), derInteger(Buffer.of(0x7f, 0xff)));
    expect(
      ecdsaDerToSshSignature(der, alg).equals(sshEcdsa(alg, Buffer.of(0x01), Buffer.of(0x7f, 0xff))),
    ).toBe(true);
  });

  it('drops redundant leading zeros from DER', () => {
    const der = derSequence(derInteger(Buffer.of(0, 0, 0x7f)), derInteger(Buffer.of(0, 0, 0, 0x42)));
    expect(ecdsaDerToSshSignature(der, alg).equals(sshEcdsa(alg, Buffer.of(0x7f), Buffer.of(0x42)))).toBe(
      true,
    );
  });

  it('re-adds exactly one zero when a stripped value has the high bit set', () => {
    const der = derSequence(derInteger(Buffer.of(0, 0, 0x80)), derInteger(Buffer.of(0x01)));
    expect(ecdsaDerToSshSignature(der, alg).equals(sshEcdsa(alg, Buffer.of(0, 0x80), Buffer.of(0x01)))).toBe(
      true,
    );
  });

  it('reads the long-form length of P-521 signatures', () => {
    const r = Buffer.concat([Buffer.of(0x01), Buffer.alloc(65, 0xff)]);
    const s = Buffer.concat([Buffer.of(0x01), Buffer.alloc(65, 0xee)]);
    const der = derSequence(derInteger(r), derInteger(s));
    expect(der[1]).toBe(0x81);
    const out = ecdsaDerToSshSignature(der, 'ecdsa-sha2-nistp521');
    expect(out.equals(sshEcdsa('ecdsa-sha2-nistp521', r, s))).toBe(true);
  });

  it.each([
    [
      'a wrong outer tag',
      Buffer.concat([
        Buffer.of(0x31),
        derSequence(derInteger(Buffer.of(1)), derInteger(Buffer.of(1))).subarray(1),
      ]),
    ],
    [
      'trailing bytes',
      Buffer.concat([derSequence(derInteger(Buffer.of(1)), derInteger(Buffer.of(1))), Buffer.of(0)]),
    ],
    [
      'a third integer',
      derSequence(derInteger(Buffer.of(1)), derInteger(Buffer.of(1)), derInteger(Buffer.of(1))),
    ],
    ['a negative r', derSequence(derInteger(Buffer.of(0x80)), derInteger(Buffer.of(1)))],
    ['a zero s', derSequence(derInteger(Buffer.of(1)), derInteger(Buffer.of(0)))],
    ['r longer than the curve', derSequence(derInteger(Buffer.alloc(33, 0x11)), derInteger(Buffer.of(1)))],
    ['an indefinite length', hex('3080 020101 020101 0000')],
    ['a long-form length for a short body', hex('308106 020101 020101')],
    ['a truncated integer', hex('3006 020101 020501')],
    ['nothing', Buffer.alloc(0)],
  ])('refuses DER with %s (Internal)', (_name, der) => {
    expect(() => ecdsaDerToSshSignature(der, alg)).toThrow(LkpError);
    try {
      ecdsaDerToSshSignature(der, alg);
    } catch (e) {
      expect((e as LkpError).code).toBe('Internal');
    }
  });

  it.each([
    ['P-256', 'ecdsa-sha2-nistp256', 'sha256'],
    ['P-384', 'ecdsa-sha2-nistp384', 'sha384'],
    ['P-521', 'ecdsa-sha2-nistp521', 'sha512'],
  ] as const)(
    'turns real %s signatures into ones that verify (many, to hit every padding case)',
    (curve, algorithm, hash) => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const key = publicKeyFromBlob(sshPublicKeyBlobFromSpki(publicKey).blob);
      for (let i = 0; i < 40; i++) {
        const data = randomBytes(50);
        const blob = ecdsaDerToSshSignature(sign(hash, data, privateKey), algorithm);
        expect(verifySshSignature(key, blob, data)).toBe(true);
        expect(verifySshSignature(key, blob, Buffer.concat([data, Buffer.of(0)]))).toBe(false);
      }
    },
  );
});

describe('sshPublicKeyBlobFromSpki', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lkp-spki-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['ecdsa-256', 'ecdsa-sha2-nistp256'],
    ['ecdsa-384', 'ecdsa-sha2-nistp384'],
    ['ecdsa-521', 'ecdsa-sha2-nistp521'],
    ['rsa-2048', 'rsa-sha2-512'],
    ['rsa-3072', 'rsa-sha2-512'],
  ] as const)('matches ssh-keygen for %s (SPKI from ssh-keygen -e -m PKCS8)', (kind, algorithm) => {
    const pair = makeKeyPair(dir, kind);
    const pem = execFileSync('ssh-keygen', ['-e', '-m', 'PKCS8', '-f', pair.publicPath], {
      encoding: 'utf8',
    });
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const out = sshPublicKeyBlobFromSpki(der);
    expect(out.algorithm).toBe(algorithm);
    expect(out.blob.equals(parsePublicKey(pair.publicKey).blob)).toBe(true);
  });

  it('converts ed25519 (raw key after the 12-byte SPKI header)', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const der = publicKey.export({ format: 'der', type: 'spki' });
    const out = sshPublicKeyBlobFromSpki(der);
    expect(out.algorithm).toBe('ssh-ed25519');
    expect(out.blob.equals(Buffer.concat([str('ssh-ed25519'), str(der.subarray(12))]))).toBe(true);
  });

  it('accepts KeyObjects, private ones included', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const fromPrivate = sshPublicKeyBlobFromSpki(
      createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })),
    );
    expect(fromPrivate.blob.equals(sshPublicKeyBlobFromSpki(publicKey).blob)).toBe(true);
  });

  it('refuses RSA under 2048 bits', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => sshPublicKeyBlobFromSpki(publicKey)).toThrow(/has 1024 bits; use at least 2048/);
  });

  it('refuses other key types', () => {
    const { publicKey } = generateKeyPairSync('x25519');
    expect(() => sshPublicKeyBlobFromSpki(publicKey)).toThrow(/CA key type x25519 is not supported/);
  });

  it('refuses unsupported curves', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    expect(() => sshPublicKeyBlobFromSpki(publicKey)).toThrow(/curve .* is not supported/);
  });
});

describe('verifySshSignature', () => {
  it('accepts only rsa-sha2-512 from RSA keys (never SHA-1 ssh-rsa)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = publicKeyFromBlob(sshPublicKeyBlobFromSpki(publicKey).blob);
    const data = Buffer.from('data');
    expect(
      verifySshSignature(key, sshSignatureBlob('rsa-sha2-512', sign('sha512', data, privateKey)), data),
    ).toBe(true);
    expect(verifySshSignature(key, sshSignatureBlob('ssh-rsa', sign('sha1', data, privateKey)), data)).toBe(
      false,
    );
    expect(
      verifySshSignature(key, sshSignatureBlob('rsa-sha2-512', sign('sha256', data, privateKey)), data),
    ).toBe(false);
  });

  it('rejects an ed25519 signature by another key', () => {
    const a = generateKeyPairSync('ed25519');
    const b = generateKeyPairSync('ed25519');
    const key = publicKeyFromBlob(sshPublicKeyBlobFromSpki(a.publicKey).blob);
    const data = Buffer.from('data');
    expect(
      verifySshSignature(key, sshSignatureBlob('ssh-ed25519', sign(null, data, a.privateKey)), data),
    ).toBe(true);
    expect(
      verifySshSignature(key, sshSignatureBlob('ssh-ed25519', sign(null, data, b.privateKey)), data),
    ).toBe(false);
  });
});

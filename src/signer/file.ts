/**
 * LKP_CA_KEY=file:<path> (DESIGN §7, local/dev only): the CA key is an unencrypted OpenSSH
 * private key ("openssh-key-v1", PROTOCOL.key) as ssh-keygen writes it. Messages name the file
 * and the fix, never the key material.
 */
import { createPrivateKey, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ecdsaCurveOf, publicKeyFromBlob, type EcdsaCurve, type SshPublicKey } from '../cert/keys.js';
import { SshReader } from '../cert/wire.js';
import { internal } from '../errors.js';
import type { Signer, SshSignatureAlgorithm } from './signer.js';
import {
  ecdsaDerToSshSignature,
  sshPublicKeyBlobFromSpki,
  sshSignatureBlob,
  verifySshSignature,
} from './ssh-signature.js';

const CREATE_ONE = "create one with: ssh-keygen -t ed25519 -N '' -C lkp-ca -f ca_key";
const ARMOR = /-----BEGIN OPENSSH PRIVATE KEY-----([A-Za-z0-9+/=\s]*)-----END OPENSSH PRIVATE KEY-----/;
const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const CA_KEY_COMMENT = 'lkp-ca';

export async function fileSigner(path: string): Promise<Signer> {
  const privateKey = await readCaKeyFile(path);
  const { blob, algorithm } = sshPublicKeyBlobFromSpki(privateKey);
  const publicKey = publicKeyFromBlob(blob);
  // A file whose public and private halves disagree would sign certificates nobody can verify.
  const probe = Buffer.from('lkp file signer self-test');
  if (!verifySshSignature(publicKey, signWith(privateKey, algorithm, probe), probe)) {
    throw new Error(`CA key file ${path} is inconsistent (its key pair does not verify); ${CREATE_ONE}`);
  }
  return {
    publicKey: `${publicKey.type} ${blob.toString('base64')} ${CA_KEY_COMMENT}`,
    publicKeyBlob: blob,
    algorithm,
    sign: async (data) => signChecked(privateKey, publicKey, algorithm, data),
  };
}

/**
 * A signature computed wrongly (a hardware or memory fault) can give away the private key, so none
 * leaves unchecked. Ed25519 is deterministic (RFC 8032): signing again and comparing catches such a
 * fault at a third of the cost of verifying. ECDSA signatures differ every time, so they, and RSA,
 * are verified.
 */
function signChecked(
  key: KeyObject,
  publicKey: SshPublicKey,
  algorithm: SshSignatureAlgorithm,
  data: Uint8Array,
): Buffer {
  const signature = signWith(key, algorithm, data);
  const sound =
    algorithm === 'ssh-ed25519'
      ? signature.equals(signWith(key, algorithm, data))
      : verifySshSignature(publicKey, signature, data);
  if (!sound)
    throw internal(
      'the CA key file signer produced a faulty signature; the CA host may have a hardware fault',
    );
  return signature;
}

/** The private key of an OpenSSH key file, as node:crypto uses it (the benchmark signs with it bare). */
export async function readCaKeyFile(path: string): Promise<KeyObject> {
  return parseOpenSshPrivateKey(await readKeyFile(path), path);
}

function signWith(key: KeyObject, algorithm: SshSignatureAlgorithm, data: Uint8Array): Buffer {
  switch (algorithm) {
    case 'ssh-ed25519':
      return sshSignatureBlob(algorithm, sign(null, data, key));
    case 'rsa-sha2-512':
      return sshSignatureBlob(algorithm, sign('sha512', data, key));
    default:
      return ecdsaDerToSshSignature(sign((ecdsaCurveOf(algorithm) as EcdsaCurve).hash, data, key), algorithm);
  }
}

async function readKeyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(`cannot read CA key file ${path} (${code}); check LKP_CA_KEY, or ${CREATE_ONE}`);
  }
}

/** PROTOCOL.key: magic, cipher, kdf, kdf options, key count, public key, then the private section. */
function parseOpenSshPrivateKey(text: string, path: string): KeyObject {
  const armored = ARMOR.exec(text);
  if (!armored) {
    throw new Error(
      `CA key file ${path} is not an OpenSSH private key; convert it with ssh-keygen -p -N '' -f ${path}, or ${CREATE_ONE}`,
    );
  }
  const fail = (problem: string) => new Error(`CA key file ${path} is corrupt (${problem}); ${CREATE_ONE}`);
  const data = Buffer.from((armored[1] ?? '').replace(/\s+/g, ''), 'base64');
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) throw fail('bad magic');
  const outer = new SshReader(data.subarray(MAGIC.length), fail);
  const cipher = outer.ascii();
  const kdf = outer.ascii();
  outer.string(); // kdf options: only meaningful for encrypted keys
  if (cipher !== 'none' || kdf !== 'none') {
    throw new Error(
      `CA key file ${path} is protected by a passphrase; lkp needs an unencrypted key: ssh-keygen -p -N '' -f ${path} (keep the file private), or ${CREATE_ONE}`,
    );
  }
  if (outer.uint32() !== 1) throw fail('expected exactly one key');
  outer.string(); // the public key: derived again from the private key below
  const section = new SshReader(outer.string(), fail);
  outer.end();
  if (section.uint32() !== section.uint32()) throw fail('check bytes differ');
  const jwk = readPrivateKeyFields(section, path, fail);
  section.string(); // comment
  const padding = section.rest();
  if (!padding.every((byte, i) => byte === i + 1)) throw fail('bad padding');
  try {
    return createPrivateKey({ key: jwk, format: 'jwk' });
  } catch {
    throw fail('key parameters are invalid');
  }
}

function readPrivateKeyFields(
  section: SshReader,
  path: string,
  fail: (problem: string) => Error,
): JsonWebKey {
  const type = section.ascii();
  switch (type) {
    case 'ssh-ed25519': {
      const publicPoint = section.string();
      const secret = section.string(); // seed || public point
      if (publicPoint.length !== 32 || secret.length !== 64 || !secret.subarray(32).equals(publicPoint)) {
        throw fail('bad ed25519 key');
      }
      return { kty: 'OKP', crv: 'Ed25519', x: b64u(publicPoint), d: b64u(secret.subarray(0, 32)) };
    }
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521': {
      const curve = ecdsaCurveOf(type) as EcdsaCurve;
      const curveName = section.ascii();
      const point = section.string();
      const scalar = section.unsignedMpint();
      if (curve.name !== curveName || point.length !== 1 + 2 * curve.fieldBytes || point[0] !== 4) {
        throw fail('bad ECDSA key');
      }
      if (scalar.length > curve.fieldBytes) throw fail('bad ECDSA key');
      return {
        kty: 'EC',
        crv: curve.jwkCurve,
        x: b64u(point.subarray(1, 1 + curve.fieldBytes)),
        y: b64u(point.subarray(1 + curve.fieldBytes)),
        d: b64u(Buffer.concat([Buffer.alloc(curve.fieldBytes - scalar.length), scalar])),
      };
    }
    case 'ssh-rsa': {
      const [n, e, d, iqmp, p, q] = Array.from({ length: 6 }, () => section.unsignedMpint()) as [
        Buffer,
        Buffer,
        Buffer,
        Buffer,
        Buffer,
        Buffer,
      ];
      // JWK wants the CRT exponents OpenSSH does not store: d mod (p-1), d mod (q-1).
      const dBig = toBigInt(d);
      return {
        kty: 'RSA',
        n: b64u(n),
        e: b64u(e),
        d: b64u(d),
        p: b64u(p),
        q: b64u(q),
        dp: b64u(fromBigInt(dBig % (toBigInt(p) - 1n))),
        dq: b64u(fromBigInt(dBig % (toBigInt(q) - 1n))),
        qi: b64u(iqmp),
      };
    }
    default:
      throw new Error(
        `CA key file ${path} holds a ${type.slice(0, 64)} key; the CA signs with ed25519, ECDSA P-256/384/521 or RSA >= 2048 bits: ${CREATE_ONE}`,
      );
  }
}

function b64u(bytes: Buffer): string {
  return bytes.toString('base64url');
}

function toBigInt(magnitude: Buffer): bigint {
  return magnitude.length === 0 ? 0n : BigInt('0x' + magnitude.toString('hex'));
}

function fromBigInt(value: bigint): Buffer {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
}

/**
 * Conversions between what node:crypto / AWS KMS produce (SPKI DER keys, DER ECDSA signatures)
 * and the SSH wire forms certificates carry (RFC 4253 §6.6, RFC 5656 §3.1.2, RFC 8332, RFC 8709).
 * Shared by the file signer and the KMS signer.
 */
import { createPublicKey, KeyObject, verify } from 'node:crypto';
import {
  ECDSA_CURVES,
  ecdsaCurveOf,
  publicKeyObject,
  type EcdsaCurve,
  type SshPublicKey,
} from '../cert/keys.js';
import { mpintFromUnsigned, sshString, SshReader } from '../cert/wire.js';
import { internal } from '../errors.js';
import type { SshSignatureAlgorithm } from './signer.js';

export type { SshSignatureAlgorithm } from './signer.js';

type EcdsaAlgorithm = 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521';

// DESIGN §3.5: a CA RSA key must be as strong as the keys we accept from callers.
const MIN_CA_RSA_BITS = 2048;

/** string(algorithm) || string(signature): the SSH signature blob. */
export function sshSignatureBlob(algorithm: string, signature: Buffer): Buffer {
  return Buffer.concat([sshString(algorithm), sshString(signature)]);
}

/** DER `SEQUENCE { INTEGER r, INTEGER s }` (node:crypto, AWS KMS) -> string(alg) || string(mpint r || mpint s). */
export function ecdsaDerToSshSignature(der: Buffer, algorithm: EcdsaAlgorithm): Buffer {
  const curve = ecdsaCurveOf(algorithm) as EcdsaCurve;
  const { r, s } = parseDerEcdsaSignature(der, curve);
  return sshSignatureBlob(algorithm, Buffer.concat([mpintFromUnsigned(r), mpintFromUnsigned(s)]));
}

/** SPKI DER or a node KeyObject (public or private) -> SSH public key blob and the signature algorithm we use with it. */
export function sshPublicKeyBlobFromSpki(spkiDer: Buffer | KeyObject): {
  blob: Buffer;
  algorithm: SshSignatureAlgorithm;
} {
  const key = !(spkiDer instanceof KeyObject)
    ? createPublicKey({ key: spkiDer, format: 'der', type: 'spki' })
    : spkiDer.type === 'private'
      ? createPublicKey(spkiDer)
      : spkiDer;
  const jwk = key.export({ format: 'jwk' });
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return {
        blob: Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.from(jwk.x ?? '', 'base64url'))]),
        algorithm: 'ssh-ed25519',
      };
    case 'ec': {
      const curve = Object.values(ECDSA_CURVES).find((c) => c.jwkCurve === jwk.crv);
      if (!curve)
        throw new Error(`CA key curve ${jwk.crv ?? '?'} is not supported; use P-256, P-384 or P-521`);
      const algorithm = `ecdsa-sha2-${curve.name}` as EcdsaAlgorithm;
      const point = Buffer.concat([
        Buffer.of(0x04),
        Buffer.from(jwk.x ?? '', 'base64url'),
        Buffer.from(jwk.y ?? '', 'base64url'),
      ]);
      return {
        blob: Buffer.concat([sshString(algorithm), sshString(curve.name), sshString(point)]),
        algorithm,
      };
    }
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_CA_RSA_BITS)
        throw new Error(`CA RSA key has ${bits} bits; use at least ${MIN_CA_RSA_BITS}`);
      const e = mpintFromUnsigned(Buffer.from(jwk.e ?? '', 'base64url'));
      const n = mpintFromUnsigned(Buffer.from(jwk.n ?? '', 'base64url'));
      // RFC 8332: RSA CA keys sign with SHA-512, never ssh-rsa (SHA-1) — DESIGN §3.5.
      return { blob: Buffer.concat([sshString('ssh-rsa'), e, n]), algorithm: 'rsa-sha2-512' };
    }
    default:
      throw new Error(
        `CA key type ${key.asymmetricKeyType ?? '?'} is not supported; use ed25519, ECDSA P-256/384/521 or RSA >= 2048`,
      );
  }
}

/** The signature algorithm lkp signs (and accepts from a signer) with a key of this SSH type. */
export function signatureAlgorithmFor(keyType: string): SshSignatureAlgorithm | undefined {
  if (keyType === 'ssh-ed25519') return 'ssh-ed25519';
  if (keyType === 'ssh-rsa') return 'rsa-sha2-512';
  return ecdsaCurveOf(keyType) ? (keyType as EcdsaAlgorithm) : undefined;
}

/** True when `signatureBlob` is a valid SSH signature of `data` by `key`, made with the algorithm lkp uses for that key. */
export function verifySshSignature(key: SshPublicKey, signatureBlob: Buffer, data: Uint8Array): boolean {
  const algorithm = signatureAlgorithmFor(key.type);
  const reader = new SshReader(signatureBlob, (problem) => internal(`malformed SSH signature: ${problem}`));
  const signedWith = reader.ascii();
  const signature = reader.string();
  reader.end();
  if (algorithm === undefined || signedWith !== algorithm) return false;
  const keyObject = publicKeyObject(key);
  if (algorithm === 'ssh-ed25519') return verify(null, data, keyObject, signature);
  if (algorithm === 'rsa-sha2-512') return verify('sha512', data, keyObject, signature);
  const curve = ecdsaCurveOf(algorithm) as EcdsaCurve;
  const rs = new SshReader(signature, (problem) => internal(`malformed ECDSA signature: ${problem}`));
  const r = rs.unsignedMpint();
  const s = rs.unsignedMpint();
  rs.end();
  if (r.length > curve.fieldBytes || s.length > curve.fieldBytes) return false;
  const p1363 = Buffer.concat([leftPad(r, curve.fieldBytes), leftPad(s, curve.fieldBytes)]);
  return verify(curve.hash, data, { key: keyObject, dsaEncoding: 'ieee-p1363' }, p1363);
}

/** Strict enough DER reader for the one shape signers return; r and s come back as unsigned magnitudes. */
function parseDerEcdsaSignature(der: Buffer, curve: EcdsaCurve): { r: Buffer; s: Buffer } {
  const malformed = () => internal(`the CA signer returned a malformed ECDSA ${curve.name} signature`);
  const sequence = readDerElement(der, 0, 0x30, malformed);
  if (sequence.next !== der.length) throw malformed();
  const r = readDerElement(sequence.body, 0, 0x02, malformed);
  const s = readDerElement(sequence.body, r.next, 0x02, malformed);
  if (s.next !== sequence.body.length) throw malformed();
  return { r: positiveMagnitude(r.body, curve, malformed), s: positiveMagnitude(s.body, curve, malformed) };
}

function readDerElement(
  der: Buffer,
  offset: number,
  tag: number,
  malformed: () => Error,
): { body: Buffer; next: number } {
  if (der[offset] !== tag) throw malformed();
  let length = der[offset + 1] ?? -1;
  let start = offset + 2;
  if (length === 0x81) {
    // Long form with one length byte: P-521 signatures reach 139 bytes.
    length = der[start] ?? -1;
    start += 1;
    if (length < 0x80) throw malformed();
  } else if (length >= 0x80) {
    throw malformed();
  }
  if (length < 0 || start + length > der.length) throw malformed();
  return { body: der.subarray(start, start + length), next: start + length };
}

function positiveMagnitude(integer: Buffer, curve: EcdsaCurve, malformed: () => Error): Buffer {
  if (integer.length === 0 || (integer[0] ?? 0) >= 0x80) throw malformed();
  let start = 0;
  while (start < integer.length && integer[start] === 0) start++;
  const magnitude = integer.subarray(start);
  if (magnitude.length === 0 || magnitude.length > curve.fieldBytes) throw malformed();
  return magnitude;
}

function leftPad(magnitude: Buffer, size: number): Buffer {
  return Buffer.concat([Buffer.alloc(size - magnitude.length), magnitude]);
}

/**
 * OpenSSH public keys: the authorized_keys line a caller sends (DESIGN §3.2) and the key
 * blobs inside certificates. Only the key types DESIGN §3.2 accepts get through.
 */
import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { badRequest, type LkpError } from '../errors.js';
import { sshString, SshReader } from './wire.js';

export interface SshPublicKey {
  /** Key type name from the blob, e.g. `ssh-ed25519` or `sk-ecdsa-sha2-nistp256@openssh.com`. */
  type: string;
  /** The exact wire blob. */
  blob: Buffer;
  /** `SHA256:` + unpadded base64 of sha256(blob), as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** 256 for ed25519, the curve size for ECDSA, the modulus size for RSA. */
  bits: number;
}

export interface EcdsaCurve {
  /** The SSH curve identifier inside ECDSA blobs. */
  name: 'nistp256' | 'nistp384' | 'nistp521';
  jwkCurve: 'P-256' | 'P-384' | 'P-521';
  fieldBytes: number;
  bits: number;
  /** Hash of ECDSA signatures on this curve (RFC 5656 §6.2.1). */
  hash: 'sha256' | 'sha384' | 'sha512';
}

export const ECDSA_CURVES: Readonly<Record<EcdsaCurve['name'], EcdsaCurve>> = {
  nistp256: { name: 'nistp256', jwkCurve: 'P-256', fieldBytes: 32, bits: 256, hash: 'sha256' },
  nistp384: { name: 'nistp384', jwkCurve: 'P-384', fieldBytes: 48, bits: 384, hash: 'sha384' },
  nistp521: { name: 'nistp521', jwkCurve: 'P-521', fieldBytes: 66, bits: 521, hash: 'sha512' },
};

/** The key types DESIGN §3.2 accepts. */
export const SUPPORTED_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;

const MAX_KEY_TEXT = 16 * 1024;
const MIN_RSA_BITS = 2048;
// OpenSSH refuses larger moduli (SSH_RSA_MAXIMUM_MODULUS_SIZE); so do we, to bound the work.
const MAX_RSA_BITS = 16384;
const ED25519_KEY_BYTES = 32;
const USE_ED25519 = 'generate one with: ssh-keygen -t ed25519';

/** Parses `type base64 [comment]` (the comment is ignored). Throws BadRequest with a reason the caller can act on. */
export function parsePublicKey(text: string): SshPublicKey {
  const { typeName, blob } = splitKeyLine(text, 'PublicKey');
  checkKeyTypeName(typeName);
  const reader = keyReader(blob);
  const type = reader.ascii();
  if (type !== typeName) {
    throw badRequest(
      `PublicKey says "${typeName}" but its key data is "${shown(type)}": the line is corrupted`,
    );
  }
  const key = readKeyBody(reader, type);
  reader.end();
  return key;
}

/** A public key from its wire blob, checked like parsePublicKey checks it. */
export function publicKeyFromBlob(blob: Buffer): SshPublicKey {
  const reader = keyReader(blob);
  const key = readKeyBody(reader, reader.ascii());
  reader.end();
  return key;
}

export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/**
 * Reads the public fields of a key of `type` (everything after the type string, as laid out in
 * both key blobs and certificates) and returns the key with its plain blob.
 */
export function readKeyBody(reader: SshReader, type: string): SshPublicKey {
  const start = reader.position;
  const { bits } = readKeyFields(reader, type);
  const blob = Buffer.concat([sshString(type), reader.slice(start)]);
  return { type, blob, fingerprint: fingerprintOf(blob), bits };
}

// Importing a key costs as much as verifying with it; the CA key is used for every certificate.
const keyObjects = new WeakMap<SshPublicKey, KeyObject>();

/** The node:crypto key of an ed25519, ECDSA or RSA public key (security keys have no node equivalent). */
export function publicKeyObject(key: SshPublicKey): KeyObject {
  const cached = keyObjects.get(key);
  if (cached !== undefined) return cached;
  const reader = keyReader(key.blob);
  const { jwk } = readKeyFields(reader, reader.ascii());
  if (!jwk) throw badRequest(`${key.type} keys cannot be used here`);
  const keyObject = createPublicKey({ key: jwk, format: 'jwk' });
  keyObjects.set(key, keyObject);
  return keyObject;
}

export function ecdsaCurveOf(typeOrAlgorithm: string): EcdsaCurve | undefined {
  const match = /^ecdsa-sha2-(nistp256|nistp384|nistp521)$/.exec(typeOrAlgorithm);
  return match ? ECDSA_CURVES[match[1] as EcdsaCurve['name']] : undefined;
}

/**
 * Splits an authorized_keys style line into its type name and strictly decoded blob. Shared with
 * the certificate decoder; `what` names the field in messages.
 */
export function splitKeyLine(text: string, what: string): { typeName: string; blob: Buffer } {
  if (text.length > MAX_KEY_TEXT)
    throw badRequest(`${what} is longer than 16 KiB; send a single public key line`);
  // A trailing newline from reading a .pub file is harmless; control characters inside are not.
  const line = text.trim();
  if (/[\x00-\x1f\x7f]/.test(line)) {
    throw badRequest(`${what} contains control characters; send one line: "<type> <base64> [comment]"`);
  }
  const [typeName = '', encoded = ''] = line.split(/ +/);
  if (typeName === '' || encoded === '') {
    throw badRequest(
      `${what} must look like "<type> <base64> [comment]", e.g. the contents of id_ed25519.pub`,
    );
  }
  return { typeName, blob: decodeBase64Strictly(encoded, what) };
}

function checkKeyTypeName(typeName: string): void {
  if (!(SUPPORTED_KEY_TYPES as readonly string[]).includes(typeName)) throw unsupportedKeyType(typeName);
}

function unsupportedKeyType(typeName: string): LkpError {
  if (/-cert-v0\d@openssh\.com$/.test(typeName)) {
    return badRequest('a certificate was sent as PublicKey; send the plain public key (e.g. id_ed25519.pub)');
  }
  if (typeName === 'ssh-dss') return badRequest(`DSA keys are not accepted; use ed25519 (${USE_ED25519})`);
  return badRequest(
    `key type "${shown(typeName)}" is not supported; use ed25519, ecdsa, RSA >= 2048 bits or a security key (${USE_ED25519})`,
  );
}

function decodeBase64Strictly(encoded: string, what: string): Buffer {
  const blob = Buffer.from(encoded, 'base64');
  // Node's decoder skips junk silently; a canonical round trip proves the text was clean base64.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || blob.toString('base64') !== encoded) {
    throw badRequest(`${what} key data is not valid base64`);
  }
  return blob;
}

function keyReader(blob: Buffer): SshReader {
  return new SshReader(blob, (problem) => badRequest(`public key data is invalid: ${problem}`));
}

function readKeyFields(reader: SshReader, type: string): { bits: number; jwk?: JsonWebKey } {
  switch (type) {
    case 'ssh-ed25519':
      return readEd25519(reader);
    case 'sk-ssh-ed25519@openssh.com': {
      const { bits } = readEd25519(reader);
      readApplication(reader);
      return { bits };
    }
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      return readEcdsa(reader, ecdsaCurveOf(type) as EcdsaCurve);
    case 'sk-ecdsa-sha2-nistp256@openssh.com': {
      const { bits } = readEcdsa(reader, ECDSA_CURVES.nistp256);
      readApplication(reader);
      return { bits };
    }
    case 'ssh-rsa':
      return readRsa(reader);
    default:
      throw unsupportedKeyType(type);
  }
}

function readEd25519(reader: SshReader): { bits: number; jwk: JsonWebKey } {
  const point = reader.string();
  if (point.length !== ED25519_KEY_BYTES) throw badRequest('ed25519 public key must be exactly 32 bytes');
  return { bits: 256, jwk: { kty: 'OKP', crv: 'Ed25519', x: point.toString('base64url') } };
}

/** RFC 5656 §3.1 + SEC1: the curve name must match the type and the point must be uncompressed and on the curve. */
function readEcdsa(reader: SshReader, curve: EcdsaCurve): { bits: number; jwk: JsonWebKey } {
  const curveName = reader.ascii();
  if (curveName !== curve.name) {
    throw badRequest(`ECDSA key names curve "${shown(curveName)}" but its type says ${curve.name}`);
  }
  const point = reader.string();
  if (point.length !== 1 + 2 * curve.fieldBytes || point[0] !== 0x04) {
    throw badRequest(`ECDSA public key must be an uncompressed ${curve.name} point`);
  }
  const jwk: JsonWebKey = {
    kty: 'EC',
    crv: curve.jwkCurve,
    x: point.subarray(1, 1 + curve.fieldBytes).toString('base64url'),
    y: point.subarray(1 + curve.fieldBytes).toString('base64url'),
  };
  try {
    createPublicKey({ key: jwk, format: 'jwk' }); // OpenSSL refuses points off the curve
  } catch {
    throw badRequest(`ECDSA public key is not a point on ${curve.name}`);
  }
  return { bits: curve.bits, jwk };
}

/** PROTOCOL.u2f: security-key blobs end with the FIDO application string (usually "ssh:"). */
function readApplication(reader: SshReader): void {
  if (reader.ascii() === '') throw badRequest('security key has an empty application string');
}

function readRsa(reader: SshReader): { bits: number; jwk: JsonWebKey } {
  const e = reader.unsignedMpint();
  const n = reader.unsignedMpint();
  const bits = bitLength(n);
  if (
    e.length === 0 ||
    e.length > 8 ||
    ((e[e.length - 1] ?? 0) & 1) === 0 ||
    (e.length === 1 && (e[0] ?? 0) < 3)
  ) {
    throw badRequest('RSA public exponent is invalid');
  }
  if (((n[n.length - 1] ?? 0) & 1) === 0) throw badRequest('RSA modulus is invalid');
  if (bits < MIN_RSA_BITS) {
    throw badRequest(`RSA keys must be at least ${MIN_RSA_BITS} bits (this one has ${bits}); ${USE_ED25519}`);
  }
  if (bits > MAX_RSA_BITS) throw badRequest(`RSA keys larger than ${MAX_RSA_BITS} bits are not accepted`);
  return { bits, jwk: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') } };
}

function bitLength(magnitude: Buffer): number {
  if (magnitude.length === 0) return 0;
  return (magnitude.length - 1) * 8 + (magnitude[0] ?? 0).toString(2).length;
}

/** Caller text in messages is already free of control characters; keep it short too. */
function shown(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

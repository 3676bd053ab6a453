/**
 * The OpenSSH certificate encoder and a strict decoder (PROTOCOL.certkeys). DESIGN §2: our own
 * encoder, so the signature can come from KMS and RSA never falls back to SHA-1.
 */
import { badRequest, internal } from '../errors.js';
import type { Signer } from '../signer/signer.js';
import { readKeyBody, splitKeyLine, SUPPORTED_KEY_TYPES, type SshPublicKey } from './keys.js';
import { pooledRandomBytes } from './random.js';
import { SshReader, SshWriter } from './wire.js';

export interface CertificateTemplate {
  kind: 'user' | 'host';
  publicKey: SshPublicKey;
  /** Non-zero 64-bit. */
  serial: bigint;
  /** Printable ASCII only. */
  keyId: string;
  /** Non-empty: an empty list would mean "any principal" to sshd. */
  principals: readonly string[];
  /** Unix seconds. */
  validAfter: number;
  /** Unix seconds, > validAfter. */
  validBefore: number;
  /** e.g. {'force-command': '…', 'source-address': '10.0.0.0/8'} */
  criticalOptions: Readonly<Record<string, string>>;
  /** Flag extensions (empty data), e.g. ['permit-pty', 'permit-port-forwarding']. */
  extensions: readonly string[];
}

export interface SignedCertificate {
  /** `<type>-cert-v01@openssh.com AAAA… <keyId>` */
  line: string;
  blob: Buffer;
}

export interface ParsedCertificate {
  type: string;
  publicKey: SshPublicKey;
  serial: bigint;
  kind: 'user' | 'host';
  keyId: string;
  principals: string[];
  validAfter: number;
  validBefore: number;
  criticalOptions: Record<string, string>;
  extensions: string[];
  signatureKey: Buffer;
  signature: Buffer;
}

type Random = (n: number) => Buffer;

const CERT_SUFFIX = '-cert-v01@openssh.com';
const CERT_KIND = { user: 1, host: 2 } as const;
const NONCE_BYTES = 32;
// OpenSSH refuses certificates with more principals (SSHKEY_CERT_MAX_PRINCIPALS).
const MAX_PRINCIPALS = 256;
const UINT64_LIMIT = 1n << 64n;

/** Critical options sshd understands; any other would make sshd refuse the certificate. Value '' = flag. */
const CRITICAL_OPTIONS: Readonly<Record<string, 'text' | 'flag'>> = {
  'force-command': 'text',
  'source-address': 'text',
  'verify-required': 'flag',
};
const EXTENSIONS: ReadonlySet<string> = new Set([
  'no-touch-required',
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
]);

export async function createCertificate(
  t: CertificateTemplate,
  signer: Signer,
  random: Random = pooledRandomBytes,
): Promise<SignedCertificate> {
  const fields = checkTemplate(t);
  const certType = certTypeOf(t.publicKey.type);
  const nonce = random(NONCE_BYTES);
  if (nonce.length !== NONCE_BYTES) throw internal('random source returned a short nonce');
  const w = new SshWriter()
    .string(certType)
    .string(nonce)
    .raw(keyFieldsOf(t.publicKey))
    .uint64(t.serial)
    .uint32(CERT_KIND[t.kind])
    .string(t.keyId)
    .nested((list) => fields.principals.forEach((p) => list.string(p)))
    .uint64(BigInt(t.validAfter))
    .uint64(BigInt(t.validBefore))
    .nested((list) => fields.criticalOptions.forEach(([name, value]) => writeOption(list, name, value)))
    .nested((list) => fields.extensions.forEach((name) => list.string(name).uint32(0)))
    .string('') // reserved
    .string(signer.publicKeyBlob);
  const signed = w.bytes();
  // The signer vouches for its signature (Signer.sign): each checks it the way its key allows.
  const blob = w.string(await signer.sign(signed)).bytes();
  return { line: `${certType} ${blob.toString('base64')} ${t.keyId}`, blob };
}

/** A random, non-zero 64-bit serial (DESIGN §3.5). */
export function randomSerial(random: Random = pooledRandomBytes): bigint {
  for (;;) {
    const serial = random(8).readBigUInt64BE(0);
    if (serial !== 0n) return serial;
  }
}

/** Strict decoder of a certificate line: every field, in order, with nothing left over. Throws BadRequest. */
export function parseCertificate(line: string): ParsedCertificate {
  const { typeName, blob } = splitKeyLine(line, 'certificate');
  const reader = certReader(blob);
  const type = reader.ascii();
  const keyType = SUPPORTED_KEY_TYPES.find((k) => certTypeOf(k) === type);
  if (type !== typeName || keyType === undefined) {
    throw badRequest(
      `certificate type "${typeName.slice(0, 64)}" is not a supported OpenSSH certificate type`,
    );
  }
  reader.string(); // nonce
  const publicKey = readKeyBody(reader, keyType);
  const serial = reader.uint64();
  const kindNumber = reader.uint32();
  const kind = kindNumber === CERT_KIND.user ? 'user' : kindNumber === CERT_KIND.host ? 'host' : undefined;
  if (kind === undefined)
    throw badRequest('certificate has an unknown certificate type (neither user nor host)');
  const keyId = reader.ascii();
  const principals = readAll(reader.string(), (r) => r.ascii());
  const validAfter = Number(reader.uint64());
  const validBefore = Number(reader.uint64());
  const criticalOptions = readAll(reader.string(), (r) => [r.ascii(), decodeOptionData(r.string())] as const);
  const extensions = readAll(reader.string(), (r) => {
    const name = r.ascii();
    if (r.string().length !== 0) throw badRequest(`certificate extension ${name} carries data`);
    return name;
  });
  checkSortedUnique(criticalOptions.map(([name]) => name));
  checkSortedUnique(extensions);
  reader.string(); // reserved
  const signatureKey = reader.string();
  const signature = reader.string();
  reader.end();
  return {
    type,
    publicKey,
    serial,
    kind,
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions: Object.fromEntries(criticalOptions),
    extensions,
    signatureKey,
    signature,
  };
}

/** `ssh-ed25519` -> `ssh-ed25519-cert-v01@openssh.com`; `sk-ssh-ed25519@openssh.com` -> `sk-ssh-ed25519-cert-v01@openssh.com`. */
function certTypeOf(keyType: string): string {
  return keyType.replace(/@openssh\.com$/, '') + CERT_SUFFIX;
}

/** The key's public fields: its blob without the leading type string (PROTOCOL.certkeys lays them out identically). */
function keyFieldsOf(key: SshPublicKey): Buffer {
  const reader = new SshReader(key.blob, (problem) =>
    internal(`certificate template key is malformed: ${problem}`),
  );
  if (reader.ascii() !== key.type) throw internal('certificate template key type does not match its blob');
  return key.blob.subarray(reader.position);
}

/**
 * A bad template is our bug, not the caller's: Internal. Returns the principals without duplicates
 * and the options and extensions sorted by name and unique (PROTOCOL.certkeys, DESIGN §3.5).
 */
function checkTemplate(t: CertificateTemplate): {
  principals: string[];
  criticalOptions: [string, string][];
  extensions: string[];
} {
  const bad = (problem: string) => internal(`refusing to sign a certificate: ${problem}`);
  if (t.kind !== 'user' && t.kind !== 'host') throw bad('kind must be user or host');
  if (t.serial <= 0n || t.serial >= UINT64_LIMIT) throw bad('serial must be a non-zero 64-bit number');
  if (!/^[\x20-\x7e]+$/.test(t.keyId)) throw bad('key id must be non-empty printable ASCII');
  // DESIGN §3.4: empty principals would mean "any principal" to sshd — never signed.
  if (t.principals.length === 0) throw bad('principals are empty');
  if (t.principals.length > MAX_PRINCIPALS) throw bad(`more than ${MAX_PRINCIPALS} principals`);
  for (const p of t.principals)
    if (!/^[\x21-\x7e]+$/.test(p)) throw bad('a principal is empty or not printable ASCII');
  for (const v of [t.validAfter, t.validBefore]) {
    if (!Number.isSafeInteger(v) || v < 0) throw bad('validity must be whole unix seconds');
  }
  if (t.validBefore <= t.validAfter) throw bad('validBefore must be after validAfter');
  const criticalOptions = Object.entries(t.criticalOptions).sort(([a], [b]) => compareNames(a, b));
  const extensions = [...new Set(t.extensions)].sort(compareNames);
  // PROTOCOL.certkeys: host certificates define no critical options or extensions.
  if (t.kind === 'host' && (criticalOptions.length > 0 || extensions.length > 0)) {
    throw bad('host certificates take no critical options or extensions');
  }
  for (const [name, value] of criticalOptions) {
    const shape = CRITICAL_OPTIONS[name];
    if (shape === undefined) throw bad(`unknown critical option ${name.slice(0, 64)}`);
    if (shape === 'flag' ? value !== '' : value === '' || value.includes('\0')) {
      throw bad(`critical option ${name} has an invalid value`);
    }
  }
  for (const name of extensions)
    if (!EXTENSIONS.has(name)) throw bad(`unknown extension ${name.slice(0, 64)}`);
  return { principals: [...new Set(t.principals)], criticalOptions, extensions };
}

/** Byte order of ASCII names, as OpenSSH compares them. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A text option's data is itself a string (PROTOCOL.certkeys); a flag's data is empty. */
function writeOption(w: SshWriter, name: string, value: string): void {
  w.string(name);
  if (value === '') w.uint32(0);
  else w.nested((data) => data.string(value));
}

function certReader(data: Buffer): SshReader {
  return new SshReader(data, (problem) => badRequest(`certificate data is invalid: ${problem}`));
}

function decodeOptionData(data: Buffer): string {
  if (data.length === 0) return '';
  const reader = certReader(data);
  const value = reader.string().toString('utf8');
  reader.end();
  return value;
}

function readAll<T>(packed: Buffer, readOne: (reader: SshReader) => T): T[] {
  const reader = certReader(packed);
  const out: T[] = [];
  while (reader.position < packed.length) out.push(readOne(reader));
  return out;
}

function checkSortedUnique(names: string[]): void {
  if (names.some((name, i) => i > 0 && compareNames(names[i - 1] as string, name) >= 0)) {
    throw badRequest('certificate options or extensions are not sorted and unique');
  }
}

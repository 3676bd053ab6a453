/**
 * Our encoder of OpenSSH's key revocation list (PROTOCOL.krl), the file sshd's `RevokedKeys` and
 * ssh's `RevokedHostKeys` read. It writes the sections lkp needs: per CA key, certificate serials
 * (a list, with runs as ranges) and key ids; plain keys and SHA256 fingerprints for any key.
 * No signature section: OpenSSH ≥ 9.4 refuses KRLs that carry one; the KRL travels over the
 * CA's authenticated channel instead (DESIGN §8).
 */
import { endianness } from 'node:os';
import { sshString, uint32, uint64 } from '../cert/wire.js';

/** "SSHKRL\n\0" */
export const KRL_MAGIC = Buffer.from('SSHKRL\n\0', 'latin1');
const KRL_FORMAT_VERSION = 1;

const SECTION_CERTIFICATES = 1;
const SECTION_EXPLICIT_KEY = 2;
const SECTION_FINGERPRINT_SHA256 = 5;
const CERT_SERIAL_LIST = 0x20;
const CERT_SERIAL_RANGE = 0x21;
const CERT_KEY_ID = 0x23;

/** A run this long costs less as one range (16 bytes) than as list entries (8 bytes each). */
const MIN_RANGE_RUN = 3;
const UINT64_MAX = (1n << 64n) - 1n;

export interface KrlCertificates {
  /** The issuing CA's public key blob; undefined → the section applies to certificates of every CA. */
  caKey?: Buffer;
  /** Non-zero 64-bit serials (OpenSSH refuses serial 0 in a KRL). */
  serials?: readonly bigint[];
  keyIds?: readonly string[];
}

export interface KrlContents {
  /** Must grow each time the KRL changes (PROTOCOL.krl `krl_version`). */
  version: bigint;
  /** Unix seconds. */
  generatedAt: number;
  comment?: string;
  certificates?: readonly KrlCertificates[];
  /** Plain public key blobs (not certificates). */
  keys?: readonly Buffer[];
  /** SHA256 digests (32 bytes) of public key blobs; revokes the key and every certificate for it. */
  sha256Fingerprints?: readonly Buffer[];
}

export function encodeKrl(krl: KrlContents): Buffer {
  const parts: Buffer[] = [
    KRL_MAGIC,
    uint32(KRL_FORMAT_VERSION),
    uint64(krl.version),
    uint64(BigInt(krl.generatedAt)),
    uint64(0n), // flags: none defined
    sshString(''), // reserved
    sshString(krl.comment ?? ''),
  ];
  for (const certs of krl.certificates ?? []) {
    const body = certificateSection(certs);
    if (body !== undefined) parts.push(section(SECTION_CERTIFICATES, body));
  }
  const keys = uniqueSorted(krl.keys ?? []);
  if (keys.length > 0) parts.push(section(SECTION_EXPLICIT_KEY, Buffer.concat(keys.map(sshString))));
  for (const digest of krl.sha256Fingerprints ?? [])
    if (digest.length !== 32) throw new RangeError('a SHA256 fingerprint is 32 bytes');
  // PROTOCOL.krl §4: hashes in numeric order, each read as a big-endian integer.
  const digests = uniqueSorted(krl.sha256Fingerprints ?? []);
  if (digests.length > 0)
    parts.push(section(SECTION_FINGERPRINT_SHA256, Buffer.concat(digests.map(sshString))));
  return Buffer.concat(parts);
}

/** The body of one certificates section, or undefined when it would revoke nothing. */
function certificateSection(certs: KrlCertificates): Buffer | undefined {
  const body = serialSections(certs.serials ?? []);
  const keyIds = [...new Set(certs.keyIds ?? [])].sort();
  if (keyIds.length > 0) body.push(section(CERT_KEY_ID, Buffer.concat(keyIds.map((id) => sshString(id)))));
  if (body.length === 0) return undefined;
  return Buffer.concat([sshString(certs.caKey ?? Buffer.alloc(0)), sshString(''), ...body]);
}

/**
 * Distinct serials in numeric order: runs as ranges, the rest as one list (written first). Sorted
 * as a BigUint64Array and walked as 32-bit halves, so no BigInt is made per serial: the CA builds
 * a KRL of up to ~100,000 serials per request (docs/performance.md, "KRL").
 */
function serialSections(serials: readonly bigint[]): Buffer[] {
  const sorted = new BigUint64Array(serials.length);
  serials.forEach((s, i) => {
    if (s <= 0n || s > UINT64_MAX) throw new RangeError('a KRL serial is a non-zero 64-bit number');
    sorted[i] = s;
  });
  sorted.sort();
  const words = new Uint32Array(sorted.buffer);
  const [lo, hi] = endianness() === 'LE' ? [0, 1] : [1, 0];
  const word = (i: number, half: number) => words[2 * i + half] as number;
  /** sorted[i + 1] − sorted[i], as 0, 1, or 2 for anything larger. */
  const step = (i: number): number => {
    const dHi = word(i + 1, hi) - word(i, hi);
    const dLo = word(i + 1, lo) - word(i, lo);
    if (dHi === 0) return Math.min(dLo, 2);
    return dHi === 1 && dLo === -0xffffffff ? 1 : 2;
  };
  const singles = new BigUint64Array(sorted.length);
  const singleWords = new Uint32Array(singles.buffer);
  let listed = 0;
  const ranges: Buffer[] = [];
  for (let i = 0; i < sorted.length;) {
    // A run of consecutive serials; a repeated serial (step 0) stays in its run.
    let j = i;
    let distinct = 1;
    for (let d = 0; j + 1 < sorted.length && (d = step(j)) <= 1; j++) distinct += d;
    if (distinct >= MIN_RANGE_RUN) {
      const ends = Buffer.concat([uint64(sorted[i] as bigint), uint64(sorted[j] as bigint)]);
      ranges.push(section(CERT_SERIAL_RANGE, ends));
    } else {
      for (let k = i; k <= j; k++) {
        if (k > i && step(k - 1) === 0) continue;
        singleWords[2 * listed] = words[2 * k] as number;
        singleWords[2 * listed + 1] = words[2 * k + 1] as number;
        listed++;
      }
    }
    i = j + 1;
  }
  if (listed === 0) return ranges;
  const list = Buffer.from(singles.buffer, 0, listed * 8);
  if (endianness() === 'LE') list.swap64(); // the wire's uint64 is big-endian
  return [section(CERT_SERIAL_LIST, list), ...ranges];
}

/** byte type, string data: the shape of every section and certificate subsection. */
function section(type: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.of(type), sshString(data)]);
}

function uniqueSorted(blobs: readonly Buffer[]): Buffer[] {
  const unique = new Map(blobs.map((b) => [b.toString('hex'), b]));
  return [...unique.values()].sort(Buffer.compare);
}

/**
 * Our encoder of OpenSSH's key revocation list (PROTOCOL.krl), the file sshd's `RevokedKeys` and
 * ssh's `RevokedHostKeys` read. It writes the sections lkp needs: per CA key, certificate serials
 * (a list, with runs as ranges) and key ids; plain keys and SHA256 fingerprints for any key.
 * No signature section: OpenSSH ≥ 9.4 refuses KRLs that carry one; the KRL travels over the
 * CA's authenticated channel instead (DESIGN §8).
 */
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
  const singles: Buffer[] = [];
  const ranges: Buffer[] = [];
  for (const run of serialRuns(certs.serials ?? [])) {
    if (run.last - run.first + 1n >= BigInt(MIN_RANGE_RUN))
      ranges.push(section(CERT_SERIAL_RANGE, Buffer.concat([uint64(run.first), uint64(run.last)])));
    else for (let s = run.first; s <= run.last; s++) singles.push(uint64(s));
  }
  const body: Buffer[] = [];
  if (singles.length > 0) body.push(section(CERT_SERIAL_LIST, Buffer.concat(singles)));
  body.push(...ranges);
  const keyIds = [...new Set(certs.keyIds ?? [])].sort();
  if (keyIds.length > 0) body.push(section(CERT_KEY_ID, Buffer.concat(keyIds.map((id) => sshString(id)))));
  if (body.length === 0) return undefined;
  return Buffer.concat([sshString(certs.caKey ?? Buffer.alloc(0)), sshString(''), ...body]);
}

/** Sorted, de-duplicated serials as runs of consecutive numbers. */
function serialRuns(serials: readonly bigint[]): { first: bigint; last: bigint }[] {
  for (const s of serials)
    if (s <= 0n || s > UINT64_MAX) throw new RangeError('a KRL serial is a non-zero 64-bit number');
  const sorted = [...new Set(serials)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const runs: { first: bigint; last: bigint }[] = [];
  for (const s of sorted) {
    const run = runs.at(-1);
    if (run !== undefined && run.last + 1n === s) run.last = s;
    else runs.push({ first: s, last: s });
  }
  return runs;
}

/** byte type, string data: the shape of every section and certificate subsection. */
function section(type: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.of(type), sshString(data)]);
}

function uniqueSorted(blobs: readonly Buffer[]): Buffer[] {
  const unique = new Map(blobs.map((b) => [b.toString('hex'), b]));
  return [...unique.values()].sort(Buffer.compare);
}

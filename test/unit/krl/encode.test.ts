import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitKeyLine } from '../../../src/cert/keys.js';
import { encodeKrl, type KrlContents } from '../../../src/krl/encode.js';
import { makeKeyPair, type KeyPair } from '../../helpers/ssh-keygen.js';

let dir: string;
let ca: KeyPair;
let otherCa: KeyPair;
let user: KeyPair;
let bystander: KeyPair;
let krlCount = 0;

const blobOf = (pair: KeyPair) => splitKeyLine(pair.publicKey, 'key').blob;
const sha256Of = (pair: KeyPair) => createHash('sha256').update(blobOf(pair)).digest();

/** A certificate for `subject` signed by `issuer` with ssh-keygen; returns its path. */
function certify(issuer: KeyPair, subject: KeyPair, serial: bigint, keyId: string): string {
  const name = `${subject.privatePath}-${issuer === ca ? 'ca' : 'other'}-${serial}`;
  writeFileSync(`${name}.pub`, readFileSync(subject.publicPath));
  execFileSync('ssh-keygen', [
    '-q',
    '-s',
    issuer.privatePath,
    '-I',
    keyId,
    '-z',
    serial.toString(),
    '-n',
    'bob',
    `${name}.pub`,
  ]);
  return `${name}-cert.pub`;
}

/** ssh-keygen's verdict on `paths` under the KRL: true = revoked. */
function revoked(krl: KrlContents, path: string): boolean {
  const krlPath = join(dir, `test-${krlCount++}.krl`);
  writeFileSync(krlPath, encodeKrl(krl));
  const run = spawnSync('ssh-keygen', ['-Q', '-f', krlPath, path], { encoding: 'utf8' });
  if (run.stdout.includes('REVOKED') && run.status === 1) return true;
  if (run.stdout.includes(': ok') && run.status === 0) return false;
  throw new Error(`ssh-keygen -Q failed: ${run.status} ${run.stdout} ${run.stderr}`);
}

const base = { version: 1n, generatedAt: 1_700_000_000 };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-krl-'));
  ca = makeKeyPair(dir, 'ecdsa-256', 'ca');
  otherCa = makeKeyPair(dir, 'ed25519', 'other-ca');
  user = makeKeyPair(dir, 'ed25519', 'user');
  bystander = makeKeyPair(dir, 'rsa-2048', 'bystander');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('encodeKrl, checked by ssh-keygen -Q', () => {
  it('an empty KRL is valid and revokes nothing', () => {
    expect(revoked(base, certify(ca, user, 7n, 'alice'))).toBe(false);
    expect(revoked(base, user.publicPath)).toBe(false);
  });

  it('revokes listed serials of its CA only', () => {
    const krl = { ...base, certificates: [{ caKey: blobOf(ca), serials: [7n, 18446744073709551615n, 9n] }] };
    expect(revoked(krl, certify(ca, user, 7n, 'alice'))).toBe(true);
    expect(revoked(krl, certify(ca, user, 18446744073709551615n, 'alice'))).toBe(true);
    expect(revoked(krl, certify(ca, user, 8n, 'alice'))).toBe(false);
    expect(revoked(krl, certify(otherCa, user, 7n, 'alice'))).toBe(false);
  });

  it('writes runs as ranges and keeps their ends', () => {
    const run = Array.from({ length: 1000 }, (_, i) => 100n + BigInt(i));
    const krl = { ...base, certificates: [{ caKey: blobOf(ca), serials: [...run, 2000n, 2001n] }] };
    // 1,000 serials as a list would take 8 KB; as one range they take 16 bytes.
    expect(encodeKrl(krl).length).toBeLessThan(300);
    expect(ssh('-Q', '-l', '-f', write(krl))).toMatch(/serial: 100-1099\nserial: 2000-2001/);
    for (const s of [100n, 600n, 1099n, 2000n, 2001n])
      expect(revoked(krl, certify(ca, user, s, 'x'))).toBe(true);
    for (const s of [99n, 1100n, 1999n, 2002n]) expect(revoked(krl, certify(ca, user, s, 'x'))).toBe(false);
  });

  it('holds 100,000 random serials (as the CA issues them) with runs, repeats and 32-bit carries', () => {
    const revokedSerial = 0x0123456789abcdefn;
    const spared = revokedSerial + 1n;
    const serials = [revokedSerial, 5n, 5n, 6n, 0xffffffffn, 0x100000000n, 0x100000001n, 0x1ffffffffn];
    while (serials.length < 100_000) {
      const s = randomBytes(8).readBigUInt64BE();
      if (s !== 0n && s !== spared) serials.push(s);
    }
    const krl = { ...base, certificates: [{ caKey: blobOf(ca), serials }] };
    // ssh-keygen lists what it read as runs of consecutive serials: the same runs as ours.
    const listed = ssh('-Q', '-l', '-f', write(krl))
      .split('\n')
      .filter((line) => line.startsWith('serial: '))
      .map((line) => line.slice('serial: '.length));
    expect(listed).toEqual(runsOf(serials));
    expect(listed).toContain('4294967295-4294967297');
    expect(revoked(krl, certify(ca, user, revokedSerial, 'alice'))).toBe(true);
    expect(revoked(krl, certify(ca, user, spared, 'alice'))).toBe(false);
  }, 60_000);

  it('revokes key ids for its CA, or for every CA without one', () => {
    const arn = 'arn:aws:iam::111122223333:user/alice';
    const forCa = { ...base, certificates: [{ caKey: blobOf(ca), keyIds: [arn] }] };
    expect(revoked(forCa, certify(ca, user, 11n, arn))).toBe(true);
    expect(revoked(forCa, certify(ca, user, 12n, `${arn}x`))).toBe(false);
    expect(revoked(forCa, certify(otherCa, user, 13n, arn))).toBe(false);
    const anyCa = { ...base, certificates: [{ keyIds: [arn] }] };
    expect(revoked(anyCa, certify(otherCa, user, 14n, arn))).toBe(true);
  });

  it('revokes a key by SHA256 fingerprint: the plain key and every certificate for it', () => {
    const krl = { ...base, sha256Fingerprints: [sha256Of(bystander), sha256Of(user)] };
    expect(revoked(krl, user.publicPath)).toBe(true);
    expect(revoked(krl, certify(ca, user, 21n, 'alice'))).toBe(true);
    expect(revoked(krl, otherCa.publicPath)).toBe(false);
  });

  it('revokes an explicit key', () => {
    const krl = { ...base, keys: [blobOf(user)] };
    expect(revoked(krl, user.publicPath)).toBe(true);
    expect(revoked(krl, bystander.publicPath)).toBe(false);
  });

  it('revoking the CA key itself revokes everything it signed', () => {
    const krl = { ...base, keys: [blobOf(otherCa)] };
    expect(revoked(krl, certify(otherCa, user, 31n, 'alice'))).toBe(true);
    expect(revoked(krl, certify(ca, user, 31n, 'alice'))).toBe(false);
  });

  it('ssh-keygen reads back the header, comment and every section', () => {
    const krl: KrlContents = {
      version: 42n,
      generatedAt: 1_700_000_000,
      comment: 'lkp test',
      certificates: [{ caKey: blobOf(ca), serials: [5n], keyIds: ['alice'] }],
      sha256Fingerprints: [sha256Of(user)],
    };
    const listing = ssh('-Q', '-l', '-f', write(krl));
    expect(listing).toMatch(/KRL version 42/);
    expect(listing).toMatch(/Comment: lkp test/);
    expect(listing).toMatch(/serial: 5/);
    expect(listing).toMatch(/id: alice/);
    expect(listing).toMatch(/hash: SHA256:/);
  });

  it('refuses what OpenSSH would refuse: serial 0, short digests', () => {
    expect(() => encodeKrl({ ...base, certificates: [{ caKey: blobOf(ca), serials: [0n] }] })).toThrow(
      RangeError,
    );
    expect(() => encodeKrl({ ...base, sha256Fingerprints: [Buffer.alloc(20)] })).toThrow(RangeError);
  });
});

function write(krl: KrlContents): string {
  const path = join(dir, `listed-${krlCount++}.krl`);
  writeFileSync(path, encodeKrl(krl));
  return path;
}

/** Distinct serials in order, consecutive ones joined as `first-last`: how ssh-keygen -Q -l lists them. */
function runsOf(serials: readonly bigint[]): string[] {
  const sorted = [...new Set(serials)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const runs: { first: bigint; last: bigint }[] = [];
  for (const s of sorted) {
    const run = runs.at(-1);
    if (run !== undefined && run.last + 1n === s) run.last = s;
    else runs.push({ first: s, last: s });
  }
  return runs.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`));
}

function ssh(...args: string[]): string {
  const run = spawnSync('ssh-keygen', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return `${run.stdout}${run.stderr}`;
}

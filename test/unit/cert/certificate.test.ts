import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCertificate,
  parseCertificate,
  randomSerial,
  type CertificateTemplate,
} from '../../../src/cert/certificate.js';
import { parsePublicKey, publicKeyFromBlob, type SshPublicKey } from '../../../src/cert/keys.js';
import { LkpError } from '../../../src/errors.js';
import { fileSigner } from '../../../src/signer/file.js';
import type { Signer } from '../../../src/signer/signer.js';
import { verifySshSignature } from '../../../src/signer/ssh-signature.js';
import {
  inspectCertificate,
  makeKeyPair,
  securityKeyLine,
  type KeyPairType,
} from '../../helpers/ssh-keygen.js';

const CA_TYPES = ['ed25519', 'ecdsa-256', 'ecdsa-384', 'ecdsa-521', 'rsa-2048', 'rsa-3072'] as const;
const SUBJECT_TYPES = ['ed25519', 'ecdsa-256', 'ecdsa-521', 'rsa-2048', 'sk-ed25519', 'sk-ecdsa'] as const;
const CA_ALGORITHM: Record<(typeof CA_TYPES)[number], string> = {
  ed25519: 'ssh-ed25519',
  'ecdsa-256': 'ecdsa-sha2-nistp256',
  'ecdsa-384': 'ecdsa-sha2-nistp384',
  'ecdsa-521': 'ecdsa-sha2-nistp521',
  'rsa-2048': 'rsa-sha2-512',
  'rsa-3072': 'rsa-sha2-512',
};
const CERT_TYPE: Record<string, string> = {
  'ssh-ed25519': 'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256': 'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521': 'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'ssh-rsa': 'ssh-rsa-cert-v01@openssh.com',
  'sk-ssh-ed25519@openssh.com': 'sk-ssh-ed25519-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com': 'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
};

const utc = (s: number) => new Date(s * 1000).toISOString().slice(0, 19);
/** The signed part of a certificate blob: everything before the final string (the signature). */
const signedPart = (blob: Buffer, signature: Buffer) => blob.subarray(0, blob.length - 4 - signature.length);

let dir: string;
const signers = new Map<string, Signer>();
const subjects = new Map<string, SshPublicKey>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-cert-'));
  for (const type of CA_TYPES)
    signers.set(type, await fileSigner(makeKeyPair(dir, type, `ca-${type}`).privatePath));
  for (const type of SUBJECT_TYPES) {
    const text = type.startsWith('sk-')
      ? securityKeyLine(type as 'sk-ed25519' | 'sk-ecdsa')
      : makeKeyPair(dir, type as KeyPairType, `user-${type}`).publicKey;
    subjects.set(type, parsePublicKey(text));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const signer = (type: string) => signers.get(type) as Signer;
const subject = (type: string) => subjects.get(type) as SshPublicKey;

function template(overrides: Partial<CertificateTemplate> = {}): CertificateTemplate {
  return {
    kind: 'user',
    publicKey: subject('ed25519'),
    serial: 0xfedcba9876543210n,
    keyId: 'arn:aws:sts::123456789012:assumed-role/dev/alice',
    principals: ['ec2-user@arn:aws:ec2:us-east-1:123456789012:instance/i-0abc', 'backup'],
    validAfter: 1_700_000_000,
    validBefore: 1_700_003_600,
    criticalOptions: {
      'source-address': '10.0.0.0/8,192.168.1.1/32',
      'force-command': '/usr/bin/true --flag',
    },
    extensions: ['permit-pty', 'permit-port-forwarding'],
    ...overrides,
  };
}

describe.each(CA_TYPES)('a %s CA', (caType) => {
  it.each(SUBJECT_TYPES)(
    'signs %s user keys into certificates ssh-keygen -L verifies and shows right',
    async (subjectType) => {
      const t = template({ publicKey: subject(subjectType) });
      const cert = await createCertificate(t, signer(caType));
      const caKey = publicKeyFromBlob(signer(caType).publicKeyBlob);
      const certType = CERT_TYPE[t.publicKey.type] as string;

      expect(cert.line).toBe(`${certType} ${cert.blob.toString('base64')} ${t.keyId}`);
      const shown = inspectCertificate(cert.line);
      expect(shown).toContain(`Type: ${certType} user certificate`);
      expect(shown).toMatch(new RegExp(`Public key: \\S+ ${escape(t.publicKey.fingerprint)}\\n`));
      expect(shown).toContain(`Signing CA: `);
      expect(shown).toContain(`${caKey.fingerprint} (using ${CA_ALGORITHM[caType]})`);
      expect(shown).toContain(`Key ID: "${t.keyId}"`);
      expect(shown).toContain(`Serial: ${t.serial}`);
      expect(shown).toContain(`Valid: from ${utc(t.validAfter)} to ${utc(t.validBefore)}`);
      expect(section(shown, 'Principals')).toEqual(t.principals);
      expect(section(shown, 'Critical Options')).toEqual([
        'force-command /usr/bin/true --flag',
        'source-address 10.0.0.0/8,192.168.1.1/32',
      ]);
      expect(section(shown, 'Extensions')).toEqual(['permit-port-forwarding', 'permit-pty']);

      const parsed = parseCertificate(cert.line);
      expect(parsed).toMatchObject({
        type: certType,
        serial: t.serial,
        kind: 'user',
        keyId: t.keyId,
        principals: t.principals,
        validAfter: t.validAfter,
        validBefore: t.validBefore,
        criticalOptions: t.criticalOptions,
        extensions: ['permit-port-forwarding', 'permit-pty'],
      });
      expect(parsed.publicKey).toEqual(t.publicKey);
      expect(parsed.signatureKey.equals(signer(caType).publicKeyBlob)).toBe(true);
      expect(verifySshSignature(caKey, parsed.signature, signedPart(cert.blob, parsed.signature))).toBe(true);
    },
  );

  it('signs host certificates', async () => {
    const t = template({
      kind: 'host',
      principals: ['i-0abc', '10.0.0.5'],
      criticalOptions: {},
      extensions: [],
    });
    const cert = await createCertificate(t, signer(caType));
    const shown = inspectCertificate(cert.line);
    expect(shown).toContain('Type: ssh-ed25519-cert-v01@openssh.com host certificate');
    expect(section(shown, 'Principals')).toEqual(['i-0abc', '10.0.0.5']);
    expect(shown).toMatch(/Critical Options: \(none\)/);
    expect(shown).toMatch(/Extensions: \(none\)/);
    expect(parseCertificate(cert.line)).toMatchObject({ kind: 'host', criticalOptions: {}, extensions: [] });
  });
});

describe('createCertificate', () => {
  it('sorts extensions and options by name and drops duplicates', async () => {
    const t = template({
      criticalOptions: { 'verify-required': '', 'source-address': '10.0.0.1/32', 'force-command': 'x' },
      extensions: [
        'permit-pty',
        'permit-user-rc',
        'permit-pty',
        'permit-X11-forwarding',
        'permit-agent-forwarding',
      ],
      principals: ['a', 'b', 'a'],
    });
    const cert = await createCertificate(t, signer('ed25519'));
    const parsed = parseCertificate(cert.line);
    expect(Object.keys(parsed.criticalOptions)).toEqual([
      'force-command',
      'source-address',
      'verify-required',
    ]);
    expect(parsed.criticalOptions['verify-required']).toBe('');
    // Byte order: upper-case X sorts before lower case.
    expect(parsed.extensions).toEqual([
      'permit-X11-forwarding',
      'permit-agent-forwarding',
      'permit-pty',
      'permit-user-rc',
    ]);
    expect(parsed.principals).toEqual(['a', 'b']);
    expect(section(inspectCertificate(cert.line), 'Critical Options')).toEqual([
      'force-command x',
      'source-address 10.0.0.1/32',
      'verify-required',
    ]);
  });

  it('puts a fresh 32-byte nonce from the random source right after the type', async () => {
    const nonce = Buffer.alloc(32, 0xab);
    const cert = await createCertificate(template(), signer('ed25519'), () => Buffer.from(nonce));
    const typeLength = cert.blob.readUInt32BE(0);
    expect(cert.blob.readUInt32BE(4 + typeLength)).toBe(32);
    expect(cert.blob.subarray(8 + typeLength, 8 + typeLength + 32).equals(nonce)).toBe(true);
    const other = await createCertificate(template(), signer('ed25519'));
    expect(other.blob.equals(cert.blob)).toBe(false);
  });

  it('makes certificates that fail to verify once any signed byte changes', async () => {
    const cert = await createCertificate(template(), signer('ecdsa-256'));
    const tampered = Buffer.from(cert.blob);
    const keyIdAt = tampered.indexOf('arn:aws:sts');
    tampered[keyIdAt] = 'b'.charCodeAt(0);
    expect(() =>
      inspectCertificate(`ecdsa-sha2-nistp256-cert-v01@openssh.com ${tampered.toString('base64')}`),
    ).toThrow();
  });

  describe('refuses bad templates as Internal:', () => {
    const cases: [string, Partial<CertificateTemplate>, RegExp][] = [
      ['empty principals', { principals: [] }, /principals are empty/],
      ['an empty principal', { principals: ['a', ''] }, /principal is empty or not printable/],
      ['a principal with a space', { principals: ['a b'] }, /principal is empty or not printable/],
      [
        'too many principals',
        { principals: Array.from({ length: 257 }, (_, i) => `p${i}`) },
        /more than 256/,
      ],
      ['a zero serial', { serial: 0n }, /serial must be a non-zero 64-bit/],
      ['a negative serial', { serial: -1n }, /serial must be a non-zero 64-bit/],
      ['a serial over 64 bits', { serial: 1n << 64n }, /serial must be a non-zero 64-bit/],
      [
        'a key id with a newline',
        { keyId: 'arn:aws:iam::1:user/a\nb' },
        /key id must be non-empty printable ASCII/,
      ],
      ['a key id with a NUL', { keyId: 'a\0' }, /key id must be non-empty printable ASCII/],
      ['a non-ASCII key id', { keyId: 'arn:é' }, /key id must be non-empty printable ASCII/],
      ['an empty key id', { keyId: '' }, /key id must be non-empty printable ASCII/],
      [
        'validBefore equal to validAfter',
        { validBefore: 1_700_000_000 },
        /validBefore must be after validAfter/,
      ],
      [
        'validBefore before validAfter',
        { validBefore: 1_600_000_000 },
        /validBefore must be after validAfter/,
      ],
      ['fractional validity', { validAfter: 1.5 }, /whole unix seconds/],
      ['negative validity', { validAfter: -5 }, /whole unix seconds/],
      [
        'an unknown critical option',
        { criticalOptions: { 'no-such-option': 'x' } },
        /unknown critical option/,
      ],
      [
        'an empty force-command',
        { criticalOptions: { 'force-command': '' } },
        /force-command has an invalid value/,
      ],
      [
        'a force-command with NUL',
        { criticalOptions: { 'force-command': 'a\0b' } },
        /force-command has an invalid value/,
      ],
      [
        'a flag option with a value',
        { criticalOptions: { 'verify-required': 'yes' } },
        /verify-required has an invalid/,
      ],
      ['an unknown extension', { extensions: ['permit-everything'] }, /unknown extension permit-everything/],
      ['a host certificate with options', { kind: 'host', extensions: [] }, /host certificates take no/],
      [
        'a host certificate with extensions',
        { kind: 'host', criticalOptions: {} },
        /host certificates take no/,
      ],
    ];
    it.each(cases)('%s', async (_name, overrides, message) => {
      await expectInternal(createCertificate(template(overrides), signer('ed25519')), message);
    });
  });
});

describe('randomSerial', () => {
  it('never returns zero: it draws again', () => {
    const draws = [Buffer.alloc(8), Buffer.alloc(8), Buffer.from('0000000000000007', 'hex')];
    let calls = 0;
    const serial = randomSerial((n) => {
      expect(n).toBe(8);
      return draws[calls++] as Buffer;
    });
    expect(serial).toBe(7n);
    expect(calls).toBe(3);
  });

  it('uses all 64 bits', () => {
    expect(randomSerial(() => Buffer.alloc(8, 0xff))).toBe((1n << 64n) - 1n);
  });

  it('defaults to a secure random source', () => {
    const a = randomSerial();
    expect(a > 0n && a < 1n << 64n).toBe(true);
    expect(randomSerial()).not.toBe(a);
  });
});

describe('parseCertificate', () => {
  it('reads certificates ssh-keygen made', () => {
    const ca = makeKeyPair(dir, 'ecdsa-384', 'keygen-ca');
    const user = makeKeyPair(dir, 'ed25519', 'keygen-user');
    execFileSync(
      'ssh-keygen',
      [
        ...[
          '-q',
          '-s',
          ca.privatePath,
          '-I',
          'someone',
          '-n',
          'alice,bob',
          '-z',
          '42',
          '-V',
          '20300101000000:20300102000000',
        ],
        ...['-O', 'clear', '-O', 'permit-pty', '-O', 'force-command=uptime', user.publicPath],
      ],
      { stdio: 'pipe', env: { ...process.env, TZ: 'UTC' } },
    );
    const parsed = parseCertificate(readFileSync(join(dir, 'keygen-user-cert.pub'), 'utf8'));
    expect(parsed).toMatchObject({
      type: 'ssh-ed25519-cert-v01@openssh.com',
      kind: 'user',
      keyId: 'someone',
      serial: 42n,
      principals: ['alice', 'bob'],
      validAfter: Date.UTC(2030, 0, 1) / 1000,
      validBefore: Date.UTC(2030, 0, 2) / 1000,
      criticalOptions: { 'force-command': 'uptime' },
      extensions: ['permit-pty'],
    });
    expect(parsed.publicKey.fingerprint).toBe(parsePublicKey(user.publicKey).fingerprint);
    expect(parsed.signatureKey.equals(parsePublicKey(ca.publicKey).blob)).toBe(true);
  });

  it('refuses trailing data', async () => {
    const cert = await createCertificate(template(), signer('ed25519'));
    const blob = Buffer.concat([cert.blob, Buffer.of(0)]);
    expect(() => parseCertificate(`ssh-ed25519-cert-v01@openssh.com ${blob.toString('base64')}`)).toThrow(
      /trailing data/,
    );
  });

  it('refuses a line whose type does not match the blob', async () => {
    const cert = await createCertificate(template(), signer('ed25519'));
    expect(() => parseCertificate(`ssh-rsa-cert-v01@openssh.com ${cert.blob.toString('base64')}`)).toThrow(
      /not a supported OpenSSH certificate type/,
    );
  });

  it('refuses plain keys', () => {
    expect(() => parseCertificate(makeKeyPair(dir, 'ed25519', 'plain').publicKey)).toThrow(
      /not a supported OpenSSH certificate/,
    );
  });

  it('refuses unsorted extensions', async () => {
    const cert = await createCertificate(
      template({ extensions: ['permit-port-forwarding', 'permit-pty'] }),
      signer('ed25519'),
    );
    const swapped = Buffer.from(cert.blob);
    // Swap the two encoded entries in place; the total length is unchanged.
    const a = Buffer.concat([wire('permit-port-forwarding'), wire('')]);
    const b = Buffer.concat([wire('permit-pty'), wire('')]);
    const at = swapped.indexOf(a);
    Buffer.concat([b, a]).copy(swapped, at);
    expect(() => parseCertificate(`ssh-ed25519-cert-v01@openssh.com ${swapped.toString('base64')}`)).toThrow(
      /sorted and unique/,
    );
  });
});

function wire(text: string): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(text.length);
  return Buffer.concat([length, Buffer.from(text)]);
}

/** The indented lines below a `Name:` heading of ssh-keygen -L output. */
function section(shown: string, name: string): string[] {
  const lines = shown.split('\n');
  const start = lines.findIndex((l) => l.trim().startsWith(`${name}:`));
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!/^\s{9,}\S/.test(l)) break;
    out.push(l.trim());
  }
  return out;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

async function expectInternal(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LkpError);
  expect((error as LkpError).code).toBe('Internal');
  expect((error as LkpError).message).toMatch(message);
}

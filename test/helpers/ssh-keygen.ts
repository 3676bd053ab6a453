/** Small wrappers around the system ssh-keygen for tests. */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KeyPairType =
  'ed25519' | 'ecdsa-256' | 'ecdsa-384' | 'ecdsa-521' | 'rsa-2048' | 'rsa-3072' | 'rsa-1024' | 'dsa';

export interface KeyPair {
  privatePath: string;
  publicPath: string;
  /** The .pub line without its trailing newline. */
  publicKey: string;
}

/** ssh-keygen arguments per type; DSA keys are always 1024 bits. */
const KEYGEN_ARGS: Record<KeyPairType, string[]> = {
  ed25519: ['-t', 'ed25519'],
  'ecdsa-256': ['-t', 'ecdsa', '-b', '256'],
  'ecdsa-384': ['-t', 'ecdsa', '-b', '384'],
  'ecdsa-521': ['-t', 'ecdsa', '-b', '521'],
  'rsa-2048': ['-t', 'rsa', '-b', '2048'],
  'rsa-3072': ['-t', 'rsa', '-b', '3072'],
  'rsa-1024': ['-t', 'rsa', '-b', '1024'],
  dsa: ['-t', 'dsa'],
};

/**
 * Generates an unencrypted key pair in `dir` (file name defaults to the type). Throws if this
 * ssh-keygen cannot make the type (DSA is compiled out of newer OpenSSH builds).
 */
export function makeKeyPair(dir: string, type: KeyPairType, name: string = type): KeyPair {
  const privatePath = join(dir, name);
  execFileSync(
    'ssh-keygen',
    ['-q', ...KEYGEN_ARGS[type], '-N', '', '-C', `test-${name}`, '-f', privatePath],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const publicPath = `${privatePath}.pub`;
  return { privatePath, publicPath, publicKey: readFileSync(publicPath, 'utf8').trim() };
}

/**
 * `ssh-keygen -L -f` output for a certificate line (ssh-keygen verifies the CA signature); throws on
 * failure. Runs with TZ=UTC so "Valid: from … to …" reads as `new Date(s * 1000).toISOString().slice(0, 19)`.
 */
export function inspectCertificate(certLine: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lkp-inspect-'));
  try {
    const path = join(dir, 'cert.pub');
    writeFileSync(path, certLine + '\n');
    return execFileSync('ssh-keygen', ['-L', '-f', path], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TZ: 'UTC' },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `ssh-keygen -l -E sha256 -f` fingerprint (the `SHA256:…` field) of a public key file. */
export function keygenFingerprint(publicPath: string): string {
  const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicPath], { encoding: 'utf8' });
  const fingerprint = out.split(' ')[1];
  if (!fingerprint?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -l output: ${out}`);
  return fingerprint;
}

/**
 * An authorized_keys line for a security key (PROTOCOL.u2f), built by hand because ssh-keygen
 * needs a FIDO token to make one: the point of a fresh software key plus the application "ssh:".
 */
export function securityKeyLine(type: 'sk-ed25519' | 'sk-ecdsa'): string {
  const name = type === 'sk-ed25519' ? 'sk-ssh-ed25519@openssh.com' : 'sk-ecdsa-sha2-nistp256@openssh.com';
  const fields =
    type === 'sk-ed25519'
      ? [Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x ?? '', 'base64url')]
      : [Buffer.from('nistp256'), p256Point()];
  const blob = Buffer.concat([name, ...fields, 'ssh:'].map(wireString));
  return `${name} ${blob.toString('base64')} test-${type}`;
}

function p256Point(): Buffer {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  return Buffer.concat([
    Buffer.of(4),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
}

function wireString(data: Buffer | string): Buffer {
  const bytes = Buffer.from(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** Thin wrappers over the system OpenSSH tools, for the local stack and the tests. */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type KeyType = 'ed25519' | 'ecdsa-256' | 'ecdsa-384' | 'ecdsa-521' | 'rsa-2048' | 'rsa-3072';

export interface KeyPair {
  privatePath: string;
  publicPath: string;
  /** The authorized_keys line. */
  publicKey: string;
}

/** `ssh-keygen -t … -N ''`: an unencrypted key pair in `dir`. */
export async function generateKeyPair(
  dir: string,
  name: string,
  type: KeyType = 'ed25519',
): Promise<KeyPair> {
  const [algorithm, bits] = type.split('-') as [string, string | undefined];
  const privatePath = join(dir, name);
  // ssh-keygen would ask whether to overwrite, and wait for an answer nobody gives.
  if (existsSync(privatePath)) throw new Error(`${privatePath} exists already`);
  const args = [
    '-q',
    '-t',
    algorithm,
    '-N',
    '',
    '-C',
    name,
    '-f',
    privatePath,
    ...(bits ? ['-b', bits] : []),
  ];
  await run('ssh-keygen', args);
  const publicPath = `${privatePath}.pub`;
  return { privatePath, publicPath, publicKey: readFileSync(publicPath, 'utf8').trim() };
}

/** `ssh-keygen -L`: OpenSSH's own reading of a certificate, which also checks its signature. */
export async function describeCertificate(certPath: string): Promise<string> {
  const { stdout } = await run('ssh-keygen', ['-L', '-f', certPath]);
  return stdout;
}

const SSHD_CANDIDATES = ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/usr/bin/sshd'];

/** sshd must be started by absolute path (it re-executes itself). */
export function findSshd(): string | undefined {
  return SSHD_CANDIDATES.find((p) => existsSync(p));
}

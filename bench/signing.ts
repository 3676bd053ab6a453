/**
 * Signing core (issue item 1): certificates per second on one core for encode + sign with the
 * file signer, per CA key type, next to the same certificate made by `ssh-keygen -s`, spawned once
 * per certificate as a user would script it. Both sides are timed by tinybench in the same run.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Bench } from 'tinybench';
import {
  createCertificate,
  parsePublicKey,
  randomSerial,
  type CertificateTemplate,
} from '../src/cert/index.js';
import { generateKeyPair, type KeyType } from '../src/local/openssh.js';
import { fileSigner } from '../src/signer/file.js';
import { meanOpsPerSecond } from './stats.js';

const run = promisify(execFile);

/** The CA key types the issue asks for, by their results.json name. */
export const CA_KEY_TYPES = { ed25519: 'ed25519', ecdsaP256: 'ecdsa-256', rsa3072: 'rsa-3072' } as const;
export type CaKeyName = keyof typeof CA_KEY_TYPES;

export interface SigningFigures {
  certsPerSecond: number;
  sshKeygenCertsPerSecond: number;
  /** certsPerSecond / sshKeygenCertsPerSecond */
  ratio: number;
}

export interface SigningOptions {
  /** tinybench time budget per task, ms. */
  timeMs: number;
  /** Minimum iterations per task (tinybench runs at least this many). */
  iterations: number;
  keyTypes?: readonly CaKeyName[];
}

const INSTANCE_ARN = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0';
const CALLER_ARN = 'arn:aws:iam::111122223333:user/alice';
const PRINCIPAL = `ec2-user@${INSTANCE_ARN}`;
const EXTENSIONS = ['permit-port-forwarding', 'permit-pty'];

export async function benchSigning(opts: SigningOptions): Promise<Record<CaKeyName, SigningFigures>> {
  const dir = mkdtempSync(join(tmpdir(), 'lkp-bench-sign-'));
  try {
    const userKey = await generateKeyPair(dir, 'user', 'ed25519');
    const out: Partial<Record<CaKeyName, SigningFigures>> = {};
    for (const name of opts.keyTypes ?? (Object.keys(CA_KEY_TYPES) as CaKeyName[])) {
      const caKey = await generateKeyPair(dir, `ca_${name}`, CA_KEY_TYPES[name] as KeyType);
      out[name] = await benchOneKeyType(caKey.privatePath, userKey, opts);
    }
    return out as Record<CaKeyName, SigningFigures>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchOneKeyType(
  caKeyPath: string,
  userKey: { publicKey: string; publicPath: string },
  opts: SigningOptions,
): Promise<SigningFigures> {
  const signer = await fileSigner(caKeyPath);
  const publicKey = parsePublicKey(userKey.publicKey);
  const template = (): CertificateTemplate => {
    const now = Math.floor(Date.now() / 1000);
    return {
      kind: 'user',
      publicKey,
      serial: randomSerial(),
      keyId: CALLER_ARN,
      principals: [PRINCIPAL],
      validAfter: now - 60,
      validBefore: now + 3600,
      criticalOptions: {},
      extensions: EXTENSIONS,
    };
  };
  // The same certificate, as an admin would script ssh-keygen for it (it overwrites user-cert.pub).
  const keygenArgs = [
    ...['-q', '-s', caKeyPath, '-I', CALLER_ARN, '-n', PRINCIPAL, '-V', '-1m:+1h'],
    ...['-O', 'clear', ...EXTENSIONS.flatMap((e) => ['-O', e])],
    userKey.publicPath,
  ];
  const bench = new Bench({ time: opts.timeMs, iterations: opts.iterations, throws: true });
  bench
    .add('lkp', async () => {
      await createCertificate(template(), signer);
    })
    .add('ssh-keygen', async () => {
      await run('ssh-keygen', keygenArgs);
    });
  const [ours, keygen] = await bench.run();
  const certsPerSecond = meanOpsPerSecond(ours);
  const sshKeygenCertsPerSecond = meanOpsPerSecond(keygen);
  return { certsPerSecond, sshKeygenCertsPerSecond, ratio: certsPerSecond / sshKeygenCertsPerSecond };
}

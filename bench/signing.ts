/**
 * Signing core: certificates per second on one core for encode + sign with the file signer, per CA
 * key type, next to the same certificate made by `ssh-keygen -s`, spawned once per certificate as a
 * user would script it; and next to the bare node:crypto signature of the same bytes with the same
 * key, and the file signer's checked signature of them, so the encoder's own share shows. All
 * timed by tinybench in the same run.
 */
import { execFile } from 'node:child_process';
import { sign } from 'node:crypto';
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
import { fileSigner, readCaKeyFile } from '../src/signer/file.js';
import type { Signer } from '../src/signer/signer.js';
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
  /** node:crypto `sign` of the certificate's signed bytes with the CA key, nothing else. */
  rawSignaturesPerSecond: number;
  /** The file signer's `sign` of the same bytes: the raw signature, its SSH encoding and the signer's check. */
  signerSignaturesPerSecond: number;
  /** Time of the encoder alone (template checks, encoding; a signature made earlier), % of a raw signature. */
  encoderOverheadPct: number;
  /** Time the signer adds to a raw signature (its check, SSH encoding), %; src/signer/file.ts says why it checks. */
  signerCheckPct: number;
}

export interface SigningOptions {
  /** tinybench time budget per task, ms. */
  timeMs: number;
  /** Minimum iterations per task (tinybench runs at least this many). */
  iterations: number;
  keyTypes?: readonly CaKeyName[];
}

const BATCH = 16;
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
  const key = await readCaKeyFile(caKeyPath);
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
  const { signed, signature } = await signedBytes(template(), signer);
  const hash = rawHashOf(signer);
  // The encoder alone: the same certificate with a signer that hands back a signature made earlier.
  const presigned: Signer = { ...signer, sign: async () => signature };
  const bench = new Bench({ time: opts.timeMs, iterations: opts.iterations, throws: true });
  bench
    .add('lkp', async () => {
      await createCertificate(template(), signer);
    })
    .add('ssh-keygen', async () => {
      await run('ssh-keygen', keygenArgs);
    })
    // These three are compared with each other: BATCH operations per timed call, each an awaited
    // call as in the certificate, so the harness's own cost per call does not tilt the shares.
    .add('raw signature', async () => {
      for (let i = 0; i < BATCH; i++) await Promise.resolve(sign(hash, signed, key));
    })
    .add('signer', async () => {
      for (let i = 0; i < BATCH; i++) await signer.sign(signed);
    })
    .add('encoder', async () => {
      for (let i = 0; i < BATCH; i++) await createCertificate(template(), presigned);
    });
  const [ours, keygen, raw, checked, encoder] = await bench.run();
  const certsPerSecond = meanOpsPerSecond(ours);
  const sshKeygenCertsPerSecond = meanOpsPerSecond(keygen);
  const rawSignaturesPerSecond = meanOpsPerSecond(raw) * BATCH;
  const signerSignaturesPerSecond = meanOpsPerSecond(checked) * BATCH;
  return {
    certsPerSecond,
    sshKeygenCertsPerSecond,
    ratio: certsPerSecond / sshKeygenCertsPerSecond,
    rawSignaturesPerSecond,
    signerSignaturesPerSecond,
    encoderOverheadPct: (rawSignaturesPerSecond / (meanOpsPerSecond(encoder) * BATCH)) * 100,
    signerCheckPct: (rawSignaturesPerSecond / signerSignaturesPerSecond - 1) * 100,
  };
}

/** The bytes a certificate's signature covers, as the encoder hands them to the signer, and that signature. */
async function signedBytes(
  t: CertificateTemplate,
  signer: Signer,
): Promise<{ signed: Uint8Array; signature: Buffer }> {
  let seen: { signed: Uint8Array; signature: Buffer } | undefined;
  await createCertificate(t, {
    ...signer,
    sign: async (data) => {
      const signature = await signer.sign(data);
      seen = { signed: data, signature };
      return signature;
    },
  });
  if (seen === undefined) throw new Error('the encoder asked for no signature');
  return seen;
}

/** The digest node:crypto signs with for the signer's algorithm (Ed25519 takes none). */
function rawHashOf(signer: Signer): string | null {
  if (signer.algorithm === 'ssh-ed25519') return null;
  if (signer.algorithm === 'rsa-sha2-512') return 'sha512';
  return {
    'ecdsa-sha2-nistp256': 'sha256',
    'ecdsa-sha2-nistp384': 'sha384',
    'ecdsa-sha2-nistp521': 'sha512',
  }[signer.algorithm];
}

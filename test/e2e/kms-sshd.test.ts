/**
 * DESIGN §3.5 end to end: for every supported KMS key spec, a user certificate signed through the
 * KMS signer (JSON client → KMS stand-in) logs in to a real OpenSSH sshd that trusts that CA key.
 * One sshd trusts all the CA keys; a KMS key it does not trust is the control.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { KeySpec } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshLogin } from '../../client/lib/ssh-args.js';
import { createCertificate, parsePublicKey, randomSerial } from '../../src/cert/index.js';
import { kmsClient, type KmsClient } from '../../src/aws/kms-json.js';
import { trySsh } from '../../src/local/instance.js';
import { startKmsStandin, type KmsStandin } from '../../src/local/kms-standin.js';
import { generateKeyPair, type KeyPair } from '../../src/local/openssh.js';
import { startSshd, type Sshd } from '../../src/local/sshd.js';
import { kmsSigner } from '../../src/signer/kms.js';
import type { Signer } from '../../src/signer/signer.js';

const REGION = 'us-east-1';
const LOGIN_USER = userInfo().username;
const PRINCIPAL = 'lkp-kms-e2e';
const HOST_ALIAS = 'lkp-kms-e2e-host';
const MARKER = 'lkp-kms-ok';
const SPECS: readonly KeySpec[] = [
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_EDWARDS25519',
];

let dir: string;
let kms: KmsStandin;
let client: KmsClient;
let sshd: Sshd;
let userKey: KeyPair;
let knownHostsPath: string;
const signers = new Map<KeySpec, Signer>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-kms-sshd-'));
  kms = await startKmsStandin({ stateDir: join(dir, 'kms'), region: REGION });
  client = kmsClient({ region: REGION, endpoint: kms.url, credentials: kms.credentials });
  await Promise.all(
    SPECS.map(async (spec) => signers.set(spec, await kmsSigner((await kms.createKey(spec)).arn, client))),
  );
  const hostKey = await generateKeyPair(dir, 'ssh_host_ed25519_key');
  userKey = await generateKeyPair(dir, 'id_ed25519');
  knownHostsPath = join(dir, 'known_hosts');
  writeFileSync(knownHostsPath, `${HOST_ALIAS} ${hostKey.publicKey}\n`);
  sshd = await startSshd({
    dir: join(dir, 'sshd'),
    trustedUserCaKeys: SPECS.map((spec) => signers.get(spec)?.publicKey ?? ''),
    hostKeyPath: hostKey.privatePath,
    principals: { [LOGIN_USER]: [PRINCIPAL] },
  });
});

afterAll(async () => {
  await sshd?.close();
  client?.destroy();
  await kms?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function loginWith(signer: Signer, name: string): Promise<SshLogin> {
  const now = Math.floor(Date.now() / 1000);
  const cert = await createCertificate(
    {
      kind: 'user',
      publicKey: parsePublicKey(userKey.publicKey),
      serial: randomSerial(),
      keyId: `kms-e2e-${name}`,
      principals: [PRINCIPAL],
      validAfter: now - 60,
      validBefore: now + 600,
      criticalOptions: {},
      extensions: ['permit-pty'],
    },
    signer,
  );
  const certificatePath = join(dir, `${name}-cert.pub`);
  writeFileSync(certificatePath, `${cert.line}\n`);
  return {
    user: LOGIN_USER,
    host: '127.0.0.1',
    port: sshd.port,
    keyPath: userKey.privatePath,
    certificatePath,
    knownHostsPath,
    hostKeyAlias: HOST_ALIAS,
  };
}

describe('sshd accepts certificates signed through KMS', () => {
  it.each(SPECS)('logs in with a certificate from a %s KMS key', async (spec) => {
    const signer = signers.get(spec);
    if (signer === undefined) throw new Error(`no signer for ${spec}`);
    const outcome = await trySsh(await loginWith(signer, spec), ['echo', MARKER]);
    expect(outcome).toMatchObject({ ok: true, stdout: `${MARKER}\n` });
    expect(sshd.log()).toContain(`ID kms-e2e-${spec}`);
  });

  it('refuses a certificate from a KMS key the sshd does not trust', async () => {
    const untrusted = await kmsSigner((await kms.createKey('ECC_NIST_P256')).arn, client);
    const outcome = await trySsh(await loginWith(untrusted, 'untrusted'), ['echo', MARKER]);
    expect(outcome.ok).toBe(false);
    expect(outcome.stderr).toMatch(/Permission denied/);
  });
});

/**
 * End to end against a real OpenSSH sshd: certificates from the local stack (STS stand-in +
 * `lkp-ca serve`) log in; wrong ones do not. sshd is the judge, not our own parser.
 */
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownHostsLine, type SshLogin } from '../../client/lib/ssh-args.js';
import {
  createCertificate,
  parsePublicKey,
  randomSerial,
  type CertificateTemplate,
} from '../../src/cert/index.js';
import { loginFor, requestUserCertificate, trySsh, type LocalInstance } from '../../src/local/instance.js';
import { generateKeyPair, type KeyPair } from '../../src/local/openssh.js';
import { LOCAL_INSTANCE_ARN, type LocalStack } from '../../src/local/stack.js';
import type { InfoResponse } from '../../src/protocol.js';
import { fileSigner } from '../../src/signer/file.js';
import type { Signer } from '../../src/signer/signer.js';
import { startSshLoginFixture, type SshLoginFixture } from '../helpers/ssh-login.js';

const loginUser = userInfo().username;
const principal = `${loginUser}@${LOCAL_INSTANCE_ARN}`;
const MARKER = 'lkp-e2e-ok';

let fixture: SshLoginFixture | undefined;
let stack: LocalStack;
let info: InfoResponse;
let instance: LocalInstance;
let userKey: KeyPair;
let login: SshLogin;

beforeAll(async () => {
  fixture = await startSshLoginFixture(loginUser, 'id_ed25519');
  ({ stack, info, instance, userKey } = fixture);
  login = loginFor(instance, loginUser, userKey.privatePath, fixture.userCertificatePath);
});

afterAll(async () => {
  await fixture?.close();
});

/** Signs a certificate for the user key directly with a CA key file, to control each field. */
async function forge(
  signer: Signer,
  name: string,
  overrides: Partial<CertificateTemplate> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const cert = await createCertificate(
    {
      kind: 'user',
      publicKey: parsePublicKey(userKey.publicKey),
      serial: randomSerial(),
      keyId: 'forged',
      principals: [principal],
      validAfter: now - 60,
      validBefore: now + 600,
      criticalOptions: {},
      extensions: ['permit-pty'],
      ...overrides,
    },
    signer,
  );
  const path = join(stack.dir, `${name}-cert.pub`);
  writeFileSync(path, `${cert.line}\n`);
  return path;
}

describe('login to a real sshd with lkp certificates', () => {
  it('logs in with the issued certificate, verifying the host by its certificate', async () => {
    const outcome = await trySsh(login, ['echo', MARKER]);
    expect(outcome.stderr).not.toMatch(/WARNING|Host key verification failed/);
    expect(outcome).toMatchObject({ ok: true, stdout: `${MARKER}\n` });
  });

  it('refuses a certificate issued for another unix user', async () => {
    const other = await requestUserCertificate(
      stack,
      info,
      userKey,
      'ec2-user',
      join(stack.dir, 'ec2-user-cert.pub'),
    );
    expect(other.cert.Principals).toEqual([`ec2-user@${LOCAL_INSTANCE_ARN}`]);
    const outcome = await trySsh({ ...login, certificatePath: other.certificatePath }, ['echo', MARKER]);
    expect(outcome.ok).toBe(false);
    expect(outcome.stderr).toMatch(/Permission denied/);
  });

  it('accepts a certificate forged with the CA key itself, the control for the cases below', async () => {
    const signer = await stack.caSigner();
    const outcome = await trySsh({ ...login, certificatePath: await forge(signer, 'control') }, [
      'echo',
      MARKER,
    ]);
    expect(outcome.ok).toBe(true);
  });

  it('refuses an expired certificate', async () => {
    const signer = await stack.caSigner();
    const now = Math.floor(Date.now() / 1000);
    const path = await forge(signer, 'expired', { validAfter: now - 7200, validBefore: now - 3600 });
    const outcome = await trySsh({ ...login, certificatePath: path }, ['echo', MARKER]);
    expect(outcome.ok).toBe(false);
    expect(instance.sshd.log()).toMatch(/expired|not yet valid|Certificate invalid/i);
  });

  it('refuses a certificate from another CA', async () => {
    const rogue = await fileSigner((await generateKeyPair(stack.dir, 'rogue_ca')).privatePath);
    const outcome = await trySsh({ ...login, certificatePath: await forge(rogue, 'rogue') }, [
      'echo',
      MARKER,
    ]);
    expect(outcome.ok).toBe(false);
    expect(outcome.stderr).toMatch(/Permission denied/);
  });

  it('refuses a host certificate offered as a user certificate', async () => {
    const hostKeyPath = instance.hostCertificatePath.replace(/-cert\.pub$/, '');
    const outcome = await trySsh(
      { ...login, keyPath: hostKeyPath, certificatePath: instance.hostCertificatePath },
      ['echo', MARKER],
    );
    expect(outcome.ok).toBe(false);
  });

  it('refuses to connect when the host certificate is not from the trusted CA', async () => {
    const rogue = await generateKeyPair(stack.dir, 'rogue_host_ca');
    const knownHostsPath = join(stack.dir, 'rogue_known_hosts');
    writeFileSync(knownHostsPath, `${knownHostsLine(rogue.publicKey)}\n`);
    const outcome = await trySsh({ ...login, knownHostsPath }, ['echo', MARKER]);
    expect(outcome.ok).toBe(false);
    expect(outcome.stderr).toMatch(/Host key verification failed/);
  });

  it('refuses to connect when the host certificate names another instance', async () => {
    const outcome = await trySsh(
      { ...login, hostKeyAlias: 'arn:aws:ec2:us-east-1:111122223333:instance/i-0fedcba9876543210' },
      ['echo', MARKER],
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.stderr).toMatch(/Host key verification failed|Certificate invalid/);
  });
});

describe('the host certificate from the local stack', () => {
  it('names the instance ARN and only the addresses EC2 confirmed', () => {
    expect(instance.hostCertificate.Principals).toEqual([LOCAL_INSTANCE_ARN, '127.0.0.1', 'localhost']);
  });

  it('lets ssh verify the host by address, without an alias', async () => {
    const outcome = await trySsh({ ...login, hostKeyAlias: '127.0.0.1' }, ['echo', MARKER]);
    expect(outcome).toMatchObject({ ok: true, stdout: `${MARKER}\n` });
  });
});

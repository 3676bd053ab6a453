/**
 * The local stand-in for an EC2 instance set up by lkp: a host certificate requested with the
 * instance's role session, and an sshd that presents it and trusts the CA for user logins.
 * Shared by the `npm start` demo and the end-to-end tests.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requestCertificate } from '../../client/lib/certificates.js';
import { knownHostsLine, sshArgs, type SshLogin } from '../../client/lib/ssh-args.js';
import type { CertResponse, InfoResponse } from '../protocol.js';
import { generateKeyPair, type KeyPair } from './openssh.js';
import { startSshd, type Sshd } from './sshd.js';
import { LOCAL_INSTANCE_ARN, type LocalStack } from './stack.js';

const run = promisify(execFile);

/** An instance a user can log in to: its sshd, and a known_hosts file trusting host certificates from the CA. */
export interface ReachableInstance {
  sshd: Sshd;
  hostCertificatePath: string;
  knownHostsPath: string;
}

export interface LocalInstance extends ReachableInstance {
  hostCertificate: CertResponse;
}

export async function startLocalInstance(
  stack: LocalStack,
  info: InfoResponse,
  loginUser: string,
): Promise<LocalInstance> {
  // A folder of its own: a stack may start more than one instance (the benchmark does).
  // Traversable like the stack's own folder is made for a login user (sshd reads the principals file
  // as that user); the stack's folder still decides who may enter at all.
  const dir = mkdtempSync(join(stack.dir, 'instance-'));
  chmodSync(dir, 0o711);
  const hostKey = await generateKeyPair(dir, 'ssh_host_ed25519_key');
  const hostCert = await requestCertificate(stack.caUrl, info, stack.host.credentials, {
    Kind: 'Host',
    PublicKey: hostKey.publicKey,
    HostInstanceArn: LOCAL_INSTANCE_ARN,
    // Signed only if EC2 (the stand-in) confirms they are this instance's addresses.
    Principals: ['127.0.0.1', 'localhost'],
  });
  const hostCertificatePath = writeCertificate(hostKey.privatePath, hostCert);
  const sshd = await startSshd({
    dir: join(dir, 'sshd'),
    trustedUserCaKeys: info.CaPublicKeys,
    hostKeyPath: hostKey.privatePath,
    hostCertificatePath,
    // What `lkp host` will configure: the principal names both the login and the instance (DESIGN §3.4).
    principals: { [loginUser]: [`${loginUser}@${LOCAL_INSTANCE_ARN}`] },
  });
  return {
    sshd,
    hostCertificate: hostCert,
    hostCertificatePath,
    knownHostsPath: writeKnownHosts(stack, info),
  };
}

/** A known_hosts file trusting host certificates from the CA (`@cert-authority *`). */
export function writeKnownHosts(stack: LocalStack, info: InfoResponse): string {
  const knownHostsPath = join(stack.dir, 'known_hosts');
  writeFileSync(knownHostsPath, info.CaPublicKeys.map((k) => `${knownHostsLine(k)}\n`).join(''));
  return knownHostsPath;
}

/** Asks the CA, as the stack's IAM user, for a certificate to log in as `sshUsername`. */
export async function requestUserCertificate(
  stack: LocalStack,
  info: InfoResponse,
  key: KeyPair,
  sshUsername: string,
  certificatePath = `${key.privatePath}-cert.pub`,
): Promise<{ cert: CertResponse; certificatePath: string }> {
  const cert = await requestCertificate(stack.caUrl, info, stack.user.credentials, {
    Kind: 'User',
    PublicKey: key.publicKey,
    RemoteInstanceArn: LOCAL_INSTANCE_ARN,
    SshUsername: sshUsername,
  });
  writeFileSync(certificatePath, `${cert.Certificate}\n`);
  return { cert, certificatePath };
}

export function loginFor(
  instance: ReachableInstance,
  user: string,
  keyPath: string,
  certificatePath: string,
): SshLogin {
  return {
    user,
    host: '127.0.0.1',
    port: instance.sshd.port,
    keyPath,
    certificatePath,
    knownHostsPath: instance.knownHostsPath,
    hostKeyAlias: LOCAL_INSTANCE_ARN,
  };
}

export interface SshOutcome {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs the system ssh; a refused login is an outcome, not an exception. */
export async function trySsh(login: SshLogin, command: readonly string[]): Promise<SshOutcome> {
  try {
    const { stdout, stderr } = await run('ssh', sshArgs(login, command), { timeout: 20_000 });
    return { ok: true, stdout, stderr };
  } catch (e) {
    const { stdout = '', stderr = '' } = e as { stdout?: string; stderr?: string };
    return { ok: false, stdout, stderr: stderr || String(e) };
  }
}

/** Next to the private key, as ssh's default CertificateFile naming expects. */
function writeCertificate(privateKeyPath: string, cert: CertResponse): string {
  const path = `${privateKeyPath}-cert.pub`;
  writeFileSync(path, `${cert.Certificate}\n`);
  return path;
}

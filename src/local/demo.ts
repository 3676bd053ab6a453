/**
 * The demo of `npm start`: an instance gets a host certificate, a user gets a user certificate
 * for a fresh key, and the system ssh logs in to a real sshd with it; then a certificate for
 * another unix user is refused. Each step is printed.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fetchCaInfo, requestCertificate } from '../../client/lib/certificates.js';
import { knownHostsLine, sshArgs, type SshLogin } from '../../client/lib/ssh-args.js';
import type { CertResponse, InfoResponse } from '../protocol.js';
import { describeCertificate, generateKeyPair } from './openssh.js';
import { startSshd, type Sshd } from './sshd.js';
import { LOCAL_INSTANCE_ARN, type LocalStack } from './stack.js';

const run = promisify(execFile);

export interface DemoResult {
  sshd: Sshd;
  login: SshLogin;
  loginOutput: string;
}

export async function runDemo(stack: LocalStack, say: (line: string) => void): Promise<DemoResult> {
  const loginUser = userInfo().username;
  const info = await fetchCaInfo(stack.caUrl);
  say(`CA public key: ${info.CaPublicKeys[0]}`);

  say(`Instance ${LOCAL_INSTANCE_ARN} asks for a host certificate as ${stack.host.arn}`);
  const hostKey = await generateKeyPair(stack.dir, 'ssh_host_ed25519_key');
  const hostCert = await requestCertificate(stack.caUrl, info, stack.host.credentials, {
    Kind: 'Host',
    PublicKey: hostKey.publicKey,
    HostInstanceArn: LOCAL_INSTANCE_ARN,
    Principals: [],
  });
  const hostCertPath = writeCertificate(hostKey.privatePath, hostCert);
  say(summary(await describeCertificate(hostCertPath)));

  const sshd = await startSshd({
    dir: join(stack.dir, 'sshd'),
    trustedUserCaKeys: info.CaPublicKeys,
    hostKeyPath: hostKey.privatePath,
    hostCertificatePath: hostCertPath,
    principals: { [loginUser]: [`${loginUser}@${LOCAL_INSTANCE_ARN}`] },
  });
  say(`sshd listening on 127.0.0.1:${sshd.port}, trusting the CA for users and presenting its host certificate`);

  say(`${stack.user.arn} asks for a certificate to log in as ${loginUser} on ${LOCAL_INSTANCE_ARN}`);
  const userKey = await generateKeyPair(stack.dir, 'id_ed25519');
  const userCert = await requestCertificate(stack.caUrl, info, stack.user.credentials, {
    Kind: 'User',
    PublicKey: userKey.publicKey,
    RemoteInstanceArn: LOCAL_INSTANCE_ARN,
    SshUsername: loginUser,
  });
  const login: SshLogin = {
    user: loginUser,
    host: '127.0.0.1',
    port: sshd.port,
    keyPath: userKey.privatePath,
    certificatePath: writeCertificate(userKey.privatePath, userCert),
    knownHostsPath: join(stack.dir, 'known_hosts'),
    hostKeyAlias: LOCAL_INSTANCE_ARN,
  };
  writeFileSync(login.knownHostsPath, `${knownHostsLine(info.CaPublicKeys[0] ?? '')}\n`);
  say(summary(await describeCertificate(login.certificatePath)));

  const args = sshArgs(login, ['echo', `"logged in as $(whoami) on $(hostname) with an lkp certificate"`]);
  say(`$ ssh ${args.join(' ')}`);
  const { stdout } = await run('ssh', args, { timeout: 20_000 });
  say(`    ${stdout.trim()}`);

  await showRefusedLogin(stack, info, login, say);
  return { sshd, login, loginOutput: stdout };
}

/** The principal names the login, so a certificate for another unix user must not get in. */
async function showRefusedLogin(
  stack: LocalStack,
  info: InfoResponse,
  login: SshLogin,
  say: (line: string) => void,
): Promise<void> {
  const otherUser = login.user === 'ec2-user' ? 'admin' : 'ec2-user';
  const cert = await requestCertificate(stack.caUrl, info, stack.user.credentials, {
    Kind: 'User',
    PublicKey: readFileSync(`${login.keyPath}.pub`, 'utf8'),
    RemoteInstanceArn: LOCAL_INSTANCE_ARN,
    SshUsername: otherUser,
  });
  const certificatePath = join(stack.dir, 'other-user-cert.pub');
  writeFileSync(certificatePath, `${cert.Certificate}\n`);
  say(`A certificate for ${otherUser} (principal ${cert.Principals.join(', ')}) tries to log in as ${login.user}`);
  try {
    await run('ssh', sshArgs({ ...login, certificatePath }, ['true']), { timeout: 20_000 });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    say(`    refused by sshd, as it must be: ${stderr.trim().split('\n').pop() ?? ''}`);
    return;
  }
  throw new Error(`sshd accepted a certificate for ${otherUser} as ${login.user}: the principal check is broken`);
}

/** Next to the private key, as ssh's default CertificateFile naming expects. */
function writeCertificate(privateKeyPath: string, cert: CertResponse): string {
  const path = `${privateKeyPath}-cert.pub`;
  writeFileSync(path, `${cert.Certificate}\n`);
  return path;
}

/** The lines of `ssh-keygen -L` a person wants to see. */
function summary(listing: string): string {
  return listing
    .split('\n')
    .filter((l) => /^\s*(Type|Key ID|Serial|Valid|Principals|Signing CA|Extensions):?/.test(l) || /^\s{16}\S/.test(l))
    .map((l) => `  ${l.replace(/^\s{0,6}/, '')}`)
    .join('\n');
}

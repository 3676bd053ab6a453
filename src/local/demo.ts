/**
 * The demo of `npm start`: an instance gets a host certificate, a user gets a user certificate
 * for a fresh key, and the system ssh logs in to a real sshd with it; then a certificate for
 * another unix user is refused. Each step is printed.
 */
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { sshArgs, type SshLogin } from '../../client/lib/ssh-args.js';
import {
  loginFor,
  requestUserCertificate,
  startLocalInstance,
  trySsh,
  type LocalInstance,
} from './instance.js';
import { describeCertificate, generateKeyPair } from './openssh.js';
import { LOCAL_INSTANCE_ARN, type LocalStack } from './stack.js';

export interface DemoResult {
  instance: LocalInstance;
  login: SshLogin;
}

export async function runDemo(stack: LocalStack, say: (line: string) => void): Promise<DemoResult> {
  const loginUser = userInfo().username;
  const info = await fetchCaInfo(stack.caUrl);
  say(`CA public key: ${info.CaPublicKeys[0]}`);

  say(`Instance ${LOCAL_INSTANCE_ARN} asks for a host certificate as ${stack.host.arn}`);
  const instance = await startLocalInstance(stack, info, loginUser);
  say(summary(await describeCertificate(instance.hostCertificatePath)));
  say(
    `sshd listening on 127.0.0.1:${instance.sshd.port}, trusting the CA for users and presenting its host certificate`,
  );

  say(`${stack.user.arn} asks for a certificate to log in as ${loginUser} on ${LOCAL_INSTANCE_ARN}`);
  const userKey = await generateKeyPair(stack.dir, 'id_ed25519');
  const { certificatePath } = await requestUserCertificate(stack, info, userKey, loginUser);
  say(summary(await describeCertificate(certificatePath)));

  const login = loginFor(instance, loginUser, userKey.privatePath, certificatePath);
  const command = ['echo', `"logged in as $(whoami) on $(hostname) with an lkp certificate"`];
  say(`$ ssh ${sshArgs(login, command).join(' ')}`);
  const outcome = await trySsh(login, command);
  if (!outcome.ok) throw new Error(`ssh failed: ${outcome.stderr.trim()}\nsshd log:\n${instance.sshd.log()}`);
  say(`    ${outcome.stdout.trim()}`);

  // The principal names the login, so a certificate for another unix user must not get in.
  const otherUser = loginUser === 'ec2-user' ? 'admin' : 'ec2-user';
  const other = await requestUserCertificate(
    stack,
    info,
    userKey,
    otherUser,
    join(stack.dir, 'other-user-cert.pub'),
  );
  say(
    `A certificate for ${otherUser} (principal ${other.cert.Principals.join(', ')}) tries to log in as ${loginUser}`,
  );
  const refused = await trySsh({ ...login, certificatePath: other.certificatePath }, ['true']);
  if (refused.ok)
    throw new Error(
      `sshd accepted a certificate for ${otherUser} as ${loginUser}: the principal check is broken`,
    );
  say(`    refused by sshd, as it must be: ${refused.stderr.trim().split('\n').pop() ?? ''}`);
  return { instance, login };
}

/** The lines of `ssh-keygen -L` a person wants to see. */
function summary(listing: string): string {
  return listing
    .split('\n')
    .filter(
      (l) =>
        /^\s*(Type|Key ID|Serial|Valid|Principals|Signing CA|Extensions):?/.test(l) || /^\s{16}\S/.test(l),
    )
    .map((l) => `  ${l.replace(/^\s{0,6}/, '')}`)
    .join('\n');
}

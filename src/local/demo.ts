/**
 * The demo of `npm start`: the demo instance gets a host certificate and an sshd; then, as a person
 * would, the everyday path runs from a throwaway HOME with the built `lkp` — `lkp setup`, `lkp ssh
 * <Name tag>`, plain `ssh <instance id>`, `scp` — against that real sshd; then a certificate for
 * another unix user is refused. Each step is printed.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import type { InfoResponse } from '../protocol.js';
import type { DemoPolicy } from './demo-policy.js';
import { runEiceDemo } from './demo-eice.js';
import { everydayLines, runInThrowawayHome } from './everyday.js';
import {
  loginFor,
  requestUserCertificate,
  startLocalInstance,
  trySsh,
  writeKnownHosts,
  type ReachableInstance,
} from './instance.js';
import { startAgentInstance } from './host-agent.js';
import { describeCertificate, generateKeyPair } from './openssh.js';
import {
  builtFile,
  LOCAL_INSTANCE_ARN,
  LOCAL_INSTANCE_ID,
  LOCAL_INSTANCE_NAME,
  type LocalStack,
} from './stack.js';

export interface DemoResult {
  instance: ReachableInstance;
  /** The everyday path, as run: what `--keep-running` prints. */
  lines: string[];
}

/** The unix user the demo logs in as (this machine's sshd serves real accounts), and one it must not. */
export function demoLogins(): { login: string; otherUser: string } {
  const login = userInfo().username;
  return { login, otherUser: login === 'ec2-user' ? 'admin' : 'ec2-user' };
}

export async function runDemo(
  stack: LocalStack,
  policy: DemoPolicy,
  say: (line: string) => void,
): Promise<DemoResult> {
  const { login, otherUser } = demoLogins();
  const info = await fetchCaInfo(stack.caUrl);
  say(`CA public key: ${info.CaPublicKeys[0]}`);

  const instance = await setUpDemoHost(stack, info, login, say);
  // The sshd listens on a random port: the policy sends lkp there (TargetAddress host:port).
  const address = `127.0.0.1:${instance.sshd.port}`;
  policy.setTargetAddress(address);
  say(`The access policy sends ${stack.user.arn} to ${address} as ${login} or ${otherUser}`);

  const lines = everydayLines({
    caUrl: stack.caUrl,
    ec2Url: stack.ec2.url,
    region: stack.ec2.region,
    credentials: stack.user.credentials,
    login,
    nameTag: LOCAL_INSTANCE_NAME,
    instanceId: LOCAL_INSTANCE_ID,
  });
  const home = join(stack.dir, 'home');
  mkdirSync(home);
  say(`As ${stack.user.arn}, from a throwaway HOME (${home}), with the built lkp:`);
  const bin = lkpBinDir(stack.dir);
  const run = await runInThrowawayHome(lines, {
    home,
    path: [bin, dirname(process.execPath)],
    onLine: (line) => say(`    ${line}`),
  });
  if (run.code !== 0)
    throw new Error(`the everyday path failed (exit ${run.code})\nsshd log:\n${instance.sshd.log()}`);

  await refuseOtherUser(stack, info, instance, login, otherUser, say);
  // The policy no longer names an address: lkp finds its own way to the private instance.
  policy.setTargetAddress(undefined);
  try {
    await runEiceDemo(stack, { sshdPort: instance.sshd.port, login, lkpBinDir: bin }, say);
  } finally {
    policy.setTargetAddress(address);
  }
  return { instance, lines };
}

/**
 * The host side, as on EC2: a bare instance runs lkp-host-agent, which reads the IMDS stand-in,
 * asks the CA for its host certificate with the instance role's session and writes the sshd
 * drop-in; an sshd then starts on that configuration. sshd runs the agent's principals command
 * only as root: without root the instance gets its host certificate directly instead.
 */
async function setUpDemoHost(
  stack: LocalStack,
  info: InfoResponse,
  login: string,
  say: (line: string) => void,
): Promise<ReachableInstance> {
  if (process.getuid?.() !== 0) {
    say(`Instance ${LOCAL_INSTANCE_ARN} asks for a host certificate as ${stack.host.arn}`);
    say(
      '  (not root: the demo host is set up without lkp-host-agent, whose principals command sshd runs only as root)',
    );
    const instance = await startLocalInstance(stack, info, login);
    stack.adopt(instance.sshd);
    say(summary(await describeCertificate(instance.hostCertificatePath)));
    say(`sshd listening on 127.0.0.1:${instance.sshd.port}`);
    return instance;
  }
  const host = stack.adopt(await startAgentInstance(stack));
  say(
    `Instance ${LOCAL_INSTANCE_ARN} runs lkp-host-agent (root folder ${host.root}, IMDS stand-in ${host.imds.url}):`,
  );
  const setUp = await host.runAgent();
  for (const line of setUp.stderr.trimEnd().split('\n')) say(`    ${line}`);
  if (setUp.code !== 0) throw new Error(`lkp-host-agent failed (exit ${setUp.code})`);
  const hostCertificatePath = join(host.root, 'etc/ssh/ssh_host_ed25519_key-cert.pub');
  say(summary(await describeCertificate(hostCertificatePath)));
  const sshd = await host.startSshd();
  say(
    `sshd listening on 127.0.0.1:${sshd.port} with the agent's drop-in: it presents the host certificate and trusts the CA for users`,
  );
  return { sshd, hostCertificatePath, knownHostsPath: writeKnownHosts(stack, info) };
}

/** The principal names the login, so a certificate for another unix user must not get in. */
async function refuseOtherUser(
  stack: LocalStack,
  info: InfoResponse,
  instance: ReachableInstance,
  login: string,
  otherUser: string,
  say: (line: string) => void,
): Promise<void> {
  const key = await generateKeyPair(stack.dir, 'id_ed25519');
  const other = await requestUserCertificate(stack, info, key, otherUser);
  say(
    `A certificate for ${otherUser} (principal ${other.cert.Principals.join(', ')}) tries to log in as ${login}`,
  );
  const refused = await trySsh(loginFor(instance, login, key.privatePath, other.certificatePath), ['true']);
  if (refused.ok)
    throw new Error(
      `sshd accepted a certificate for ${otherUser} as ${login}: the principal check is broken`,
    );
  say(`    refused by sshd, as it must be: ${refused.stderr.trim().split('\n').pop() ?? ''}`);
}

/** A folder holding `lkp` → the built bundle, for PATH: the lines say `lkp`, as a person types it. */
function lkpBinDir(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(builtFile('lkp.cjs'), join(bin, 'lkp'));
  return bin;
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

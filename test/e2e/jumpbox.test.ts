/**
 * End to end through a jumpbox: a policy routes the target through a bastion, the CA signs a
 * jumpbox certificate beside the user certificate, and the system ssh hops through a second real
 * sshd (the bastion) to the instance with the ssh_config lkp writes. sshd judges both hops, and
 * the jumpbox certificate must be a hop only: no command on the bastion, no login on the target.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { targetSshConfig } from '../../client/lib/ssh-config.js';
import { parseCertificate } from '../../src/cert/index.js';
import {
  loginFor,
  requestUserCertificate,
  startLocalInstance,
  trySsh,
  type LocalInstance,
} from '../../src/local/instance.js';
import { generateKeyPair, type KeyPair } from '../../src/local/openssh.js';
import { startSshd, type Sshd } from '../../src/local/sshd.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import type { CertResponse } from '../../src/protocol.js';
import { runProgram } from '../helpers/run-node.js';

const login = userInfo().username;
// The bastion presents the instance's own host certificate, which names 127.0.0.1.
const HOST_NAME = '127.0.0.1';
const JUMP_ALIAS = 'lkp-jump-e2e';
const MARKER = 'lkp-jumpbox-e2e-ok';

let policyDir: string;
let stack: LocalStack;
let instance: LocalInstance | undefined;
let bastion: Sshd | undefined;
let userKey: KeyPair;
let issued: CertResponse;
let jumpCertificatePath: string;
let configPath: string;

beforeAll(async () => {
  policyDir = mkdtempSync(join(tmpdir(), 'lkp-jumpbox-policy-'));
  stack = await startLocalStack({ policyModule: writeRoutingPolicy(policyDir) });
  const info = await fetchCaInfo(stack.caUrl);
  instance = await startLocalInstance(stack, info, login);
  userKey = await generateKeyPair(stack.dir, 'id_jumpbox_e2e');
  const user = await requestUserCertificate(stack, info, userKey, login);
  issued = user.cert;
  jumpCertificatePath = join(stack.dir, 'id_jumpbox_e2e-jump-cert.pub');
  writeFileSync(jumpCertificatePath, `${issued.Jumpboxes?.[0]?.Certificate ?? ''}\n`);
  bastion = await startSshd({
    dir: join(stack.dir, 'bastion'),
    trustedUserCaKeys: info.CaPublicKeys,
    hostKeyPath: instance.hostCertificatePath.replace(/-cert\.pub$/, ''),
    hostCertificatePath: instance.hostCertificatePath,
    // What the policy's default jumpbox principal is: <User>@<HostKeyAlias>.
    principals: { [login]: [`${login}@${HOST_NAME}`] },
  });
  configPath = join(stack.dir, 'jumpbox_ssh_config');
  const config = targetSshConfig({
    host: 'target',
    user: login,
    address: issued.TargetAddress ?? '',
    hostKeyAlias: HOST_NAME,
    identityFile: userKey.privatePath,
    certificateFile: user.certificatePath,
    knownHostsFile: instance.knownHostsPath,
    jumpboxes: [
      {
        alias: JUMP_ALIAS,
        address: issued.Jumpboxes?.[0]?.Address ?? '',
        user: issued.Jumpboxes?.[0]?.User ?? '',
        hostKeyAlias: issued.Jumpboxes?.[0]?.HostKeyAlias ?? '',
        certificateFile: jumpCertificatePath,
      },
    ],
    comment: 'jumpbox e2e',
  });
  // Jumpboxes listen on 22 in AWS; this bastion is on a free port, which only the test adds.
  writeFileSync(
    configPath,
    config.replace(`Host ${JUMP_ALIAS}\n`, `Host ${JUMP_ALIAS}\n  Port ${bastion.port}\n`),
  );
});

afterAll(async () => {
  await bastion?.close();
  await instance?.sshd.close();
  await stack?.close();
  rmSync(policyDir, { recursive: true, force: true });
});

/** The policy module the Lambda stand-in runs: every user target is behind one bastion. */
function writeRoutingPolicy(dir: string): string {
  const path = join(dir, 'routing-policy.mjs');
  const jumpbox = { Address: HOST_NAME, User: login, HostKeyAlias: HOST_NAME };
  writeFileSync(
    path,
    `export const handler = async (event) =>
  event.Kind === 'LkpUserCertAuthorizationRequest'
    ? { Authorized: true, Jumpboxes: [${JSON.stringify(jumpbox)}], TargetAddress: '127.0.0.1' }
    : { Authorized: true };
`,
  );
  return path;
}

const ssh = (args: string[]) =>
  runProgram('ssh', ['-F', configPath, '-o', 'BatchMode=yes', ...args], { timeout: 20_000 });

describe('ssh through a jumpbox with lkp certificates', () => {
  it('the CA answers with the route and a port-forwarding certificate for the bastion', () => {
    expect(issued.TargetAddress).toBe('127.0.0.1');
    const jump = parseCertificate(issued.Jumpboxes?.[0]?.Certificate ?? '');
    expect(jump.principals).toEqual([`${login}@${HOST_NAME}`]);
    expect(jump.extensions).toEqual(['permit-port-forwarding']);
    expect(Object.keys(jump.criticalOptions)).toEqual(['force-command']);
  });

  it('logs in to the target through the bastion, each hop with its own certificate', async () => {
    const hop = await ssh(['-l', login, '-p', String(instance?.sshd.port), 'target', 'echo', MARKER]);
    expect(hop).toMatchObject({ code: 0, stdout: `${MARKER}\n` });
    const jumpSerial = parseCertificate(issued.Jumpboxes?.[0]?.Certificate ?? '').serial;
    const mainSerial = parseCertificate(issued.Certificate).serial;
    expect(bastion?.log()).toMatch(new RegExp(`Accepted certificate ID .* \\(serial ${jumpSerial}\\)`));
    expect(instance?.sshd.log()).toMatch(new RegExp(`Accepted certificate ID .* \\(serial ${mainSerial}\\)`));
  });

  it('the jumpbox certificate runs no command on the bastion', async () => {
    const shell = await ssh([JUMP_ALIAS, 'echo', 'ran-on-bastion']);
    expect(shell.stdout).not.toContain('ran-on-bastion');
    expect(shell.stdout).toContain('lkp: this certificate only forwards connections through this jumpbox');
    expect(shell.code).not.toBe(0);
  });

  it('the jumpbox certificate does not log in to the target', async () => {
    if (!instance) throw new Error('no instance');
    const direct = await trySsh(loginFor(instance, login, userKey.privatePath, jumpCertificatePath), [
      'echo',
      'ran-on-target',
    ]);
    expect(direct.ok).toBe(false);
    expect(direct.stdout).not.toContain('ran-on-target');
  });
});

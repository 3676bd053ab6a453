/**
 * End to end through a jumpbox: a policy routes the target through a bastion, the CA signs a
 * jumpbox certificate beside the user certificate, and the system ssh hops through a bastion set up
 * by lkp-host-agent (a real sshd on the agent's configuration) to the instance, with the ssh_config
 * lkp writes. The jumpbox certificate is a hop to the routed target only (DESIGN §3.4, issue 15
 * item 1): no command on the bastion, no login on the target, and -W/-L/-D/-R to anything else —
 * the metadata service, the bastion's loopback, a unix socket — are refused by the bastion's sshd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { targetSshConfig } from '../../client/lib/ssh-config.js';
import { parseCertificate } from '../../src/cert/index.js';
import { startAgentInstance, type AgentInstance } from '../../src/local/host-agent.js';
import {
  loginFor,
  requestUserCertificate,
  startLocalInstance,
  trySsh,
  type LocalInstance,
} from '../../src/local/instance.js';
import { generateKeyPair, type KeyPair } from '../../src/local/openssh.js';
import { stopChild } from '../../src/local/process.js';
import { freePort, type Sshd } from '../../src/local/sshd.js';
import { LOCAL_INSTANCE_ARN, startLocalStack, type LocalStack } from '../../src/local/stack.js';
import type { CertResponse } from '../../src/protocol.js';
import { runProgram } from '../helpers/run-node.js';

// A test makes up to three logins through the bastion: on a busy machine each can take 20 s and more.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const login = userInfo().username;
/** The hop needs no privileges, and a bastion set up by lkp refuses jumpbox logins as root. */
const JUMP_USER = 'nobody';
const JUMP_ALIAS = 'lkp-jump-e2e';
const MARKER = 'lkp-jumpbox-e2e-ok';
const asRoot = process.getuid?.() === 0;

let policyDir: string;
let stack: LocalStack;
let instance: LocalInstance | undefined;
let bastionHost: AgentInstance | undefined;
let bastion: Sshd | undefined;
let userKey: KeyPair;
let issued: CertResponse;
let jumpCertificatePath: string;
let configPath: string;
let targetAddress: string;

beforeAll(async () => {
  if (!asRoot) return;
  policyDir = mkdtempSync(join(tmpdir(), 'lkp-jumpbox-policy-'));
  stack = await startLocalStack({ policyModule: writeRoutingPolicy(policyDir) });
  const info = await fetchCaInfo(stack.caUrl);
  instance = await startLocalInstance(stack, info, login);
  // The bastion and its target share this machine's loopback: only here may a route name it.
  bastionHost = await startAgentInstance(stack, { loopbackRoutes: true });
  const setUp = await bastionHost.runAgent();
  if (setUp.code !== 0) throw new Error(`lkp-host-agent failed:\n${setUp.stderr}`);
  bastion = await bastionHost.startSshd();
  targetAddress = `127.0.0.1:${instance.sshd.port}`;
  writeFileSync(
    join(policyDir, 'route.json'),
    JSON.stringify({ bastion: `127.0.0.1:${bastion.port}`, target: targetAddress }),
  );
  userKey = await generateKeyPair(stack.dir, 'id_jumpbox_e2e');
  const user = await requestUserCertificate(stack, info, userKey, login);
  issued = user.cert;
  jumpCertificatePath = join(stack.dir, 'id_jumpbox_e2e-jump-cert.pub');
  writeFileSync(jumpCertificatePath, `${issued.Jumpboxes?.[0]?.Certificate ?? ''}\n`);
  configPath = join(stack.dir, 'jumpbox_ssh_config');
  writeFileSync(
    configPath,
    targetSshConfig({
      host: 'target',
      user: login,
      address: issued.TargetAddress ?? '',
      hostKeyAlias: LOCAL_INSTANCE_ARN,
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
    }),
  );
});

afterAll(async () => {
  await bastionHost?.close();
  await instance?.sshd.close();
  await stack?.close();
  if (policyDir) rmSync(policyDir, { recursive: true, force: true });
});

/** The policy module the Lambda stand-in runs: every user target is behind one bastion (addresses from route.json). */
function writeRoutingPolicy(dir: string): string {
  const path = join(dir, 'routing-policy.mjs');
  writeFileSync(
    path,
    `import { readFileSync } from 'node:fs';
export const handler = async (event) => {
  if (event.Kind !== 'LkpUserCertAuthorizationRequest') return { Authorized: true };
  const route = JSON.parse(readFileSync(new URL('./route.json', import.meta.url), 'utf8'));
  return {
    Authorized: true,
    TargetAddress: route.target,
    Jumpboxes: [{ Address: route.bastion, User: ${JSON.stringify(JUMP_USER)}, HostKeyAlias: ${JSON.stringify(LOCAL_INSTANCE_ARN)} }],
  };
};
`,
  );
  return path;
}

const ssh = (args: string[]) =>
  runProgram('ssh', ['-F', configPath, '-o', 'BatchMode=yes', ...args], { timeout: 30_000 });

describe.skipIf(!asRoot)('ssh through a bastion set up by lkp-host-agent', () => {
  it('the CA answers with the route and a certificate naming the bastion’s next hop', () => {
    expect(issued.TargetAddress).toBe(targetAddress);
    const jump = parseCertificate(issued.Jumpboxes?.[0]?.Certificate ?? '');
    expect(jump.principals).toEqual([
      `${JUMP_USER}@${LOCAL_INSTANCE_ARN}`,
      'lkp-jumpbox',
      `lkp-permitopen=${targetAddress}`,
    ]);
    expect(jump.extensions).toEqual(['permit-port-forwarding']);
    expect(Object.keys(jump.criticalOptions)).toEqual(['force-command']);
  });

  it('logs in to the routed target through the bastion, each hop with its own certificate', async () => {
    const hop = await ssh(['target', 'echo', MARKER]);
    expect(hop).toMatchObject({ code: 0, stdout: `${MARKER}\n` });
    const jumpSerial = parseCertificate(issued.Jumpboxes?.[0]?.Certificate ?? '').serial;
    const mainSerial = parseCertificate(issued.Certificate).serial;
    expect(bastion?.log()).toMatch(new RegExp(`Accepted certificate ID .* \\(serial ${jumpSerial}\\)`));
    expect(instance?.sshd.log()).toMatch(new RegExp(`Accepted certificate ID .* \\(serial ${mainSerial}\\)`));
  });

  it('the jumpbox certificate runs no command on the bastion', async () => {
    const shell = await ssh([JUMP_ALIAS, 'echo', 'ran-on-bastion']);
    expect(shell.stdout).not.toContain('ran-on-bastion');
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

  it.each([
    ['the metadata service', () => '169.254.169.254:80'],
    ['the IPv6 metadata service', () => '[fd00:ec2::254]:80'],
    ['the bastion’s own sshd on loopback', () => `127.0.0.1:${bastion?.port}`],
    ['another port of the routed host', () => '127.0.0.1:1'],
  ])('-W to %s is refused', async (_, destination) => {
    const hop = await ssh(['-W', destination(), JUMP_ALIAS]);
    expect(hop.code).not.toBe(0);
    expect(hop.stderr).toMatch(/administratively prohibited|open failed/);
  });

  it('-L to a unix socket on the bastion is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkp-socket-'));
    const socket = join(dir, 's.sock');
    let reached = 0;
    const server = await listen(
      createServer((c) => {
        reached++;
        c.end('socket-reached\n');
      }),
      socket,
    );
    // Reachable by the jump user, so only the bastion's sshd configuration can stop it.
    chmodSync(dir, 0o755);
    chmodSync(socket, 0o777);
    try {
      expect(await throughLocalForward(socket)).toBe('');
      expect(reached).toBe(0);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('-L reaches the routed target and nothing else', async () => {
    expect(await throughLocalForward(targetAddress)).toMatch(/^SSH-2\.0-/);
    expect(await throughLocalForward(`127.0.0.1:${bastion?.port}`)).toBe('');
    expect(await throughLocalForward('169.254.169.254:80')).toBe('');
  });

  it('-D (SOCKS) connects to the routed target and nothing else', async () => {
    const port = await freePort();
    const child = spawnSsh(['-N', '-D', `127.0.0.1:${port}`, JUMP_ALIAS]);
    try {
      await waitForPort(port);
      expect(await socksConnect(port, '127.0.0.1', Number(targetAddress.split(':')[1]))).toBe(0);
      expect(await socksConnect(port, '127.0.0.1', bastion?.port ?? 0)).not.toBe(0);
      expect(await socksConnect(port, '169.254.169.254', 80)).not.toBe(0);
    } finally {
      await stopChild(child);
    }
  });

  it('-R is refused', async () => {
    const remote = await ssh([
      '-N',
      '-o',
      'ExitOnForwardFailure=yes',
      '-R',
      `127.0.0.1:${await freePort()}:127.0.0.1:22`,
      JUMP_ALIAS,
    ]);
    expect(remote.code).not.toBe(0);
    expect(remote.stderr).toMatch(/remote port forwarding failed/);
  });
});

function spawnSsh(args: string[]): ChildProcess {
  return spawn('ssh', ['-F', configPath, '-o', 'BatchMode=yes', '-o', 'ExitOnForwardFailure=yes', ...args], {
    stdio: 'ignore',
  });
}

/** Opens `ssh -L` to `destination` through the bastion, connects once, and returns what came back (empty: refused). */
async function throughLocalForward(destination: string): Promise<string> {
  const port = await freePort();
  const child = spawnSsh(['-N', '-L', `127.0.0.1:${port}:${destination}`, JUMP_ALIAS]);
  try {
    await waitForPort(port);
    return await firstBytes(port);
  } finally {
    await stopChild(child);
  }
}

function listen(server: Server, path: string): Promise<Server> {
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

/** The first bytes the forwarded connection delivers ('' when it is closed without any). */
function firstBytes(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    let data = '';
    s.on('data', (d: Buffer) => {
      data += d.toString();
      s.destroy();
      resolve(data);
    });
    s.once('close', () => resolve(data));
    s.once('error', () => resolve(data));
    s.setTimeout(15_000, () => s.destroy());
  });
}

/** A SOCKS5 CONNECT through ssh -D; resolves to the reply code (0: connected). */
function socksConnect(port: number, host: string, targetPort: number): Promise<number> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    let stage = 0;
    s.once('connect', () => s.write(Buffer.from([5, 1, 0])));
    s.on('data', (d: Buffer) => {
      if (stage === 0) {
        stage = 1;
        const octets = host.split('.').map(Number);
        s.write(Buffer.from([5, 1, 0, 1, ...octets, targetPort >> 8, targetPort & 0xff]));
        return;
      }
      s.destroy();
      resolve(d[1] ?? -1);
    });
    s.once('close', () => resolve(-1));
    s.once('error', () => resolve(-1));
    s.setTimeout(15_000, () => s.destroy());
  });
}

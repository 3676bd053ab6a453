/**
 * A local EC2 instance set up by the host agent (dist/lkp-host-agent), as on AWS: a bare root folder
 * holding only an sshd_config, an IMDS stand-in serving the instance's identity and its role's
 * credentials, the agent run against the local CA, and a real sshd started on what it wrote. Used by
 * the `npm start` demo and the end-to-end tests.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startImdsStandin, type ImdsInstance, type ImdsStandin } from './imds-standin.js';
import { freePort, spawnSshd, type Sshd } from './sshd.js';
import {
  builtFile,
  LOCAL_ACCOUNT,
  LOCAL_INSTANCE_ID,
  LOCAL_INSTANCE_ROLE,
  LOCAL_REGION,
  type LocalStack,
} from './stack.js';

export interface AgentRun {
  code: number;
  /** The agent logs every step on stderr (and to syslog). */
  stderr: string;
  stdout: string;
}

export interface AgentInstance {
  /** The instance's file system root: the agent writes etc/ssh, var/lib/lkp… under it. */
  root: string;
  imds: ImdsStandin;
  /** `lkp-host-agent <args>` under the root, with the IMDS stand-in; default args: run against the stack's CA. */
  runAgent(args?: readonly string[], env?: Record<string, string>): Promise<AgentRun>;
  /** sshd on the root's sshd_config (which includes the agent's drop-in), on a free loopback port. */
  startSshd(): Promise<Sshd>;
  close(): Promise<void>;
}

export interface AgentInstanceOptions {
  /** The bastion and its target share this machine's loopback in tests (see the agent's --test-allow-loopback-routes). */
  loopbackRoutes?: boolean;
}

/** The agent as `npm run build` ships it (dist/lkp-host-agent, a copy of host/lkp-host-agent). */
export const hostAgentPath = (): string => builtFile('lkp-host-agent');

/**
 * sshd runs the agent as its AuthorizedPrincipalsCommand only as root, and only when every folder
 * above it is root-owned and not writable by others: the root lives under /run, not /tmp (1777).
 */
export async function startAgentInstance(
  stack: LocalStack,
  opts: AgentInstanceOptions = {},
): Promise<AgentInstance> {
  if (process.getuid?.() !== 0)
    throw new Error(
      'an instance set up by lkp-host-agent needs root (sshd runs its principals command as root)',
    );
  const imds = await startImdsStandin(localInstanceMetadata(stack));
  const root = mkdtempSync('/run/lkp-instance-');
  chmodSync(root, 0o755);
  const port = await freePort();
  mkdirSync(join(root, 'etc/ssh'), { recursive: true, mode: 0o755 });
  writeFileSync(join(root, 'etc/ssh/sshd_config'), bareSshdConfig(root, port));
  const agent = hostAgentPath();
  const defaultArgs = ['run', '--ca', stack.caUrl, '--no-reload'];
  if (opts.loopbackRoutes) defaultArgs.push('--test-allow-loopback-routes');
  const sshds: Sshd[] = [];
  return {
    root,
    imds,
    runAgent: (args = defaultArgs, env = {}) =>
      new Promise((resolve) => {
        execFile(
          '/bin/bash',
          [agent, ...args],
          {
            env: {
              PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
              LKP_HOST_ROOT: root,
              LKP_HOST_IMDS_ENDPOINT: imds.url,
              ...env,
            },
            timeout: 120_000,
          },
          (error, stdout, stderr) => {
            const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
            resolve({ code, stdout, stderr });
          },
        );
      }),
    async startSshd() {
      const sshd = await spawnSshd(join(root, 'etc/ssh/sshd_config'), port, join(root, 'sshd.log'));
      sshds.push(sshd);
      return sshd;
    },
    async close() {
      for (const sshd of sshds) await sshd.close();
      await imds.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** What IMDS says about the local instance: its identity, loopback addresses and its role's credentials. */
export function localInstanceMetadata(stack: LocalStack): ImdsInstance {
  const { accessKeyId, secretAccessKey, sessionToken } = stack.host.credentials;
  return {
    region: LOCAL_REGION,
    account: LOCAL_ACCOUNT,
    instanceId: LOCAL_INSTANCE_ID,
    localIpv4: '127.0.0.1',
    localHostname: 'localhost',
    role: {
      name: LOCAL_INSTANCE_ROLE.roleName,
      accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
    },
  };
}

/** What a stock image's sshd_config amounts to here: it includes sshd_config.d, listens on loopback, and has no passwords. */
function bareSshdConfig(root: string, port: number): string {
  return [
    `Include ${root}/etc/ssh/sshd_config.d/*.conf`,
    `ListenAddress 127.0.0.1:${port}`,
    'AuthorizedKeysFile none',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'PidFile none',
    'LogLevel VERBOSE',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

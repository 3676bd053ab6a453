/**
 * What the client benchmarks share: a local instance (a real sshd trusting the CA), an EC2 stand-in
 * answering with the user's own credentials, and a throwaway HOME set up by `lkp setup`, in which
 * `dist/lkp.cjs` runs as shipped. With `eice`, EC2 shows the instance with only a private IP and an
 * endpoint in its subnet, so lkp reaches it through `lkp tunnel` and the stack's EICE stand-in.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fetchCaInfo } from '../client/lib/certificates.js';
import { startEc2Standin } from '../src/local/ec2-standin.js';
import { startLocalInstance, type LocalInstance } from '../src/local/instance.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_EICE,
  LOCAL_INSTANCE_ID,
  LOCAL_INSTANCES,
  LOCAL_PRIVATE_INSTANCES,
  LOCAL_PRIVATE_IP,
  LOCAL_REGION,
  type LocalStack,
  userEnvironment,
} from '../src/local/stack.js';
import { builtFile } from './stack.js';

const run = promisify(execFile);

export interface Timed {
  ms: number;
  stdout: string;
}

export interface ClientSession {
  home: string;
  env: Record<string, string>;
  instance: LocalInstance;
  /** `<login>@<instance id>` */
  target: string;
  /** What follows `--` on every `lkp ssh`: the sshd's port and the remote command. */
  remote: string[];
  lkp(...args: string[]): Promise<Timed>;
  /** The ssh command `lkp ssh target -- remote` runs, as `--dry-run --json` prints it, certificate cached. */
  sshCommand(): Promise<{ ssh: string; args: string[] }>;
  close(): Promise<void>;
}

export async function startClientSession(
  stack: LocalStack,
  opts: { eice?: boolean } = {},
): Promise<ClientSession> {
  const login = userInfo().username;
  const instance = await startLocalInstance(stack, await fetchCaInfo(stack.caUrl), login);
  // The client looks the instance up with the caller's own credentials, as it would in AWS.
  const ec2 = await startEc2Standin({
    region: LOCAL_REGION,
    account: LOCAL_ACCOUNT,
    credentials: stack.user.credentials,
    ...(opts.eice
      ? { instances: LOCAL_PRIVATE_INSTANCES, instanceConnectEndpoints: [LOCAL_EICE] }
      : { instances: LOCAL_INSTANCES }),
  });
  if (opts.eice)
    stack.eice.setRoutes([{ privateIp: LOCAL_PRIVATE_IP, remotePort: 22, localPort: instance.sshd.port }]);
  const home = mkdtempSync(join(tmpdir(), 'lkp-bench-home-'));
  const env = userEnvironment(stack, home, ec2.url, opts.eice ? { LKP_EICE_URL: stack.eice.url } : {});
  const cli = builtFile('lkp.cjs');
  const lkp = (...args: string[]) => timed(process.execPath, [cli, ...args], env);
  const target = `${login}@${LOCAL_INSTANCE_ID}`;
  // Through an endpoint the port is the instance's (22, which the stand-in maps to the sshd's).
  const remote = opts.eice ? ['true'] : ['-p', String(instance.sshd.port), 'true'];
  try {
    await lkp('setup', '--url', stack.caUrl, '--default-user', login);
  } catch (e) {
    await close();
    throw e;
  }
  async function close() {
    rmSync(home, { recursive: true, force: true });
    await ec2.close();
    await instance.sshd.close();
  }
  return {
    home,
    env,
    instance,
    target,
    remote,
    lkp,
    async sshCommand() {
      const dryRun = JSON.parse(
        (await lkp('ssh', target, '--dry-run', '--json', '--', ...remote)).stdout,
      ) as {
        command: string[];
        certificate: { cached: boolean };
      };
      if (!dryRun.certificate.cached) throw new Error('lkp ssh did not reuse its cached certificate');
      const [ssh = 'ssh', ...args] = dryRun.command;
      return { ssh, args };
    },
    close,
  };
}

export async function timed(file: string, args: string[], env: Record<string, string>): Promise<Timed> {
  const started = performance.now();
  try {
    const { stdout } = await run(file, args, { env, timeout: 30_000 });
    return { ms: performance.now() - started, stdout };
  } catch (e) {
    const { stderr = '' } = e as { stderr?: string };
    throw new Error(`${file} ${args.slice(0, 3).join(' ')} … failed: ${stderr.trim().slice(0, 500)}`);
  }
}

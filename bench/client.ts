/**
 * Client (issue item 4): `lkp ssh <user>@<instance> -- true` into the local sshd with a cached
 * certificate, against the very ssh command it runs (`lkp ssh --dry-run --json` prints it) run
 * directly; and a first connection, which asks the CA for a fresh certificate.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fetchCaInfo } from '../client/lib/certificates.js';
import { startEc2Standin } from '../src/local/ec2-standin.js';
import { startLocalInstance } from '../src/local/instance.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_INSTANCE_ID,
  LOCAL_INSTANCES,
  LOCAL_REGION,
  type LocalStack,
} from '../src/local/stack.js';
import { builtFile } from './stack.js';
import { median } from './stats.js';

const run = promisify(execFile);

export interface ClientFigures {
  /**
   * `lkp ssh … true` with a cached certificate minus the same ssh command run directly: the median
   * of the differences within each interleaved pair, so a slow stretch of the machine cancels out.
   */
  addedMs: number;
  /** Median `lkp ssh … true` with no cached certificate (key kept): proof, CA request, ssh. */
  firstConnectionMs: number;
  cachedLkpSshMs: number;
  plainSshMs: number;
  /** Median spawn of `node -e 0` to its exit, in the same interleaved runs: Node's own share of addedMs. */
  nodeStartMs: number;
  runs: number;
}

export async function benchClient(stack: LocalStack, opts: { runs: number }): Promise<ClientFigures> {
  const login = userInfo().username;
  const info = await fetchCaInfo(stack.caUrl);
  const instance = await startLocalInstance(stack, info, login);
  // The client looks the instance up with the caller's own credentials, as it would in AWS.
  const ec2 = await startEc2Standin({
    region: LOCAL_REGION,
    account: LOCAL_ACCOUNT,
    credentials: stack.user.credentials,
    instances: LOCAL_INSTANCES,
  });
  const home = mkdtempSync(join(tmpdir(), 'lkp-bench-home-'));
  try {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ACCESS_KEY_ID: stack.user.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: stack.user.credentials.secretAccessKey,
      AWS_REGION: LOCAL_REGION,
      AWS_ENDPOINT_URL_EC2: ec2.url,
    };
    const cli = builtFile('lkp.cjs');
    const lkp = (...args: string[]) => timed(process.execPath, [cli, ...args], env);
    await lkp('setup', '--url', stack.caUrl, '--default-user', login);
    const target = `${login}@${LOCAL_INSTANCE_ID}`;
    const remote = ['-p', String(instance.sshd.port), 'true'];

    const firsts: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      rmSync(join(home, '.lkp', 'certs'), { recursive: true, force: true });
      firsts.push((await lkp('ssh', target, '--', ...remote)).ms);
    }
    const dryRun = JSON.parse((await lkp('ssh', target, '--dry-run', '--json', '--', ...remote)).stdout) as {
      command: string[];
      certificate: { cached: boolean };
    };
    if (!dryRun.certificate.cached) throw new Error('lkp ssh did not reuse its cached certificate');
    const [ssh = 'ssh', ...sshArgs] = dryRun.command;
    const cached: number[] = [];
    const plain: number[] = [];
    const node: number[] = [];
    // Interleaved, so a noisy neighbour slows all three alike.
    for (let i = 0; i < opts.runs; i++) {
      cached.push((await lkp('ssh', target, '--', ...remote)).ms);
      plain.push((await timed(ssh, sshArgs, env)).ms);
      node.push((await timed(process.execPath, ['-e', '0'], env)).ms);
    }
    return {
      addedMs: median(cached.map((ms, i) => ms - (plain[i] ?? ms))),
      firstConnectionMs: median(firsts),
      cachedLkpSshMs: median(cached),
      plainSshMs: median(plain),
      nodeStartMs: median(node),
      runs: opts.runs,
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
    await ec2.close();
    await instance.sshd.close();
  }
}

async function timed(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  try {
    const { stdout } = await run(file, args, { env, timeout: 30_000 });
    return { ms: performance.now() - started, stdout };
  } catch (e) {
    const { stderr = '' } = e as { stderr?: string };
    throw new Error(`${file} ${args.slice(0, 3).join(' ')} … failed: ${stderr.trim().slice(0, 500)}`);
  }
}

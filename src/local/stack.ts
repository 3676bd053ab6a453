/**
 * The local stack (DESIGN §6): an STS stand-in and the real `lkp-ca serve` process, configured
 * through the same environment variables as the Lambda, all on loopback with no AWS account.
 */
import { spawn } from 'node:child_process';
import { stopChild } from './process.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair } from './openssh.js';
import {
  startStsStandin,
  type LocalPrincipal,
  type LocalPrincipalSpec,
  type StsStandin,
} from './sts-standin.js';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '111122223333';
export const LOCAL_SERVER_ID = 'lkp-local';
export const LOCAL_INSTANCE_ID = 'i-0123456789abcdef0';
export const LOCAL_INSTANCE_ARN = `arn:aws:ec2:${LOCAL_REGION}:${LOCAL_ACCOUNT}:instance/${LOCAL_INSTANCE_ID}`;

export interface LocalStack {
  /** A temp folder for keys and state, removed by close(). */
  dir: string;
  sts: StsStandin;
  caUrl: string;
  /** The CA's private key file (LKP_CA_KEY=file:…), for tests that forge certificates with it. */
  caKeyPath: string;
  /** An IAM user who asks for user certificates. */
  user: LocalPrincipal;
  /** The instance's role session (assumed-role/<role>/<instance id>), which asks for its host certificate. */
  host: LocalPrincipal;
  /** Every line the CA wrote on stdout (its audit log). */
  caOutput(): string;
  close(): Promise<void>;
}

export interface LocalStackOptions {
  /** Extra environment for the CA process (e.g. LKP_USER_CERT_TTL). */
  caEnv?: Record<string, string>;
  /** More identities the STS stand-in knows, after the user and the host (tests: root, other accounts). */
  extraPrincipals?: LocalPrincipalSpec[];
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const dir = mkdtempSync(join(tmpdir(), 'lkp-local-'));
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const sts = await startStsStandin({
      region: LOCAL_REGION,
      principals: [
        { arn: `arn:aws:iam::${LOCAL_ACCOUNT}:user/alice` },
        { arn: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/lkp-demo-instance/${LOCAL_INSTANCE_ID}` },
        ...(opts.extraPrincipals ?? []),
      ],
    });
    cleanups.push(() => sts.close());
    const [user, host] = sts.principals as [LocalPrincipal, LocalPrincipal];

    const caKey = await generateKeyPair(dir, 'ca_key', 'ed25519');
    const ca = await startCaProcess({
      LKP_CA_KEY: `file:${caKey.privatePath}`,
      LKP_SERVER_ID: LOCAL_SERVER_ID,
      LKP_ALLOWED_ACCOUNTS: LOCAL_ACCOUNT,
      AWS_REGION: LOCAL_REGION,
      AWS_ENDPOINT_URL_STS: sts.url,
      ...opts.caEnv,
    });
    cleanups.push(ca.stop);
    return { dir, sts, caUrl: ca.url, caKeyPath: caKey.privatePath, user, host, caOutput: ca.output, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The built `lkp-ca` (dist/src/cli.js), whether this module runs from dist/ or from the sources under vitest. */
function caCliPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the lkp package root');
    dir = parent;
  }
  const cli = join(dir, 'dist', 'src', 'cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
  return cli;
}

/** Starts `lkp-ca serve --port 0` and waits for its `listening on …` line. */
export async function startCaProcess(
  env: Record<string, string>,
): Promise<{ url: string; output(): string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [caCliPath(), 'serve', '--port', '0'], {
    env: { PATH: process.env.PATH ?? '', AWS_EC2_METADATA_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lkp-ca did not start within 10 s:\n${stderr}`)), 10_000);
    child.stdout?.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lkp-ca exited with code ${code}:\n${stderr}`));
    });
  });
  return { url, output: () => stdout, stop: () => stopChild(child) };
}

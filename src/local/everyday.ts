/**
 * The everyday path against the local stack (DESIGN §6): the shell lines a person types — the
 * user's keys, `lkp setup`, `lkp ssh <Name tag>`, plain `ssh <instance id>` and `scp` — which
 * `npm start` runs in a throwaway HOME and then prints, the same lines, for you to try.
 */
import { spawn } from 'node:child_process';
import type { SigningCredentials } from './sigv4-verify.js';

export interface EverydayTarget {
  caUrl: string;
  ec2Url: string;
  region: string;
  /** The user's keys; the STS and EC2 stand-ins accept them. */
  credentials: SigningCredentials;
  login: string;
  nameTag: string;
  instanceId: string;
}

/** Where `scp` puts the file it copies, relative to the working folder. */
export const SCP_COPY = 'lkp-demo-hostname';

export function everydayLines(t: EverydayTarget): string[] {
  return [
    // A profile or session token in the environment would win over (or spoil) the keys below.
    'unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN',
    `export AWS_ACCESS_KEY_ID=${t.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${t.credentials.secretAccessKey} AWS_REGION=${t.region} AWS_ENDPOINT_URL_EC2=${t.ec2Url}`,
    `lkp setup --url ${t.caUrl} --default-user ${t.login}`,
    `lkp ssh ${t.nameTag} -- whoami`,
    `ssh ${t.instanceId} whoami`,
    `scp ${t.instanceId}:/etc/hostname ${SCP_COPY}`,
  ];
}

/**
 * Runs the lines in one bash (so exports carry over), stopping at the first failure, with HOME set
 * to `home` and `path` first on PATH (where `lkp` is). ssh reads ~/.ssh/config from the passwd
 * entry's home, not from $HOME, so in a throwaway HOME ssh and scp are told where it is (-F);
 * for a person in their own HOME the lines need no such help.
 */
export function runInThrowawayHome(
  lines: readonly string[],
  opts: { home: string; path: readonly string[]; onLine?: (line: string) => void; timeoutMs?: number },
): Promise<{ code: number; output: string }> {
  const script = [
    'set -e',
    'ssh() { command ssh -F "$HOME/.ssh/config" "$@"; }',
    'scp() { command scp -F "$HOME/.ssh/config" "$@"; }',
    ...lines.flatMap((line) => [`printf '%s\\n' ${shellQuote(`$ ${line}`)}`, line]),
  ].join('\n');
  const child = spawn('bash', ['-c', script], {
    cwd: opts.home,
    env: {
      PATH: [...opts.path, process.env.PATH ?? '/usr/bin:/bin'].join(':'),
      HOME: opts.home,
      // No instance metadata lookups from a laptop or a CI runner.
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let partial = '';
  const take = (chunk: Buffer) => {
    output += chunk.toString();
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) opts.onLine?.(line);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (partial) opts.onLine?.(partial);
      resolve({ code: code ?? 1, output });
    });
  });
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

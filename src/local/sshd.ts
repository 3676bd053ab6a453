/**
 * A throwaway OpenSSH sshd on a free loopback port that trusts a CA: the demo's target and
 * the end-to-end tests' judge. It runs as the current user, so only that user can log in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stopChild } from './process.js';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { findSshd } from './openssh.js';

export interface SshdOptions {
  /** Folder for the config, principals files and log; the caller owns and removes it. */
  dir: string;
  trustedUserCaKeys: readonly string[];
  hostKeyPath: string;
  hostCertificatePath?: string;
  /** unix user → the certificate principals accepted for that user (AuthorizedPrincipalsFile). */
  principals: Readonly<Record<string, readonly string[]>>;
}

export interface Sshd {
  port: number;
  logPath: string;
  log(): string;
  close(): Promise<void>;
}

export async function startSshd(opts: SshdOptions): Promise<Sshd> {
  const principalsDir = join(opts.dir, 'principals');
  mkdirSync(principalsDir, { recursive: true });
  for (const [user, names] of Object.entries(opts.principals))
    writeFileSync(join(principalsDir, user), names.map((n) => `${n}\n`).join(''));
  const caPath = join(opts.dir, 'trusted_user_ca_keys');
  writeFileSync(caPath, opts.trustedUserCaKeys.map((k) => `${k}\n`).join(''));

  const port = await freePort();
  const configPath = join(opts.dir, 'sshd_config');
  writeFileSync(configPath, sshdConfig({ ...opts, port, caPath, principalsDir }));
  return spawnSshd(configPath, port, join(opts.dir, 'sshd.log'));
}

/** Runs `sshd -D -e -f configPath` (which listens on `port`), logging to `logPath`; ready once it answers with a banner. */
export async function spawnSshd(configPath: string, port: number, logPath: string): Promise<Sshd> {
  const sshd = findSshd();
  if (sshd === undefined)
    throw new Error('OpenSSH sshd was not found; install it (Debian/Ubuntu: apt-get install openssh-server)');
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
  const logFd = openSync(logPath, 'w');
  const child = spawn(sshd, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', logFd] });
  closeSync(logFd);
  const log = () => readFileSync(logPath, 'utf8');
  await waitForBanner(port, child, log);
  return { port, logPath, log, close: () => stopChild(child) };
}

function sshdConfig(o: SshdOptions & { port: number; caPath: string; principalsDir: string }): string {
  return [
    `ListenAddress 127.0.0.1:${o.port}`,
    `HostKey ${o.hostKeyPath}`,
    ...(o.hostCertificatePath ? [`HostCertificate ${o.hostCertificatePath}`] : []),
    `TrustedUserCAKeys ${o.caPath}`,
    `AuthorizedPrincipalsFile ${o.principalsDir}/%u`,
    // Certificates only: no authorized_keys, no passwords.
    'AuthorizedKeysFile none',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    // The files live in a temp folder that sshd's ownership checks would reject.
    'StrictModes no',
    'PidFile none',
    'LogLevel VERBOSE',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

/** A loopback port nothing listens on: bind, note it, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Ready when the port answers with an SSH banner; fails fast with sshd's own words if it exits. */
export async function waitForBanner(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with code ${child.exitCode}:\n${log()}`);
    if (await hasBanner(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error(`sshd did not start on 127.0.0.1:${port} within 10 s:\n${log()}`);
}

function hasBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (d) => done(d.toString().startsWith('SSH-')));
    socket.once('error', () => done(false));
  });
}

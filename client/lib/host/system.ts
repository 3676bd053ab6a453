/**
 * The commands `lkp host` runs on the machine: ssh-keygen, sshd -t, the sshd reload and the
 * renewal timer. One runner, so --dry-run prints exactly what a real run would execute.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findSshd } from '../../../src/local/openssh.js';
import { readIfExists } from './files.js';
import { RENEW_UNIT } from './layout.js';

export type CommandRunner = (argv: readonly string[]) => Promise<string>;

const exec = promisify(execFile);

export const runCommand: CommandRunner = async ([file, ...args]) => {
  if (file === undefined) throw new Error('empty command');
  try {
    return (await exec(file, args, { timeout: 60_000 })).stdout;
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new Error(`${[file, ...args].join(' ')} failed${stderr ? `: ${stderr}` : ''}`, { cause: e });
  }
};

/** systemd is the init when /run/systemd/system exists (sd_booted), looked up under --root like every path. */
export function hasSystemd(root: string): boolean {
  return existsSync(join(root, 'run/systemd/system'));
}

/** Debian and Ubuntu name the unit ssh.service (sshd.service is only an alias there); Amazon Linux and RHEL sshd.service. */
export function sshServiceName(root: string): 'ssh' | 'sshd' {
  const dirs = ['etc/systemd/system', 'usr/lib/systemd/system', 'lib/systemd/system'];
  return dirs.some((d) => existsSync(join(root, d, 'ssh.service'))) ? 'ssh' : 'sshd';
}

export function sshdBinary(): string {
  const sshd = findSshd();
  if (sshd === undefined) throw new Error('sshd was not found: install openssh-server first');
  return sshd;
}

/**
 * `sshd -t` on what the configuration will be, before it is live: a temporary main config that
 * includes the new drop-in first and then the (new) sshd_config.
 */
export async function validateSshdConfig(
  run: CommandRunner,
  sshd: string,
  staged: { dropIn: string; sshdConfig: string },
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lkp-sshd-check-'));
  try {
    const dropIn = join(dir, 'lkp.conf');
    const main = join(dir, 'sshd_config');
    const config = join(dir, 'check.conf');
    writeFileSync(dropIn, staged.dropIn);
    writeFileSync(main, staged.sshdConfig);
    writeFileSync(config, `Include ${dropIn}\nInclude ${main}\n`);
    await run([sshd, '-t', '-f', config]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reload, not restart: open sessions survive. try-reload-or-restart does nothing when sshd is not running (socket activation). */
export function reloadCommands(root: string): string[][] {
  if (hasSystemd(root)) return [['systemctl', 'try-reload-or-restart', `${sshServiceName(root)}.service`]];
  // Without systemd: SIGHUP makes sshd re-execute itself with the new configuration.
  const pid = readIfExists(join(root, 'run/sshd.pid'))?.trim();
  return pid && /^\d+$/.test(pid) ? [['kill', '-HUP', pid]] : [];
}

/** Enable the timer: on the live system now; under another --root only its symlinks (systemctl --root). */
export function enableTimerCommands(root: string): string[][] {
  const timer = `${RENEW_UNIT}.timer`;
  return root === '/'
    ? [
        ['systemctl', 'daemon-reload'],
        ['systemctl', 'enable', '--now', timer],
      ]
    : [['systemctl', `--root=${root}`, 'enable', timer]];
}

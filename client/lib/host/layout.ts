/** Where `lkp host` reads and writes, all under --root (tests and staging never touch the real /etc/ssh). */
import { dirname, isAbsolute, join } from 'node:path';

export const DEFAULT_SSHD_CONFIG_DIR = '/etc/ssh/sshd_config.d';
export const DEFAULT_HOST_KEY = '/etc/ssh/ssh_host_ed25519_key';
export const DROP_IN_NAME = '50-lkp.conf';
export const RENEW_UNIT = 'lkp-host-renew';

export interface HostLayout {
  root: string;
  sshdConfig: string;
  sshdConfigBackup: string;
  dropInDir: string;
  dropIn: string;
  hostKey: string;
  hostPublicKey: string;
  hostCertificate: string;
  /** The other default host keys, kept offered next to ours (a HostKey line replaces sshd's defaults). */
  otherHostKeys: string[];
  trustedCaKeys: string;
  principalsScript: string;
  /** What we asked the CA for last time: the CA drops names it cannot confirm, so the certificate alone cannot tell. */
  stateFile: string;
  systemdDir: string;
  cronFile: string;
}

export function hostLayout(o: { root: string; sshdConfigDir: string; hostKey: string }): HostLayout {
  for (const [flag, path] of [
    ['--root', o.root],
    ['--sshd-config-dir', o.sshdConfigDir],
    ['--host-key', o.hostKey],
  ] as const) {
    if (!isAbsolute(path)) throw new Error(`${flag} must be an absolute path, got '${path}'`);
  }
  const at = (path: string) => join(o.root, path);
  const sshDir = dirname(o.sshdConfigDir);
  const hostKey = at(o.hostKey);
  return {
    root: o.root,
    sshdConfig: at(join(sshDir, 'sshd_config')),
    sshdConfigBackup: at(join(sshDir, 'sshd_config.lkp-backup')),
    dropInDir: at(o.sshdConfigDir),
    dropIn: at(join(o.sshdConfigDir, DROP_IN_NAME)),
    hostKey,
    hostPublicKey: `${hostKey}.pub`,
    hostCertificate: `${hostKey}-cert.pub`,
    otherHostKeys: ['ssh_host_ecdsa_key', 'ssh_host_rsa_key']
      .map((name) => at(join(sshDir, name)))
      .filter((path) => path !== hostKey),
    trustedCaKeys: at(join(sshDir, 'lkp_trusted_user_ca_keys')),
    principalsScript: at('/usr/local/libexec/lkp-principals'),
    stateFile: at('/var/lib/lkp/host.json'),
    systemdDir: at('/etc/systemd/system'),
    cronFile: at(`/etc/cron.d/${RENEW_UNIT}`),
  };
}

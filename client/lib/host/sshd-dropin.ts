/**
 * The sshd side of a host set up by `lkp host` (DESIGN §3.4, §4): a drop-in that presents the
 * host certificate and trusts the CA for user logins, and the AuthorizedPrincipalsCommand that
 * makes the only accepted principal `<login>@<instance ARN>`.
 */
import { dirname, join } from 'node:path';

const HEADER = '# Written by `lkp host`; rewritten on every run, edits are lost.';
const ARN_PATTERN = /^arn:aws(-cn|-us-gov)?:ec2:[a-z0-9-]+:\d{12}:instance\/i-[0-9a-f]{8,17}$/;

export interface DropInPaths {
  hostKeys: readonly string[];
  hostCertificate: string;
  trustedCaKeys: string;
  principalsScript: string;
}

export function renderDropIn(p: DropInPaths): string {
  return [
    HEADER,
    ...p.hostKeys.map((k) => `HostKey ${sshdPath(k)}`),
    `HostCertificate ${sshdPath(p.hostCertificate)}`,
    `TrustedUserCAKeys ${sshdPath(p.trustedCaKeys)}`,
    // DESIGN §3.4: a user certificate logs in as <login> only if it names <login>@<this instance's ARN>.
    `AuthorizedPrincipalsCommand ${sshdPath(p.principalsScript)} %u`,
    // sshd requires a user for the command; the script needs no privileges.
    'AuthorizedPrincipalsCommandUser nobody',
    '',
  ].join('\n');
}

/**
 * A static /bin/sh script rather than `lkp` itself: sshd runs it on every login attempt, so it must
 * be fast, must not depend on node or PATH, and (sshd's check) be root-owned and not writable by
 * others, as must every directory above it.
 */
export function renderPrincipalsScript(instanceArn: string): string {
  // The ARN is baked into a shell script: only the exact ARN grammar may pass (DESIGN §3.4).
  if (!ARN_PATTERN.test(instanceArn)) throw new Error(`not an EC2 instance ARN: '${instanceArn}'`);
  return [
    '#!/bin/sh',
    HEADER,
    '# sshd AuthorizedPrincipalsCommand: the one principal accepted for login $1.',
    `printf '%s@%s\\n' "$1" '${instanceArn}'`,
    '',
  ].join('\n');
}

export function renderTrustedCaKeys(caPublicKeys: readonly string[]): string {
  if (caPublicKeys.length === 0) throw new Error('the CA published no public keys');
  return `${caPublicKeys.map((k) => k.trim()).join('\n')}\n`;
}

/** Whether sshd_config already includes `<dropInDir>/*.conf` (absolute, or relative to the config's folder). */
export function includesDropInDir(sshdConfig: string, sshdConfigPath: string, dropInDir: string): boolean {
  const wanted = new Set([join(dropInDir, '*.conf'), join(dropInDir, '*')]);
  return sshdConfig.split('\n').some((line) => {
    const [keyword, ...args] = line.trim().split(/\s+/);
    if (keyword?.toLowerCase() !== 'include') return false;
    return args.some((arg) => wanted.has(arg.startsWith('/') ? arg : join(dirname(sshdConfigPath), arg)));
  });
}

/** Older sshd_configs (Debian before 12) have no Include: ours goes first, as sshd keeps the first value it reads. */
export function withDropInInclude(sshdConfig: string, dropInDir: string): string {
  return `# Added by \`lkp host\` (the original is in sshd_config.lkp-backup)\nInclude ${sshdPath(join(dropInDir, '*.conf'))}\n\n${sshdConfig}`;
}

/** sshd_config splits on whitespace and treats quotes and # specially: keep such paths out. */
function sshdPath(path: string): string {
  if (/[\s"'#\\]/.test(path))
    throw new Error(`path '${path}' cannot be written to sshd_config: it contains a space, quote or #`);
  return path;
}

/**
 * What `lkp setup` writes and `lkp setup --uninstall` removes: ~/.lkp/config, one known_hosts per
 * profile (~/.lkp/known_hosts.d/<profile>), ~/.lkp/ssh_config and the Include line in
 * ~/.ssh/config; uninstall also removes what logins wrote per profile (targets, certificates, the
 * host revocation list ~/.lkp/revoked_hosts.d/<profile>.krl). Nothing else of the user's is touched.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type CaProfile,
  ensurePrivateDir,
  type LkpConfig,
  type LkpPaths,
  readConfig,
  writeConfig,
} from './config.js';
import { addInclude, knownHostsText, lkpSshConfig, removeInclude } from './ssh-config.js';

export interface InstallResult {
  config: LkpConfig;
  includeAdded: boolean;
}

/** Adds or replaces one profile, then regenerates the files every profile shares. */
export function installProfile(
  paths: LkpPaths,
  name: string,
  profile: CaProfile,
  opts: { makeDefault: boolean; lkpCommand: readonly string[] },
): InstallResult {
  const before = readConfig(paths);
  const config: LkpConfig = {
    default: opts.makeDefault || before.default === undefined ? name : before.default,
    profiles: { ...before.profiles, [name]: profile },
  };
  writeConfig(paths, config);
  writeSharedFiles(paths, config, opts.lkpCommand);
  return { config, includeAdded: addInclude(paths) };
}

/** Removes one profile (files shared with others are regenerated), or everything when `profile` is unset or the last. */
export function uninstall(
  paths: LkpPaths,
  opts: { profile?: string; purge: boolean; lkpCommand: readonly string[] },
): string[] {
  const config = readConfig(paths);
  const names = opts.profile !== undefined ? [opts.profile] : Object.keys(config.profiles);
  const removed: string[] = [];
  for (const name of names) {
    for (const dir of [
      paths.targets(name),
      paths.certs(name),
      paths.knownHosts(name),
      paths.revokedHostKeys(name),
      ...(opts.purge ? [paths.keys(name)] : []),
    ])
      if (existsSync(dir)) {
        rmSync(dir, { recursive: true, force: true });
        removed.push(dir);
      }
  }
  const remaining = Object.fromEntries(Object.entries(config.profiles).filter(([n]) => !names.includes(n)));
  const left = Object.keys(remaining);
  if (left.length > 0) {
    const def = config.default !== undefined && config.default in remaining ? config.default : left[0];
    const next: LkpConfig = { ...(def !== undefined ? { default: def } : {}), profiles: remaining };
    writeConfig(paths, next);
    writeSharedFiles(paths, next, opts.lkpCommand);
    return removed;
  }
  if (opts.purge && opts.profile === undefined && existsSync(join(paths.dir, 'keys'))) {
    rmSync(join(paths.dir, 'keys'), { recursive: true }); // also keys of profiles removed earlier
    removed.push(join(paths.dir, 'keys'));
  }
  if (removeInclude(paths)) removed.push(`the Include line in ${paths.userSshConfig}`);
  for (const file of [paths.sshConfig, paths.legacyKnownHosts, paths.config])
    if (existsSync(file)) {
      rmSync(file);
      removed.push(file);
    }
  for (const dir of ['targets', 'certs', 'keys', 'known_hosts.d', 'revoked_hosts.d'].map((d) =>
    join(paths.dir, d),
  ))
    if (existsSync(dir) && readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
  if (existsSync(paths.dir) && readdirSync(paths.dir).length === 0) rmSync(paths.dir, { recursive: true });
  return removed;
}

function writeSharedFiles(paths: LkpPaths, config: LkpConfig, lkpCommand: readonly string[]): void {
  ensurePrivateDir(paths.dir);
  // The default profile first: with overlapping patterns (two CAs both claim i-*), it is asked first.
  const ordered = Object.entries(config.profiles)
    .sort(([a], [b]) => Number(b === config.default) - Number(a === config.default))
    .map(([name, profile]) => ({ name, profile }));
  for (const { name, profile } of ordered) {
    ensurePrivateDir(paths.targets(name));
    // Each profile's CA keys in a file of their own, named only by that profile's target blocks:
    // a host certificate from another profile's CA is not trusted for this profile's hosts.
    mkdirSync(dirname(paths.knownHosts(name)), { recursive: true, mode: 0o700 });
    writeFileSync(paths.knownHosts(name), knownHostsText(profile.caPublicKeys), { mode: 0o644 });
  }
  // The file all profiles once shared trusts every CA for every host: no block may name it again.
  rmSync(paths.legacyKnownHosts, { force: true });
  writeFileSync(paths.sshConfig, lkpSshConfig({ paths, profiles: ordered, lkpCommand }), { mode: 0o644 });
}

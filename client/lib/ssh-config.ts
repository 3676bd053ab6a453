/**
 * The OpenSSH configuration lkp writes (DESIGN §4):
 *  - one `Include` line at the top of ~/.ssh/config (an Include must precede the user's Host
 *    blocks to apply everywhere; ssh_config is first-match-wins);
 *  - ~/.lkp/ssh_config: per profile, a `Match … exec "lkp ssh-match …"` that refreshes the
 *    certificate, then an Include of the per-target files it writes;
 *  - one file per (typed host, user) with what ssh cannot compute from %-tokens: HostKeyAlias (no
 *    tokens in OpenSSH 9.2), Hostname (the instance's address), CertificateFile and ProxyJump hops.
 * ssh parses its configuration in order, so the Include after the exec sees the file the exec wrote.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { parseHostAddress } from '../../src/host-address.js';
import { CliError, EXIT } from '../errors.js';
import type { CaProfile, LkpPaths } from './config.js';

export const INCLUDE_MARKER =
  '# Added by `lkp setup` (`lkp setup --uninstall` removes it): must stay above any Host block';

/** `@cert-authority * <key>`: host certificates from these CAs are trusted for lkp targets only (the file is named only in lkp's blocks). */
export function knownHostsText(caKeys: readonly string[]): string {
  return [...new Set(caKeys)].map((k) => `@cert-authority * ${k}\n`).join('');
}

/** ssh expands `~` to the passwd home, not $HOME: write `~/…` only when they agree. */
export function includeLine(paths: LkpPaths): string {
  const passwdHome = safeHomedir();
  const target = passwdHome === paths.home ? '~/.lkp/ssh_config' : paths.sshConfig;
  return `Include ${quote(target)}`;
}

/** Adds the Include at the top of ~/.ssh/config, once. Returns whether the file changed. */
export function addInclude(paths: LkpPaths): boolean {
  const file = paths.userSshConfig;
  const line = includeLine(paths);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  if (existing !== undefined && existing.split('\n').some((l) => l.trim() === line)) return false;
  const backup = `${file}.lkp-backup`;
  if (existing !== undefined && !existsSync(backup)) copyFileSync(file, backup);
  const rest = existing === undefined || existing === '' ? '' : `\n${existing}`;
  // The user's own lines stay byte for byte; writeFileSync keeps an existing file's mode.
  writeFileSync(file, `${INCLUDE_MARKER}\n${line}\n${rest}`, { mode: 0o600 });
  return true;
}

/** Removes exactly the two lines addInclude wrote (and the blank line it put after them). */
export function removeInclude(paths: LkpPaths): boolean {
  const file = paths.userSshConfig;
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  const head = `${INCLUDE_MARKER}\n${includeLine(paths)}\n`;
  let out: string;
  if (text.startsWith(`${head}\n`)) out = text.slice(head.length + 1);
  else if (text.startsWith(head)) out = text.slice(head.length);
  else {
    const lines = text.split('\n');
    const kept = lines.filter((l) => l !== INCLUDE_MARKER && l.trim() !== includeLine(paths));
    if (kept.length === lines.length) return false;
    out = kept.join('\n');
  }
  writeFileSync(file, out);
  return true;
}

/** ssh pattern-list entries: no spaces, quotes, commas or negation (they are joined into one list). */
const HOST_PATTERN = /^[A-Za-z0-9*?][A-Za-z0-9*?._:/+=-]{0,127}$/;

/**
 * A `--host-pattern` for Name tags. It must begin with a literal name part ("web-*", "db?.prod"):
 * one that begins with a wildcard ("*", "*.com", "*-web") also matches hosts outside EC2, and
 * then any instance whose Name tag is, say, "github.com" would take over ssh to that host, with
 * its host key vouched for by the CA instead of the user's known_hosts (issue 15, item 6).
 */
export function checkHostPattern(pattern: string): string {
  if (!HOST_PATTERN.test(pattern))
    throw new CliError(
      `invalid --host-pattern "${pattern}"`,
      EXIT.usage,
      'use one ssh pattern per flag, e.g. --host-pattern "web-*"',
    );
  if (/^[*?]/.test(pattern))
    throw new CliError(
      `refusing --host-pattern "${pattern}": it begins with a wildcard, so it would also send ssh to hosts outside EC2 (any instance named e.g. "github.com" could answer for them) through lkp`,
      EXIT.usage,
      'start the pattern with a literal part of your instances\' Name tags, e.g. --host-pattern "web-*"',
    );
  return pattern;
}

/** The host patterns a profile claims: instance ids, instance ARNs, then the configured Name-tag patterns. */
export function profilePatterns(profile: CaProfile): string[] {
  return ['i-*', 'arn:aws*:ec2:*', ...profile.hostPatterns];
}

/**
 * ~/.lkp/ssh_config. `%h` and `%r` reach a shell through Match exec, and OpenSSH 9.2 does not
 * reject shell characters in them (CVE-2023-51385 is fixed only in 9.6): they are single-quoted,
 * and names containing a single quote are excluded from the match, so the quoting cannot be broken.
 */
export function lkpSshConfig(opts: {
  paths: LkpPaths;
  profiles: ReadonlyArray<{ name: string; profile: CaProfile }>;
  /** argv prefix that runs lkp, e.g. [process.execPath, '/…/dist/client/cli.js']. */
  lkpCommand: readonly string[];
}): string {
  const lkp = opts.lkpCommand.map(shellQuote).join(' ');
  const blocks = opts.profiles.map(({ name, profile }) => {
    const hosts = `${profilePatterns(profile).join(',')},!*'*`;
    return [
      `# profile ${name}`,
      // A login given on the command line (user@, -l) wins: ssh applies it before any config.
      `Match host "${hosts}"`,
      `  User ${profile.defaultUser}`,
      `Match host "${hosts}" user "*,!*'*" exec "${lkp} ssh-match --profile ${name} '%h' '%r'"`,
      `Match all`,
      `Include ${quote(`${opts.paths.targets(name)}/*.conf`)}`,
    ].join('\n');
  });
  return [
    '# Generated by `lkp setup`: changes here are overwritten; edit ~/.lkp/config and run `lkp setup` again.',
    ...blocks,
    '',
  ].join('\n\n');
}

export interface Hop {
  alias: string;
  address: string;
  user: string;
  hostKeyAlias: string;
  certificateFile: string;
}

/** The per-target file: applies to this typed host and user only; jumpboxes get their own Host block each. */
export function targetSshConfig(t: {
  host: string;
  user: string;
  address: string;
  hostKeyAlias: string;
  identityFile: string;
  certificateFile: string;
  knownHostsFile: string;
  /** The profile's host revocation list, once it exists: ssh refuses every host when the file is missing. */
  revokedHostKeysFile?: string;
  /** argv of a ProxyCommand (`lkp tunnel …`); `%p` passes through for ssh to fill in. */
  proxyCommand?: readonly string[];
  jumpboxes: readonly Hop[];
  comment: string;
}): string {
  const common = (certificateFile: string) => [
    `  IdentityFile ${quote(t.identityFile)}`,
    `  CertificateFile ${quote(certificateFile)}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${quote(t.knownHostsFile)}`,
    '  GlobalKnownHostsFile /dev/null',
    // Host keys are verified by certificate: never ask, never learn a key on first use.
    '  StrictHostKeyChecking yes',
    ...(t.revokedHostKeysFile ? [`  RevokedHostKeys ${quote(t.revokedHostKeysFile)}`] : []),
  ];
  return [
    `# ${t.comment.replace(/[\r\n]/g, ' ')}`,
    `Match host "${token(t.host)}" user "${token(t.user)}"`,
    ...hostLines(t.address),
    `  HostKeyAlias ${token(t.hostKeyAlias)}`,
    ...common(t.certificateFile),
    ...(t.proxyCommand ? [`  ProxyCommand ${t.proxyCommand.map(proxyWord).join(' ')}`] : []),
    ...(t.jumpboxes.length > 0 ? [`  ProxyJump ${t.jumpboxes.map((j) => j.alias).join(',')}`] : []),
    ...t.jumpboxes.flatMap((j) => [
      `Host ${token(j.alias)}`,
      ...hostLines(j.address),
      `  User ${token(j.user)}`,
      `  HostKeyAlias ${token(j.hostKeyAlias)}`,
      ...common(j.certificateFile),
    ]),
    '',
  ].join('\n');
}

/**
 * Names from the command line and from the CA's answer (TargetAddress, Jumpboxes): a space, quote,
 * newline or pattern character would let them add options such as ProxyCommand (code execution
 * on this machine), so only name characters pass.
 */
function token(value: string): string {
  if (!/^[A-Za-z0-9._:/@+=\[\]-]{1,255}$/.test(value))
    throw new Error(`refusing to write "${value.slice(0, 80)}" into an ssh config: unexpected characters`);
  return value;
}

/**
 * Hostname and, for `host:port` or `[v6]:port` (DESIGN §3.2), Port: a bastion or a demo sshd need
 * not listen on 22. The CA's address is parsed again here, so only a host and a number get written.
 */
function hostLines(address: string): string[] {
  const parsed = parseHostAddress(address);
  if (parsed === undefined)
    throw new Error(
      `refusing to write "${address.slice(0, 80)}" into an ssh config: unexpected characters (want host, host:port or [IPv6]:port)`,
    );
  return [`  Hostname ${parsed.host}`, ...(parsed.port === undefined ? [] : [`  Port ${parsed.port}`])];
}

/** ssh_config arguments with spaces need double quotes (and can hold no double quote at all). */
function quote(value: string): string {
  if (value.includes('"')) throw new Error(`cannot write a path with a double quote to ssh_config: ${value}`);
  return /\s/.test(value) ? `"${value}"` : value;
}

/**
 * ssh expands %-tokens in a ProxyCommand and then runs it with the user's shell: each word is
 * single-quoted, and one that holds a quote, a backslash or a % (other than ssh's %p) is refused.
 */
function proxyWord(arg: string): string {
  if (arg === '%p') return arg;
  if (arg.includes('%')) throw new Error(`cannot use "${arg.slice(0, 80)}" in a ProxyCommand: it contains %`);
  return shellQuote(arg);
}

function shellQuote(arg: string): string {
  if (/["'\\]/.test(arg))
    throw new Error(`cannot use a path with quotes or backslashes in ssh_config: ${arg}`);
  return `'${arg}'`;
}

function safeHomedir(): string | undefined {
  try {
    return userInfo().homedir;
  } catch {
    return undefined;
  }
}

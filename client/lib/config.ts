/**
 * ~/.lkp/config: named CA profiles (one per CA or account) and the default one. JSON, written by
 * `lkp setup`, read by `lkp ssh` and `lkp ssh-match`. Every path honours $HOME (os.homedir()).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError, EXIT } from '../errors.js';

/** How the CA is reached: its URL (`lkp-ca serve` or a Function URL), or Lambda Invoke. */
export type CaEndpoint = { url: string; auth?: 'iam' } | { function: string; region: string };

/**
 * How ssh reaches targets (lib/tunnel/route.ts): `auto` tunnels through an EC2 Instance Connect
 * Endpoint when the target has no address this machine can reach, `eice` always, `direct` never
 * (unless the access policy names an endpoint).
 */
export type ReachMode = 'auto' | 'direct' | 'eice';
export const REACH_MODES: readonly ReachMode[] = ['auto', 'direct', 'eice'];

export interface CaProfile {
  ca: CaEndpoint;
  /** AWS profile for credentials (proofs, EC2 lookups, Invoke); default: the credential chain. */
  awsProfile?: string;
  /** Region of EC2 lookups by instance id or Name tag; default: the AWS SDK's (AWS_REGION, ~/.aws/config). */
  region?: string;
  /** Extra ssh host patterns (e.g. Name tags like `web-*`) that transparent ssh treats as lkp targets. */
  hostPatterns: string[];
  /** Login when none is given (`user@`, `--user`, `-l`). */
  defaultUser: string;
  /** The CA keys trusted for host certificates: written by `lkp setup` (shown to the user), never from a login's answer. */
  caPublicKeys: string[];
  /** Default auto. */
  reach?: ReachMode;
}

export interface LkpConfig {
  default?: string;
  profiles: Record<string, CaProfile>;
}

export const DEFAULT_PROFILE = 'default';
export const DEFAULT_USER = 'ec2-user';

/** Profile names end up in paths and in ssh_config lines: keep them to a safe alphabet. */
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkProfileName(name: string): string {
  if (!PROFILE_NAME.test(name))
    throw new CliError(
      `invalid profile name "${name}"`,
      EXIT.usage,
      'use letters, digits, ".", "_" and "-" (at most 64)',
    );
  return name;
}

export interface LkpPaths {
  home: string;
  dir: string;
  config: string;
  /** One per profile: its CA keys only, named only from that profile's ssh_config blocks (DESIGN §4). */
  knownHosts(profile: string): string;
  /** One per profile: the CA's host revocations (a KRL), named by RevokedHostKeys (client/lib/host-revocations.ts). */
  revokedHostKeys(profile: string): string;
  /** The single known_hosts every profile shared before issue 15; removed by `lkp setup`. */
  legacyKnownHosts: string;
  sshConfig: string;
  /** ~/.ssh/config, where `lkp setup` adds its Include line. */
  userSshConfig: string;
  keys(profile: string): string;
  certs(profile: string): string;
  targets(profile: string): string;
}

export function lkpPaths(home: string = homedir()): LkpPaths {
  const dir = join(home, '.lkp');
  return {
    home,
    dir,
    config: join(dir, 'config'),
    knownHosts: (profile) => join(dir, 'known_hosts.d', checkProfileName(profile)),
    revokedHostKeys: (profile) => join(dir, 'revoked_hosts.d', `${checkProfileName(profile)}.krl`),
    legacyKnownHosts: join(dir, 'known_hosts'),
    sshConfig: join(dir, 'ssh_config'),
    userSshConfig: join(home, '.ssh', 'config'),
    keys: (profile) => join(dir, 'keys', checkProfileName(profile)),
    certs: (profile) => join(dir, 'certs', checkProfileName(profile)),
    targets: (profile) => join(dir, 'targets', checkProfileName(profile)),
  };
}

export function readConfig(paths: LkpPaths): LkpConfig {
  if (!existsSync(paths.config)) return { profiles: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(paths.config, 'utf8'));
  } catch {
    throw brokenConfig(paths, 'it is not JSON');
  }
  return parseConfig(raw, paths);
}

export function writeConfig(paths: LkpPaths, config: LkpConfig): void {
  ensurePrivateDir(paths.dir);
  // Write-then-rename: a crash never leaves half a config behind.
  const tmp = `${paths.config}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, paths.config);
}

/** The named profile, else the default one; a missing one names the fix. */
export function pickProfile(config: LkpConfig, name?: string): { name: string; profile: CaProfile } {
  const chosen = name ?? config.default;
  const profile = chosen === undefined ? undefined : config.profiles[chosen];
  if (chosen === undefined || profile === undefined) {
    const known = Object.keys(config.profiles);
    throw new CliError(
      chosen === undefined ? 'lkp is not set up yet' : `no lkp profile named "${chosen}"`,
      EXIT.usage,
      known.length > 0
        ? `known profiles: ${known.join(', ')}; or run \`lkp setup --profile ${chosen ?? DEFAULT_PROFILE} --url <CA URL>\``
        : 'run `lkp setup --url <CA URL>` (or `--function <name> --region <region>`) first',
    );
  }
  return { name: chosen, profile };
}

export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

function parseConfig(raw: unknown, paths: LkpPaths): LkpConfig {
  if (!isObject(raw) || !isObject(raw.profiles)) throw brokenConfig(paths, 'it has no "profiles" object');
  const profiles: Record<string, CaProfile> = {};
  for (const [name, value] of Object.entries(raw.profiles)) {
    checkProfileName(name);
    profiles[name] = parseProfile(value, name, paths);
  }
  const def = raw.default;
  if (def !== undefined && (typeof def !== 'string' || !(def in profiles)))
    throw brokenConfig(paths, '"default" names no profile');
  return def === undefined ? { profiles } : { default: def, profiles };
}

function parseProfile(v: unknown, name: string, paths: LkpPaths): CaProfile {
  const bad = (why: string) => brokenConfig(paths, `profile "${name}": ${why}`);
  if (!isObject(v) || !isObject(v.ca)) throw bad('no "ca" object');
  const ca = v.ca;
  let endpoint: CaEndpoint;
  if (typeof ca.url === 'string') {
    if (ca.auth !== undefined && ca.auth !== 'iam') throw bad('"ca.auth" must be "iam" when set');
    endpoint = ca.auth === 'iam' ? { url: ca.url, auth: 'iam' } : { url: ca.url };
  } else if (typeof ca.function === 'string' && typeof ca.region === 'string') {
    endpoint = { function: ca.function, region: ca.region };
  } else throw bad('"ca" needs "url", or "function" and "region"');
  const strings = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === 'string');
  if (!strings(v.hostPatterns) || !strings(v.caPublicKeys))
    throw bad('"hostPatterns" and "caPublicKeys" must be string lists');
  if (typeof v.defaultUser !== 'string') throw bad('"defaultUser" must be a string');
  const optional = (x: unknown, what: string) => {
    if (x !== undefined && typeof x !== 'string') throw bad(`"${what}" must be a string`);
    return x as string | undefined;
  };
  const awsProfile = optional(v.awsProfile, 'awsProfile');
  const region = optional(v.region, 'region');
  const reach = optional(v.reach, 'reach');
  if (reach !== undefined && !(REACH_MODES as readonly string[]).includes(reach))
    throw bad(`"reach" must be one of ${REACH_MODES.join(', ')}`);
  return {
    ca: endpoint,
    ...(awsProfile !== undefined ? { awsProfile } : {}),
    ...(region !== undefined ? { region } : {}),
    hostPatterns: v.hostPatterns as string[],
    defaultUser: v.defaultUser,
    caPublicKeys: v.caPublicKeys as string[],
    ...(reach !== undefined ? { reach: reach as ReachMode } : {}),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function brokenConfig(paths: LkpPaths, why: string): CliError {
  return new CliError(
    `${paths.config} is not a valid lkp config: ${why}`,
    EXIT.error,
    'fix it, or delete it and run `lkp setup` again',
  );
}

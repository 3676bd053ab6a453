/**
 * `lkp host`, the instance boot script (DESIGN §3.4, §4): host key and certificate, the CA keys
 * users are trusted through, the principals script, the sshd drop-in and the renewal job; it removes
 * the user sync job older versions installed. Every file is compared before it is written, so a
 * second run changes nothing; --dry-run prints it all.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseCertificate, type ParsedCertificate } from '../../../src/cert/index.js';
import type { CertResponse, InfoResponse } from '../../../src/protocol.js';
import { fileState, readIfExists, writeManagedFile, type ManagedFile } from './files.js';
import { instanceArn, type InstanceMetadata } from './imds.js';
import { hostLayout, RENEW_UNIT, type HostLayout } from './layout.js';
import {
  checkIntervalSeconds,
  DEFAULT_HOST_LIFETIME_SECONDS,
  renderRenewCron,
  renderRenewService,
  renderRenewTimer,
  renewalReason,
} from './renewal.js';
import {
  includesDropInDir,
  renderDropIn,
  renderPrincipalsScript,
  renderTrustedCaKeys,
  withDropInInclude,
} from './sshd-dropin.js';
import { disableSyncTimerCommands, syncUnitPaths, writtenBySyncJob } from './sync-timer.js';
import {
  enableTimerCommands,
  hasSystemd,
  reloadCommands,
  sshdBinary,
  validateSshdConfig,
  type CommandRunner,
} from './system.js';
import type { CaTarget } from '../certificates.js';

export interface HostOptions {
  ca: CaTarget;
  /** `ca` as lkp arguments (`--ca URL` or `--function NAME --ca-region R`), for the renewal job. */
  caArgs: string[];
  /** Overrides the region IMDS reports (for the instance ARN). */
  region?: string;
  sshdConfigDir: string;
  hostKey: string;
  /** Names asked for in addition to the IMDS addresses and hostnames; the CA signs those EC2 confirms. */
  principals: string[];
  dryRun: boolean;
  reload: boolean;
  root: string;
  /** The argv that runs this `lkp` again, for the renewal job (node + the CLI script). */
  lkpCommand: string[];
}

export interface HostDeps {
  metadata(): Promise<InstanceMetadata>;
  caInfo(ca: CaTarget): Promise<InfoResponse>;
  /** Resolves the instance role's credentials and asks the CA (Kind Host). */
  requestHostCertificate(
    ca: CaTarget,
    info: InfoResponse,
    ask: { PublicKey: string; HostInstanceArn: string; Principals: string[] },
  ): Promise<CertResponse>;
  run: CommandRunner;
  /** Unix seconds. */
  now(): number;
  log(line: string): void;
}

export interface HostReport {
  instanceArn: string;
  /** Files written (or, with --dry-run, that would be). */
  changed: string[];
  /** Why a certificate was (or would be) requested; undefined when the current one is kept. */
  renewal: string | undefined;
}

interface State {
  RequestedPrincipals: string[];
}

export async function runHost(o: HostOptions, d: HostDeps): Promise<HostReport> {
  const layout = hostLayout(o);
  const metadata = await d.metadata();
  const arn = o.region ? instanceArn({ ...metadata, region: o.region }) : metadata.instanceArn;
  const info = await d.caInfo(o.ca);
  const sshdConfigText = readIfExists(layout.sshdConfig);
  if (sshdConfigText === undefined)
    throw new Error(`no sshd configuration at ${layout.sshdConfig}: install openssh-server first`);
  const act = actions(o, d);

  const keyCreated = !existsSync(layout.hostKey);
  if (keyCreated) {
    if (!o.dryRun) mkdirSync(dirname(layout.hostKey), { recursive: true, mode: 0o755 });
    await act.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', arn, '-f', layout.hostKey]);
  }
  const hostPublicKey =
    readIfExists(layout.hostPublicKey)?.trim() ??
    (keyCreated && o.dryRun ? undefined : (await d.run(['ssh-keygen', '-y', '-f', layout.hostKey])).trim());

  // The certificate: kept unless renewalReason says otherwise (DESIGN §4, idempotent).
  const requested = hostNames(metadata, o.principals);
  const existing = readCertificate(layout.hostCertificate);
  const renewal =
    hostPublicKey === undefined
      ? 'no host key yet'
      : renewalReason({
          existing,
          hostPublicKey,
          caPublicKeys: info.CaPublicKeys,
          requested,
          previouslyRequested: readState(layout.stateFile)?.RequestedPrincipals,
          now: d.now(),
        });
  const certificateFiles: ManagedFile[] = [];
  let lifetime = existing ? existing.validBefore - existing.validAfter : DEFAULT_HOST_LIFETIME_SECONDS;
  if (renewal === undefined) {
    d.log(`host certificate: unchanged, valid until ${isoTime(existing?.validBefore ?? 0)}`);
  } else if (o.dryRun || hostPublicKey === undefined) {
    d.log(`would request a host certificate for ${arn} (${renewal}), names: ${requested.join(', ')}`);
  } else {
    d.log(`requesting a host certificate for ${arn} (${renewal})`);
    const cert = await d.requestHostCertificate(o.ca, info, {
      PublicKey: hostPublicKey,
      HostInstanceArn: arn,
      Principals: requested,
    });
    lifetime = cert.ValidBefore - cert.ValidAfter;
    const unconfirmed = requested.filter((n) => !cert.Principals.includes(n));
    if (unconfirmed.length > 0)
      d.log(
        `warning: the CA did not confirm ${unconfirmed.join(', ')} for this instance; they are not in the certificate`,
      );
    d.log(
      `host certificate: principals ${cert.Principals.join(', ')}, valid until ${isoTime(cert.ValidBefore)}`,
    );
    const state: State = { RequestedPrincipals: requested };
    certificateFiles.push(
      { path: layout.hostCertificate, content: `${cert.Certificate}\n`, mode: 0o644 },
      { path: layout.stateFile, content: `${JSON.stringify(state, null, 2)}\n`, mode: 0o644 },
    );
  }

  // Files sshd does not read until the drop-in names them and it reloads.
  const prepared: ManagedFile[] = [
    ...certificateFiles,
    { path: layout.trustedCaKeys, content: renderTrustedCaKeys(info.CaPublicKeys), mode: 0o644 },
    // Root-owned, 0755, in 0755 folders: sshd's checks for an AuthorizedPrincipalsCommand.
    { path: layout.principalsScript, content: renderPrincipalsScript(arn), mode: 0o755 },
  ];
  const dropIn: ManagedFile = {
    path: layout.dropIn,
    content: renderDropIn({
      hostKeys: [layout.hostKey, ...layout.otherHostKeys.filter((k) => existsSync(k))],
      hostCertificate: layout.hostCertificate,
      trustedCaKeys: layout.trustedCaKeys,
      principalsScript: layout.principalsScript,
    }),
    mode: 0o644,
  };
  const mainConfig = includesDropInDir(sshdConfigText, layout.sshdConfig, layout.dropInDir)
    ? []
    : mainConfigWithInclude(layout, sshdConfigText);

  const changedPrepared = act.apply(prepared);
  const live = [dropIn, ...mainConfig];
  const pendingLive = live.filter((f) => fileState(f) !== 'unchanged');
  const sshdChanged = keyCreated || changedPrepared.length > 0 || pendingLive.length > 0;
  if (sshdChanged) {
    // Nothing is made live before sshd accepts the whole configuration.
    const staged = { dropIn: dropIn.content, sshdConfig: mainConfig.at(-1)?.content ?? sshdConfigText };
    if (o.dryRun) d.log(`would run: sshd -t on the new configuration`);
    else await validateSshdConfig(d.run, sshdBinary(), staged);
  }
  const changedLive = act.apply(live);

  const renewalFiles = renewalJob(o, layout, lifetime, metadata.instanceId);
  const changedRenewal = act.apply(renewalFiles);
  if (changedRenewal.length > 0 && hasSystemd(o.root))
    for (const argv of enableTimerCommands(o.root)) await act.run(argv);

  const changedSyncJob = await removeUserSyncJob(o, d, layout, act);

  if (sshdChanged) await reload(o, d, act);
  const changed = [...changedPrepared, ...changedLive, ...changedRenewal, ...changedSyncJob];
  if (!sshdChanged && changed.length === 0) d.log('unchanged: nothing to do');
  return { instanceArn: arn, changed, renewal };
}

/** The IMDS addresses and hostnames plus --principal extras, unique, in a stable order. */
export function hostNames(m: InstanceMetadata, extras: readonly string[]): string[] {
  const names = [m.localHostname, m.localIpv4, m.publicHostname, m.publicIpv4, ...extras];
  return [...new Set(names.filter((n): n is string => n !== undefined && n !== ''))];
}

function mainConfigWithInclude(layout: HostLayout, current: string): ManagedFile[] {
  const mode = statSync(layout.sshdConfig).mode & 0o7777;
  const backup = existsSync(layout.sshdConfigBackup)
    ? []
    : [{ path: layout.sshdConfigBackup, content: current, mode }];
  return [
    ...backup,
    { path: layout.sshdConfig, content: withDropInInclude(current, layout.dropInDir), mode },
  ];
}

function renewalJob(o: HostOptions, layout: HostLayout, lifetime: number, instanceId: string): ManagedFile[] {
  const command = [
    ...o.lkpCommand,
    'host',
    ...o.caArgs,
    ...(o.region ? ['--region', o.region] : []),
    ...['--sshd-config-dir', o.sshdConfigDir, '--host-key', o.hostKey],
    ...o.principals.flatMap((p) => ['--principal', p]),
    ...(o.reload ? [] : ['--no-reload']),
    ...(o.root === '/' ? [] : ['--root', o.root]),
  ];
  const interval = checkIntervalSeconds(lifetime);
  if (hasSystemd(o.root))
    return [
      {
        path: join(layout.systemdDir, `${RENEW_UNIT}.service`),
        content: renderRenewService(command),
        mode: 0o644,
      },
      {
        path: join(layout.systemdDir, `${RENEW_UNIT}.timer`),
        content: renderRenewTimer(interval),
        mode: 0o644,
      },
    ];
  // Spread instances over the hour instead of all asking the CA at minute 0.
  const minute = parseInt(instanceId.slice(-6), 16) % 60;
  return [{ path: layout.cronFile, content: renderRenewCron(command, interval, minute), mode: 0o644 }];
}

/**
 * Removes the `lkp host sync-users` job older versions installed (retired: the CA decides unix
 * accounts and lkp-host-agent applies them), so it stops running a command that is gone.
 */
async function removeUserSyncJob(
  o: HostOptions,
  d: HostDeps,
  layout: HostLayout,
  act: Actions,
): Promise<string[]> {
  const systemd = hasSystemd(o.root);
  const paths = syncUnitPaths(layout);
  const owned: string[] = [];
  for (const path of [paths.timer, paths.service, paths.cron]) {
    const content = readIfExists(path);
    if (content === undefined) continue;
    if (writtenBySyncJob(content)) owned.push(path);
    else d.log(`leaving ${path}: not written by lkp host`);
  }
  if (owned.length === 0) return [];
  d.log('removing the user sync job lkp host installed earlier (accounts now come from lkp-host-agent)');
  const timerUnit = owned.includes(paths.timer) && systemd;
  if (timerUnit) for (const argv of disableSyncTimerCommands(o.root)) await act.run(argv);
  act.remove(owned);
  if (timerUnit && o.root === '/') await act.run(['systemctl', 'daemon-reload']);
  return owned;
}

async function reload(o: HostOptions, d: HostDeps, act: Actions): Promise<void> {
  if (!o.reload) return d.log('not reloading sshd (--no-reload)');
  if (o.root !== '/') return d.log(`not reloading sshd: --root ${o.root} is not the live system`);
  const commands = reloadCommands(o.root);
  if (commands.length === 0) d.log('sshd is not running: the new configuration applies when it starts');
  for (const argv of commands) await act.run(argv);
}

type Actions = ReturnType<typeof actions>;

/** Writes and commands, or with --dry-run their description. apply() returns the paths that changed. */
function actions(o: HostOptions, d: HostDeps) {
  return {
    async run(argv: readonly string[]): Promise<void> {
      if (o.dryRun) d.log(`would run: ${argv.join(' ')}`);
      else await d.run(argv);
    },
    apply(files: readonly ManagedFile[]): string[] {
      const changed: string[] = [];
      for (const f of files) {
        const state = fileState(f);
        if (state === 'unchanged') {
          d.log(`unchanged ${f.path}`);
          continue;
        }
        changed.push(f.path);
        if (o.dryRun) {
          d.log(`would write ${f.path} (${state}, mode ${f.mode.toString(8)}):`);
          d.log(f.content.replace(/^/gm, '    ').trimEnd());
        } else {
          writeManagedFile(f);
          d.log(`wrote ${f.path}`);
        }
      }
      return changed;
    },
    remove(paths: readonly string[]): void {
      for (const path of paths) {
        if (o.dryRun) d.log(`would remove ${path}`);
        else {
          rmSync(path, { force: true });
          d.log(`removed ${path}`);
        }
      }
    },
  };
}

function readCertificate(path: string): ParsedCertificate | undefined {
  const text = readIfExists(path);
  if (text === undefined) return undefined;
  try {
    return parseCertificate(text.trim());
  } catch {
    return undefined; // unreadable: renewalReason asks for a new one
  }
}

function readState(path: string): State | undefined {
  try {
    const state: unknown = JSON.parse(readIfExists(path) ?? 'null');
    const names = (state as Partial<State> | null)?.RequestedPrincipals;
    return Array.isArray(names) && names.every((n) => typeof n === 'string')
      ? { RequestedPrincipals: names }
      : undefined;
  } catch {
    return undefined;
  }
}

const isoTime = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();

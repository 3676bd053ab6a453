/**
 * The job that keeps personal unix accounts in line with IAM groups (docs/deploy.md, "Personal unix
 * accounts"): `lkp host` installs a systemd timer (a cron.d entry without systemd) that runs
 * `lkp host sync-users` with the options `lkp host` was given, and removes it again when run
 * without them.
 */
import { join } from 'node:path';
import type { ManagedFile } from './files.js';
import type { HostLayout } from './layout.js';
import { cronCommandLine, oneshotServiceLines } from './renewal.js';
import type { SyncSettings } from './users/plan.js';

export const SYNC_UNIT = 'lkp-host-sync-users';
const SYNC_TIMER = `${SYNC_UNIT}.timer`;
/** First line of every file here: what lkp may remove is what carries it (a hand-made unit never does). */
export const SYNC_MARKER =
  '# Written by `lkp host` (--iam-group/--sudo-group); `lkp host` without them removes it.';
/** Seconds of random delay before each run, so a fleet launched together does not call IAM in lockstep. */
const SYNC_SPREAD_SECONDS = 60;

/** The sync options `lkp host` takes and hands on to the timer (the same as `lkp host sync-users`). */
export interface UserSync extends SyncSettings {
  iamGroups: string[];
  sudoGroups: string[];
  /** Role in the account that holds the IAM users. */
  assumeRole?: string;
  externalId?: string;
  /** Login shell of new accounts. */
  shell: string;
}

/** `sync` as `lkp host sync-users` arguments; parsing them gives `sync` back. */
export function userSyncArgs(sync: UserSync): string[] {
  return [
    ...sync.iamGroups.flatMap((g) => ['--iam-group', g]),
    ...sync.sudoGroups.flatMap((g) => ['--sudo-group', g]),
    ...['--group-prefix', sync.groupPrefix],
    ...(sync.deleteRemoved ? ['--delete-removed'] : []),
    ...(sync.assumeRole ? ['--assume-role', sync.assumeRole] : []),
    ...(sync.externalId ? ['--external-id', sync.externalId] : []),
    ...['--shell', sync.shell],
  ];
}

/** The argv the timer runs: `lkp host sync-users`, the options, the IAM region and --root. */
export function syncCommand(
  lkpCommand: readonly string[],
  sync: UserSync,
  at: { region: string; root: string },
): string[] {
  return [
    ...lkpCommand,
    'host',
    'sync-users',
    ...userSyncArgs(sync),
    ...['--region', at.region],
    ...(at.root === '/' ? [] : ['--root', at.root]),
  ];
}

export function syncUnitPaths(layout: HostLayout): { service: string; timer: string; cron: string } {
  return {
    service: join(layout.systemdDir, `${SYNC_UNIT}.service`),
    timer: join(layout.systemdDir, SYNC_TIMER),
    cron: join(layout.root, 'etc/cron.d', SYNC_UNIT),
  };
}

/** The service and timer with systemd, else the cron.d file. */
export function syncJobFiles(
  layout: HostLayout,
  command: readonly string[],
  systemd: boolean,
): ManagedFile[] {
  const paths = syncUnitPaths(layout);
  return systemd
    ? [
        { path: paths.service, content: renderSyncService(command), mode: 0o644 },
        { path: paths.timer, content: renderSyncTimer(), mode: 0o644 },
      ]
    : [{ path: paths.cron, content: renderSyncCron(command), mode: 0o644 }];
}

export function renderSyncService(command: readonly string[]): string {
  return [
    SYNC_MARKER,
    ...oneshotServiceLines('Sync unix accounts with IAM group members (lkp)', command),
  ].join('\n');
}

export function renderSyncTimer(): string {
  return [
    SYNC_MARKER,
    '[Unit]',
    'Description=Sync unix accounts with IAM group members every 10 minutes (lkp)',
    '',
    '[Timer]',
    // `lkp host` syncs at first boot itself; after a reboot user data does not run again.
    'OnBootSec=2min',
    'OnUnitActiveSec=10min',
    `RandomizedDelaySec=${SYNC_SPREAD_SECONDS}`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

export function renderSyncCron(command: readonly string[]): string {
  // shuf reads /dev/urandom: instances started together still draw different delays.
  const spread = `sleep "$(shuf -i 0-${SYNC_SPREAD_SECONDS} -n 1)";`;
  return [
    SYNC_MARKER,
    'SHELL=/bin/sh',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `*/10 * * * * root ${spread} ${cronCommandLine(command, SYNC_UNIT)}`,
    '',
  ].join('\n');
}

/** Whether `lkp host` wrote this file (and so may remove it). */
export const writtenBySyncJob = (content: string) => content.startsWith(`${SYNC_MARKER}\n`);

/** After the units are written: on the live system load and start them; under another --root only the symlinks. */
export function enableSyncTimerCommands(root: string): string[][] {
  return root === '/'
    ? [
        ['systemctl', 'daemon-reload'],
        ['systemctl', 'enable', '--now', SYNC_TIMER],
      ]
    : [['systemctl', `--root=${root}`, 'enable', SYNC_TIMER]];
}

/** Before the units are removed (systemctl needs their files); on the live system a daemon-reload follows. */
export function disableSyncTimerCommands(root: string): string[][] {
  return root === '/'
    ? [['systemctl', 'disable', '--now', SYNC_TIMER]]
    : [['systemctl', `--root=${root}`, 'disable', SYNC_TIMER]];
}

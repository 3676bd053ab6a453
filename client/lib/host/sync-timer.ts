/**
 * The job that `lkp host --iam-group/--sudo-group` used to install to run `lkp host sync-users`
 * (retired: the CA decides unix accounts and lkp-host-agent applies them, docs/deploy.md "Personal
 * unix accounts"). What is left: `lkp host` removes that job from hosts it set up earlier.
 */
import { join } from 'node:path';
import type { HostLayout } from './layout.js';

export const SYNC_UNIT = 'lkp-host-sync-users';
const SYNC_TIMER = `${SYNC_UNIT}.timer`;
/** First line of every file the job had: what lkp may remove is what carries it (a hand-made unit never does). */
export const SYNC_MARKER =
  '# Written by `lkp host` (--iam-group/--sudo-group); `lkp host` without them removes it.';

export function syncUnitPaths(layout: HostLayout): { service: string; timer: string; cron: string } {
  return {
    service: join(layout.systemdDir, `${SYNC_UNIT}.service`),
    timer: join(layout.systemdDir, SYNC_TIMER),
    cron: join(layout.root, 'etc/cron.d', SYNC_UNIT),
  };
}

/** Whether `lkp host` wrote this file (and so may remove it). */
export const writtenBySyncJob = (content: string) => content.startsWith(`${SYNC_MARKER}\n`);

/** Before the units are removed (systemctl needs their files); on the live system a daemon-reload follows. */
export function disableSyncTimerCommands(root: string): string[][] {
  return root === '/'
    ? [['systemctl', 'disable', '--now', SYNC_TIMER]]
    : [['systemctl', `--root=${root}`, 'disable', SYNC_TIMER]];
}

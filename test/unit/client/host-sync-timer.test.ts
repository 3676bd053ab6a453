/** The user sync job of `lkp host`: unit and cron rendering, and that its options survive the trip into them. */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addUserSyncOptions,
  userSyncFrom,
  type UserSyncFlags,
} from '../../../client/commands/host-sync-users.js';
import {
  renderSyncCron,
  renderSyncService,
  renderSyncTimer,
  SYNC_MARKER,
  syncCommand,
  userSyncArgs,
  writtenBySyncJob,
  type UserSync,
} from '../../../client/lib/host/sync-timer.js';

const SYNC: UserSync = {
  iamGroups: ['developers', 'ops+=,.@-'],
  sudoGroups: ['admins'],
  groupPrefix: 'lkp_',
  deleteRemoved: true,
  assumeRole: 'arn:aws:iam::111122223333:role/path/lkp-read-groups',
  externalId: 'id:with/odd=chars,@',
  shell: '/usr/bin/zsh',
};
/** A root that needs quoting everywhere: space, quotes, $, %, backslash. */
const AWKWARD_ROOT = `/tmp/a b/'q' "d" $HOME %n \\x`;
/** Prints its arguments as JSON: stands in for `node cli.js` to see what a job would really pass. */
const ECHO_ARGV = [process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))'];

/** What commander makes of `args` with the sync options, checked as `lkp host` checks them. */
function parseSyncArgs(args: readonly string[]): UserSync | undefined {
  const command = addUserSyncOptions(new Command('sync-users')).exitOverride();
  command.parse([...args], { from: 'user' });
  return userSyncFrom(command.opts<UserSyncFlags>());
}

/** systemd's ExecStart= splitting: whitespace-separated words, "…" with \ escapes, then %% and $$. */
function systemdWords(line: string): string[] {
  const words = [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map(([, quoted, bare]) =>
    quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare ?? ''),
  );
  return words.map((w) => {
    // A lone % is a specifier and a lone $ a variable: systemd would replace them.
    if (/[%$]/.test(w.replace(/%%|\$\$/g, ''))) throw new Error(`unescaped % or $ in ${w}`);
    return w.replace(/%%/g, '%').replace(/\$\$/g, '$');
  });
}

const temp = mkdtempSync(join(tmpdir(), 'lkp-sync-timer-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('sync options', () => {
  it('round-trip: parsing userSyncArgs gives the same settings', () => {
    expect(parseSyncArgs(userSyncArgs(SYNC))).toEqual(SYNC);
    const name = fc.stringMatching(/^[\w+=,.@-]{1,20}$/);
    fc.assert(
      fc.property(
        fc.record(
          {
            iamGroups: fc.array(name, { maxLength: 3 }),
            sudoGroups: fc.array(name, { minLength: 1, maxLength: 2 }),
            groupPrefix: fc.stringMatching(/^[a-z_][a-z0-9_-]{0,15}$/),
            deleteRemoved: fc.boolean(),
            assumeRole: fc.constant('arn:aws-cn:iam::111122223333:role/r'),
            externalId: fc.stringMatching(/^[\w+=,.@:/-]{2,30}$/),
            shell: fc.constantFrom('/bin/bash', '/bin/sh', '/usr/bin/fish'),
          },
          { requiredKeys: ['iamGroups', 'sudoGroups', 'groupPrefix', 'deleteRemoved', 'shell'] },
        ),
        (sync) => {
          // externalId only with assumeRole, as userSyncFrom demands.
          const valid = sync.assumeRole === undefined ? { ...sync, externalId: undefined } : sync;
          const expected = JSON.parse(JSON.stringify(valid)) as UserSync;
          expect(parseSyncArgs(userSyncArgs(expected))).toEqual(expected);
        },
      ),
    );
  });

  it('gives no sync without a group, and refuses sync options without one', () => {
    const none = { iamGroup: [], sudoGroup: [], groupPrefix: 'lkp_', shell: '/bin/bash' };
    expect(userSyncFrom(none)).toBeUndefined();
    expect(() => userSyncFrom({ ...none, deleteRemoved: true })).toThrow(
      /--delete-removed needs --iam-group or --sudo-group/,
    );
  });
});

describe('the sync timer', () => {
  const command = syncCommand(ECHO_ARGV, SYNC, { region: 'cn-north-1', root: AWKWARD_ROOT });

  it('runs `lkp host sync-users` with the options, the region and --root (none for /)', () => {
    expect(command.slice(ECHO_ARGV.length)).toEqual([
      'host',
      'sync-users',
      ...userSyncArgs(SYNC),
      ...['--region', 'cn-north-1', '--root', AWKWARD_ROOT],
    ]);
    expect(syncCommand(['lkp'], SYNC, { region: 'us-east-1', root: '/' })).not.toContain('--root');
  });

  it('renders a timer every 10 minutes, 2 minutes after boot, spread by up to a minute', () => {
    const timer = renderSyncTimer();
    expect(timer.split('\n')[0]).toBe(SYNC_MARKER);
    for (const line of [
      'OnBootSec=2min',
      'OnUnitActiveSec=10min',
      'RandomizedDelaySec=60',
      'WantedBy=timers.target',
    ])
      expect(timer.split('\n')).toContain(line);
    expect(writtenBySyncJob(timer)).toBe(true);
    expect(writtenBySyncJob(`# mine\n${timer}`)).toBe(false);
  });

  it('renders a oneshot service whose ExecStart systemd splits back into the exact arguments', () => {
    const service = renderSyncService(command);
    expect(service).toContain('\nType=oneshot\n');
    const execStart = /^ExecStart=(.*)$/m.exec(service)?.[1] ?? '';
    expect(systemdWords(execStart)).toEqual(command);
    expect(parseSyncArgs(systemdWords(execStart).slice(ECHO_ARGV.length + 2, -4))).toEqual(SYNC);
  });

  it.skipIf(!hasCommand('systemd-analyze'))('writes units that systemd-analyze verify accepts', () => {
    const dir = mkdtempSync(join(temp, 'units-'));
    writeFileSync(join(dir, 'lkp-host-sync-users.service'), renderSyncService(command));
    writeFileSync(join(dir, 'lkp-host-sync-users.timer'), renderSyncTimer());
    const out = execFileSync('systemd-analyze', ['verify', join(dir, 'lkp-host-sync-users.timer')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toBe('');
  });

  it('renders a cron line that a shell runs with the exact arguments after a sleep of at most 60 s', () => {
    const cron = renderSyncCron(command);
    expect(cron.split('\n')[0]).toBe(SYNC_MARKER);
    const line = cron.split('\n').find((l) => l.startsWith('*/10 * * * * root '));
    expect(line).toBeDefined();
    // cron turns \% back into % before it hands the line to /bin/sh.
    const shellLine = (line ?? '').slice('*/10 * * * * root '.length).replace(/\\%/g, '%');
    const bin = mkdtempSync(join(temp, 'bin-'));
    const fake = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    fake('sleep', `echo "$1" > ${bin}/slept`);
    fake('logger', 'cat');
    const out = execFileSync('/bin/sh', ['-c', shellLine], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    expect(JSON.parse(out)).toEqual(command.slice(ECHO_ARGV.length));
    const slept = Number(readFileSync(join(bin, 'slept'), 'utf8'));
    expect(Number.isInteger(slept) && slept >= 0 && slept <= 60).toBe(true);
  });
});

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

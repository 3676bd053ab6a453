/**
 * `lkp host sync-users` and the sync options of `lkp host` are retired (the CA decides unix
 * accounts, lkp-host-agent applies them): old command lines and old sync timers get a message that
 * says where accounts come from now, never "unknown option" and never a sync.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { hostCommand } from '../../client/commands/host.js';
import { SYNC_USERS_RETIRED, syncUsersCommand } from '../../client/commands/host-sync-users.js';
import { EXIT } from '../../client/errors.js';

/** `lkp` as client/cli.ts assembles it: sync-users under host, no positional options. */
const lkp = new Command('lkp').addCommand(hostCommand.addCommand(syncUsersCommand));
const runLkp = (...args: string[]) => lkp.parseAsync(args, { from: 'user' });

describe('lkp host sync-users (retired)', () => {
  it.each([
    [['host', 'sync-users']],
    [['host', 'sync-users', '--iam-group', 'developers', '--sudo-group', 'admins', '--delete-removed']],
    // What the timer of older versions runs every 10 minutes.
    [
      [
        'host',
        'sync-users',
        '--iam-group',
        'dev',
        '--group-prefix',
        'lkp_',
        '--shell',
        '/bin/bash',
        '--region',
        'us-east-1',
      ],
    ],
    [['host', '--ca', 'https://ca.example.com/', '--iam-group', 'developers']],
  ])('refuses %j, pointing to the CA and lkp-host-agent', async (args) => {
    await expect(runLkp(...args)).rejects.toBe(SYNC_USERS_RETIRED);
    expect(SYNC_USERS_RETIRED.exitCode).toBe(EXIT.usage);
    expect(SYNC_USERS_RETIRED.message).toMatch(
      /the CA now decides unix accounts and lkp-host-agent applies them/,
    );
    expect(SYNC_USERS_RETIRED.hint).toMatch(/LKP_ACCOUNT_GROUPS/);
  });

  it('no longer documents the sync options in lkp host --help', () => {
    expect(hostCommand.helpInformation()).not.toMatch(/--iam-group|--sudo-group|--delete-removed/);
  });
});

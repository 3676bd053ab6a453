import { Command, Option } from 'commander';
import { CliError, EXIT } from '../errors.js';

/**
 * `lkp host sync-users` and the sync options of `lkp host` are retired: the CA decides which unix
 * accounts an instance has (LKP_ACCOUNT_GROUPS, LKP_SUDO_GROUPS) and lkp-host-agent applies its
 * answer, so there is one implementation of account management and instance roles need no IAM
 * permission. They are still parsed, so an old command line or sync timer gets this message
 * instead of "unknown option".
 */
export const SYNC_USERS_RETIRED = new CliError(
  'lkp host sync-users is retired: the CA now decides unix accounts and lkp-host-agent applies them',
  EXIT.usage,
  'set LKP_ACCOUNT_GROUPS / LKP_SUDO_GROUPS on the CA (serverless.yml: accountGroups, sudoGroups) and run ' +
    'lkp-host-agent on the instances (docs/deploy.md, "Personal unix accounts")',
);

const RETIRED_OPTIONS = [
  '--iam-group <name>',
  '--sudo-group <name>',
  '--group-prefix <prefix>',
  '--delete-removed',
  '--assume-role <arn>',
  '--external-id <id>',
  '--shell <path>',
];

/** The retired options, hidden from --help; any of them given → SYNC_USERS_RETIRED. */
export function addRetiredSyncOptions(command: Command): Command {
  for (const flags of RETIRED_OPTIONS) command.addOption(new Option(flags).hideHelp());
  return command;
}

/** Throws the retirement message when a retired sync option was given. */
export function refuseRetiredSyncOptions(flags: object): void {
  const keys = RETIRED_OPTIONS.map((o) => new Option(o).attributeName());
  if (keys.some((k) => (flags as Record<string, unknown>)[k] !== undefined)) throw SYNC_USERS_RETIRED;
}

/** `lkp host sync-users`; client/commands/host.ts attaches it under `lkp host`. */
export const syncUsersCommand = addRetiredSyncOptions(
  new Command('sync-users').description(
    'retired: the CA decides unix accounts and lkp-host-agent applies them (docs/deploy.md)',
  ),
)
  .allowUnknownOption()
  .allowExcessArguments()
  .action(() => {
    throw SYNC_USERS_RETIRED;
  });

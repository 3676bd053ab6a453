import { Command, Option } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { describeAction } from '../lib/host/users/apply.js';
import type { SyncReport } from '../lib/host/users/sync.js';
import type { UserSyncOutcome } from '../lib/host/run-host.js';
import type { UserSync } from '../lib/host/sync-timer.js';

/** The sync options as commander parses them, on `lkp host sync-users` and on `lkp host`. */
export interface UserSyncFlags {
  iamGroup: string[];
  sudoGroup: string[];
  groupPrefix: string;
  deleteRemoved?: boolean;
  assumeRole?: string;
  externalId?: string;
  shell: string;
}

interface SyncUsersOptions extends UserSyncFlags {
  region?: string;
  root: string;
  dryRun?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const IAM_NAME = /^[\w+=,.@-]{1,128}$/;
const ROLE_ARN = /^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** IAM's ExternalId pattern; it also keeps the value quotable in a systemd unit and a crontab. */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/** Adds the sync options; `lkp host` passes the same ones on to its sync timer (client/lib/host/sync-timer.ts). */
export function addUserSyncOptions(command: Command): Command {
  return command
    .option(
      '--iam-group <name>',
      'IAM group whose members get an account and a local group <prefix><name> (repeatable)',
      collect,
      [],
    )
    .option(
      '--sudo-group <name>',
      'IAM group whose members get an account and sudo (repeatable)',
      collect,
      [],
    )
    .option('--group-prefix <prefix>', 'prefix of local groups made from IAM groups', 'lkp_')
    .option(
      '--delete-removed',
      'delete accounts whose owner left the groups, instead of locking them (homes are kept)',
    )
    .option('--assume-role <arn>', 'role to read IAM through, in the account that holds the users')
    .option('--external-id <id>', 'external id for --assume-role')
    .option('--shell <path>', 'login shell of new accounts', '/bin/bash');
}

/** `lkp host sync-users`; client/commands/host.ts attaches it under `lkp host`. */
export const syncUsersCommand = addUserSyncOptions(
  new Command('sync-users').description(
    'create a unix account for each member of the given IAM groups, lock accounts whose owner left (docs/deploy.md)',
  ),
)
  .addOption(
    new Option('--region <region>', 'IAM signing region (us-east-1 in the aws partition)').env('AWS_REGION'),
  )
  .option('--root <dir>', 'root of the passwd/group/shadow files to manage (tests)', '/')
  .option('--dry-run', 'print the changes without making them')
  .option('--json', 'print the report as JSON')
  .addHelpText(
    'after',
    `
Examples:
  lkp host sync-users --iam-group developers --sudo-group admins
  lkp host sync-users --iam-group developers --assume-role arn:aws:iam::111122223333:role/lkp-read-groups
IAM user jane.doe@example.com gets the account jane.doe.at.example.com (the aws-ec2-ssh convention).`,
  )
  .action(async (opts: SyncUsersOptions) => {
    const sync = userSyncFrom(opts);
    if (sync === undefined)
      throw new CliError(
        'no IAM group given',
        EXIT.usage,
        'pass --iam-group <name> (and/or --sudo-group <name>)',
      );
    const dryRun = opts.dryRun ?? false;
    const report = await syncUsersOnce(sync, { root: opts.root, region: opts.region, dryRun });
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, dryRun));
    if (report.failed) throw new CliError('some accounts could not be synced (see above)');
  });

/** Checked flags → settings; undefined when no IAM group is given. Bad values are usage errors. */
export function userSyncFrom(flags: UserSyncFlags): UserSync | undefined {
  if (flags.iamGroup.length + flags.sudoGroup.length === 0) {
    const orphan = (
      [
        ['--delete-removed', flags.deleteRemoved],
        ['--assume-role', flags.assumeRole],
        ['--external-id', flags.externalId],
      ] as const
    ).find(([, value]) => value !== undefined);
    if (orphan !== undefined)
      throw new CliError(`${orphan[0]} needs --iam-group or --sudo-group`, EXIT.usage);
    return undefined;
  }
  const bad = [...flags.iamGroup, ...flags.sudoGroup].find((g) => !IAM_NAME.test(g));
  if (bad !== undefined) throw new CliError(`"${bad}" is not an IAM group name`, EXIT.usage);
  if (!/^[a-z_][a-z0-9_-]{0,15}$/.test(flags.groupPrefix))
    throw new CliError(
      `--group-prefix "${flags.groupPrefix}" must be a short lower-case name like lkp_`,
      EXIT.usage,
    );
  if (flags.assumeRole !== undefined && !ROLE_ARN.test(flags.assumeRole))
    throw new CliError(`--assume-role "${flags.assumeRole}" is not an IAM role ARN`, EXIT.usage);
  if (flags.externalId !== undefined && flags.assumeRole === undefined)
    throw new CliError('--external-id needs --assume-role', EXIT.usage);
  if (flags.externalId !== undefined && !EXTERNAL_ID.test(flags.externalId))
    throw new CliError('--external-id must be 2 to 1224 of the characters IAM allows', EXIT.usage);
  if (!/^\/[\w./+-]*$/.test(flags.shell))
    throw new CliError(`--shell "${flags.shell}" must be an absolute path like /bin/bash`, EXIT.usage);
  return {
    iamGroups: flags.iamGroup,
    sudoGroups: flags.sudoGroup,
    groupPrefix: flags.groupPrefix,
    deleteRemoved: flags.deleteRemoved ?? false,
    ...(flags.assumeRole !== undefined ? { assumeRole: flags.assumeRole } : {}),
    ...(flags.externalId !== undefined ? { externalId: flags.externalId } : {}),
    shell: flags.shell,
  };
}

/** One sync pass through the AWS credential chain (the instance role on EC2). */
export async function syncUsersOnce(
  sync: UserSync,
  at: { root: string; region: string | undefined; dryRun: boolean },
): Promise<SyncReport> {
  // The IAM SDK loads when a sync runs, not with every lkp command (issue "Benchmarks", item 4).
  const [{ iamClient }, { syncUsers }] = await Promise.all([
    import('../lib/host/users/iam.js'),
    import('../lib/host/users/sync.js'),
  ]);
  return syncUsers({
    iam: iamClient({
      region: iamRegion(at.region),
      ...(sync.assumeRole ? { assumeRoleArn: sync.assumeRole } : {}),
      ...(sync.externalId ? { externalId: sync.externalId } : {}),
    }),
    root: at.root,
    shell: sync.shell,
    iamGroups: sync.iamGroups,
    sudoGroups: sync.sudoGroups,
    groupPrefix: sync.groupPrefix,
    deleteRemoved: sync.deleteRemoved,
    dryRun: at.dryRun,
  });
}

/** `lkp host`'s sync step (HostDeps.syncUsers): the same pass, its report as log lines. */
export async function syncUsersForHost(
  sync: UserSync,
  at: { root: string; region: string; dryRun: boolean },
): Promise<UserSyncOutcome> {
  const report = await syncUsersOnce(sync, at);
  return { lines: formatReport(report, at.dryRun).trimEnd().split('\n'), failed: report.failed };
}

/** IAM signs in one region per partition, whatever region the instance runs in. */
function iamRegion(region: string | undefined): string {
  if (region?.startsWith('cn-')) return 'cn-north-1';
  if (region?.startsWith('us-gov-')) return 'us-gov-west-1';
  return 'us-east-1';
}

function formatReport(report: SyncReport, dryRun: boolean): string {
  const lines = [
    ...report.warnings.map((w) => `warning: ${w}`),
    ...(dryRun
      ? report.planned.map((a) => `dry run: ${describeAction(a)}`)
      : report.results.map((r) => (r.error ? `failed: ${r.error}` : describeAction(r.action)))),
    ...(report.sudoers === 'written' || report.sudoers === 'removed'
      ? [`sudoers.d file ${report.sudoers}`]
      : []),
  ];
  return lines.length === 0 ? 'accounts already in sync\n' : lines.map((l) => `${l}\n`).join('');
}

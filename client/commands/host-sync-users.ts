import { Command, Option } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { describeAction } from '../lib/host/users/apply.js';
import { iamClient } from '../lib/host/users/iam.js';
import { syncUsers, type SyncReport } from '../lib/host/users/sync.js';

interface SyncUsersOptions {
  iamGroup: string[];
  sudoGroup: string[];
  groupPrefix: string;
  deleteRemoved?: boolean;
  assumeRole?: string;
  externalId?: string;
  region?: string;
  root: string;
  shell: string;
  dryRun?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const IAM_NAME = /^[\w+=,.@-]{1,128}$/;
const ROLE_ARN = /^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** `lkp host sync-users`; client/commands/host.ts attaches it under `lkp host`. */
export const syncUsersCommand = new Command('sync-users')
  .description(
    'create a unix account for each member of the given IAM groups, lock accounts whose owner left (docs/deploy.md)',
  )
  .option(
    '--iam-group <name>',
    'IAM group whose members get an account and a local group <prefix><name> (repeatable)',
    collect,
    [],
  )
  .option('--sudo-group <name>', 'IAM group whose members get an account and sudo (repeatable)', collect, [])
  .option('--group-prefix <prefix>', 'prefix of local groups made from IAM groups', 'lkp_')
  .option(
    '--delete-removed',
    'delete accounts whose owner left the groups, instead of locking them (homes are kept)',
  )
  .option('--assume-role <arn>', 'role to read IAM through, in the account that holds the users')
  .option('--external-id <id>', 'external id for --assume-role')
  .addOption(
    new Option('--region <region>', 'IAM signing region (us-east-1 in the aws partition)').env('AWS_REGION'),
  )
  .option('--root <dir>', 'root of the passwd/group/shadow files to manage (tests)', '/')
  .option('--shell <path>', 'login shell of new accounts', '/bin/bash')
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
    checkOptions(opts);
    const report = await syncUsers({
      iam: iamClient({
        region: iamRegion(opts.region),
        ...(opts.assumeRole ? { assumeRoleArn: opts.assumeRole } : {}),
        ...(opts.externalId ? { externalId: opts.externalId } : {}),
      }),
      root: opts.root,
      shell: opts.shell,
      iamGroups: opts.iamGroup,
      sudoGroups: opts.sudoGroup,
      groupPrefix: opts.groupPrefix,
      deleteRemoved: opts.deleteRemoved ?? false,
      dryRun: opts.dryRun ?? false,
    });
    process.stdout.write(
      opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, opts.dryRun),
    );
    if (report.failed) throw new CliError('some accounts could not be synced (see above)');
  });

function checkOptions(opts: SyncUsersOptions): void {
  if (opts.iamGroup.length + opts.sudoGroup.length === 0)
    throw new CliError(
      'no IAM group given',
      EXIT.usage,
      'pass --iam-group <name> (and/or --sudo-group <name>)',
    );
  const bad = [...opts.iamGroup, ...opts.sudoGroup].find((g) => !IAM_NAME.test(g));
  if (bad !== undefined) throw new CliError(`"${bad}" is not an IAM group name`, EXIT.usage);
  if (!/^[a-z_][a-z0-9_-]{0,15}$/.test(opts.groupPrefix))
    throw new CliError(
      `--group-prefix "${opts.groupPrefix}" must be a short lower-case name like lkp_`,
      EXIT.usage,
    );
  if (opts.assumeRole !== undefined && !ROLE_ARN.test(opts.assumeRole))
    throw new CliError(`--assume-role "${opts.assumeRole}" is not an IAM role ARN`, EXIT.usage);
}

/** IAM signs in one region per partition, whatever region the instance runs in. */
function iamRegion(region: string | undefined): string {
  if (region?.startsWith('cn-')) return 'cn-north-1';
  if (region?.startsWith('us-gov-')) return 'us-gov-west-1';
  return 'us-east-1';
}

function formatReport(report: SyncReport, dryRun: boolean | undefined): string {
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

/**
 * `lkp host`: a thin wrapper around lkp-host-agent, the one implementation of host setup (issue 16):
 * it runs the agent shipped beside this bundle (dist/lkp-host-agent) with the same CA, so instances
 * that have lkp installed and those that have only the agent behave the same.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { addRetiredSyncOptions, refuseRetiredSyncOptions } from './host-sync-users.js';
import { caUrlOption, type CaUrlOptions } from './shared.js';

interface HostFlags extends CaUrlOptions {
  principal: string[];
  reload: boolean;
  root: string;
}

export const hostCommand = addRetiredSyncOptions(
  caUrlOption(
    new Command('host')
      .description(
        'set up this EC2 instance for lkp (run as root at boot): runs lkp-host-agent — host certificate, trust in the CA for user logins, renewal',
      )
      .addOption(
        new Option(
          '--principal <name>',
          'another host name to ask for (repeatable; the CA signs it only if EC2 confirms it)',
        )
          .argParser((value: string, previous: string[]) => [...previous, value])
          .default([], 'none'),
      )
      .option('--no-reload', 'do not reload sshd')
      .option('--root <dir>', 'prefix every path written (tests, staging)', '/')
      .addHelpText(
        'after',
        `
The same as running the agent itself (docs/deploy.md, "Hosts"):
  lkp-host-agent run --ca URL | --ca-function NAME --ca-region R [--principal NAME]… [--no-reload]
Idempotent: a second run changes nothing and asks the CA for no certificate. The certificate is
renewed at two thirds of its lifetime by the lkp-host-renew.timer systemd timer (a cron.d entry
without systemd), which runs the agent from /usr/local/sbin/lkp-host-agent.
Users log in as <user> with a certificate for the principal <user>@<instance ARN>.

Example (EC2 user data, as root):
  lkp host --ca https://abcdefg.lambda-url.eu-west-1.on.aws/`,
      ),
  ),
)
  .hook('preSubcommand', handOptionsToSubcommand)
  .action(async (flags: HostFlags) => {
    refuseRetiredSyncOptions(flags);
    const code = await runHostAgent(
      [
        'run',
        ...caArgs(flags),
        ...flags.principal.flatMap((p) => ['--principal', p]),
        ...(flags.reload ? [] : ['--no-reload']),
      ],
      flags.root,
    );
    if (code !== 0)
      throw new CliError(
        `lkp-host-agent failed (exit ${code}); the lines above say why`,
        EXIT.error,
        'the configuration that was in place is kept; the renewal timer tries again',
      );
  });

/** The CA as the agent's options: a URL, or a Lambda function with its region. */
function caArgs(flags: CaUrlOptions): string[] {
  if (flags.function) {
    if (!flags.caRegion)
      throw new CliError(
        `--function ${flags.function} needs a region`,
        EXIT.usage,
        'pass --ca-region or set AWS_REGION',
      );
    return ['--ca-function', flags.function, '--ca-region', flags.caRegion];
  }
  if (!flags.ca)
    throw new CliError('no CA given', EXIT.usage, 'pass --ca <url> or --function <name>, or set LKP_CA_URL');
  return ['--ca', flags.ca];
}

/** The agent beside the bundle (dist/lkp-host-agent), or in the source tree when lkp runs from sources. */
export function hostAgentFile(): string {
  const candidates = ['./lkp-host-agent', '../../host/lkp-host-agent'].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined)
    throw new CliError('lkp-host-agent is missing from this lkp installation', EXIT.error, 'reinstall lkp');
  return found;
}

/** Runs the agent with this terminal; resolves to its exit code. */
function runHostAgent(args: string[], root: string): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (root !== '/') env.LKP_HOST_ROOT = root;
  // The SDK's override of the metadata endpoint (tests): the agent takes only a loopback stand-in.
  if (process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT)
    env.LKP_HOST_IMDS_ENDPOINT = process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT.replace(/\/+$/, '');
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', [hostAgentFile(), ...args], { stdio: 'inherit', env });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/**
 * `lkp host sync-users …`: unless the program enables positional options, commander gives options
 * that `host` shares with the subcommand to `host`; they are handed on so the subcommand sees them.
 */
function handOptionsToSubcommand(host: Command, subcommand: Command): void {
  for (const option of subcommand.options) {
    const key = option.attributeName();
    if (host.getOptionValueSource(key) === 'cli')
      subcommand.setOptionValueWithSource(key, host.getOptionValue(key), 'cli');
  }
}

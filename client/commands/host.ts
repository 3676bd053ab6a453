import { realpathSync } from 'node:fs';
import { Command, Option } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { DEFAULT_HOST_KEY, DEFAULT_SSHD_CONFIG_DIR } from '../lib/host/layout.js';
import type { HostOptions } from '../lib/host/run-host.js';
import { addRetiredSyncOptions, refuseRetiredSyncOptions } from './host-sync-users.js';
import { caUrlOption, type CaUrlOptions, resolveCa } from './shared.js';

interface HostFlags extends CaUrlOptions {
  region?: string;
  sshdConfigDir: string;
  hostKey: string;
  principal: string[];
  dryRun?: boolean;
  reload: boolean;
  root: string;
}

export const hostCommand = addRetiredSyncOptions(
  caUrlOption(
    new Command('host')
      .description(
        'set up this EC2 instance for lkp (run as root at boot): host certificate, trust in the CA for user logins, renewal',
      )
      .option('--region <region>', 'region of the instance ARN (default: from instance metadata)')
      .option('--sshd-config-dir <dir>', 'sshd drop-in folder', DEFAULT_SSHD_CONFIG_DIR)
      .option('--host-key <path>', 'ed25519 host key to certify (created when missing)', DEFAULT_HOST_KEY)
      .addOption(
        new Option(
          '--principal <name>',
          'another host name to ask for (repeatable; the CA signs it only if EC2 confirms it)',
        )
          .argParser((value: string, previous: string[]) => [...previous, value])
          .default([], 'none'),
      )
      .option('--dry-run', 'print every file it would write and command it would run, change nothing')
      .option('--no-reload', 'do not reload sshd')
      .option('--root <dir>', 'prefix every path read and written (tests, staging)', '/')
      .addHelpText(
        'after',
        `
Idempotent: a second run changes nothing and asks the CA for nothing. The certificate is renewed
at two thirds of its lifetime by the lkp-host-renew.timer systemd timer (a cron.d entry without systemd).
Users log in as <user> with a certificate for the principal <user>@<instance ARN>.
Unix accounts for people come from the CA through lkp-host-agent (docs/deploy.md); lkp host removes
the lkp-host-sync-users timer older versions installed.

Example (EC2 user data, as root):
  lkp host --ca https://abcdefg.lambda-url.eu-west-1.on.aws/`,
      ),
  ),
)
  .hook('preSubcommand', handOptionsToSubcommand)
  .action(async (flags: HostFlags) => {
    refuseRetiredSyncOptions(flags);
    const ca = resolveCa(flags);
    const options: HostOptions = {
      ca: ca.target,
      caArgs: ca.args,
      ...(flags.region ? { region: flags.region } : {}),
      sshdConfigDir: flags.sshdConfigDir,
      hostKey: flags.hostKey,
      principals: flags.principal,
      dryRun: flags.dryRun === true,
      reload: flags.reload,
      root: flags.root,
      lkpCommand: [process.execPath, realpathSync(process.argv[1] ?? '')],
    };
    if (!options.dryRun && options.root === '/' && process.getuid?.() !== 0)
      throw new CliError(
        'lkp host writes /etc/ssh and reloads sshd: run it as root',
        EXIT.usage,
        'sudo lkp host …, or --dry-run',
      );
    // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
    const [
      { fetchCaInfo, requestCertificate },
      { resolveCredentials },
      { readInstanceMetadata },
      { runHost },
      { runCommand },
    ] = await Promise.all([
      import('../lib/certificates.js'),
      import('../lib/credentials.js'),
      import('../lib/host/imds.js'),
      import('../lib/host/run-host.js'),
      import('../lib/host/system.js'),
    ]);
    await runHost(options, {
      metadata: () => readInstanceMetadata(),
      caInfo: fetchCaInfo,
      requestHostCertificate: async (target, info, ask) =>
        requestCertificate(target, info, await resolveCredentials({}), { Kind: 'Host', ...ask }),
      run: runCommand,
      now: () => Math.floor(Date.now() / 1000),
      log: (line) => process.stdout.write(`${line}\n`),
    });
  });

/**
 * `lkp host sync-users --root R --iam-group G`: unless the program enables positional options,
 * commander gives options that `host` shares with the subcommand to `host`, so they are handed on
 * here (without it --dry-run would be lost and the sync would run for real).
 */
function handOptionsToSubcommand(host: Command, subcommand: Command): void {
  for (const option of subcommand.options) {
    const key = option.attributeName();
    if (host.getOptionValueSource(key) === 'cli')
      subcommand.setOptionValueWithSource(key, host.getOptionValue(key), 'cli');
  }
}

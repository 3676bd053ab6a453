import { spawn } from 'node:child_process';
import { Command, Option } from 'commander';
import { CliError, EXIT, toCliError } from '../errors.js';
import { lkpPaths, pickProfile, readConfig } from '../lib/config.js';
import type { PreparedLogin } from '../lib/login.js';
import { checkUser, parseLogin } from '../lib/targets.js';
import { profileOptions, withRenameHint } from './shared.js';

interface SshOptions {
  user?: string;
  profile?: string;
  awsProfile?: string;
  region?: string;
  voucher: string[];
  dryRun?: boolean;
  json?: boolean;
}

export const sshCommand = profileOptions(new Command('ssh'))
  .description('log in to an instance by id, ARN or Name tag with a fresh short-lived certificate')
  .argument('<target>', '[user@]<instance id | instance ARN | Name tag>')
  .argument('[ssh-args...]', 'after --: options and a remote command for ssh')
  .option('--user <name>', 'the login (default: user@ in the target, else the profile default, ec2-user)')
  .option('--region <region>', "region of instance lookups by id or Name tag (default: the profile's)")
  .addOption(
    new Option('--voucher <token>', 'a voucher from `lkp vouch` for the access policy (repeatable)')
      .default([])
      .argParser((value: string, previous: string[]) => [...previous, value]),
  )
  .option('--dry-run', 'get the certificate and print the ssh command instead of running it')
  .option('--json', 'with --dry-run: print the command and certificate as JSON')
  .addHelpText(
    'after',
    `
Instance ids and ARNs are used as given; a Name tag is looked up with EC2 DescribeInstances
(running instances, your credentials and region). Certificates are cached per target and user
until 5 minutes before they expire. The key lives in your ssh-agent when one runs, else in
~/.lkp/keys/<profile>/. Host keys are verified by certificate: no "continue connecting?".
An instance with no address you can reach is reached through an EC2 Instance Connect Endpoint
in its VPC (lkp tunnel as ProxyCommand; the profile's "reach" setting, docs/eice.md).

Examples:
  lkp ssh i-0123456789abcdef0
  lkp ssh ubuntu@web-1 -- -L 8080:localhost:80
  lkp ssh ec2-user@arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0 -- uptime
  lkp ssh web-1 --dry-run --json`,
  )
  .action(async (targetText: string, sshArgs: string[], opts: SshOptions) => {
    // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
    const { loginContext, prepareLogin } = await import('../lib/login.js');
    const paths = lkpPaths();
    const picked = withRenameHint(() => pickProfile(readConfig(paths), opts.profile), opts.profile);
    const { name } = picked;
    const profile = {
      ...picked.profile,
      ...(opts.awsProfile ? { awsProfile: opts.awsProfile } : {}),
      ...(opts.region ? { region: opts.region } : {}),
    };
    const login = parseLogin(targetText);
    const user = checkUser(opts.user ?? login.user ?? profile.defaultUser);
    const ctx = loginContext(paths, name, profile, { quiet: opts.json === true });
    // --dry-run connects nowhere: it needs no host revocation list (nor the AWS call to refresh it).
    const prepared = await prepareLogin(ctx, login.target.text, user, {
      vouchers: opts.voucher,
      revocations: !opts.dryRun,
    });
    const args = sshCommandArgs(prepared, sshArgs);
    if (opts.dryRun) {
      process.stdout.write(
        opts.json ? `${JSON.stringify(dryRunReport(prepared, args), null, 2)}\n` : dryRunText(prepared, args),
      );
      return;
    }
    const code = await runSsh(args);
    if (code === SSH_FAILED && prepared.cached)
      await explainRefusal(() => prepareLogin(ctx, login.target.text, user, { renew: true }));
    process.exit(code);
  });

/** ssh's own exit code when it could not connect or log in (or the remote command exited 255). */
const SSH_FAILED = 255;

/**
 * ssh failed with a cached certificate, and sshd says only "Permission denied": the certificate or
 * the host may have been locked since (docs/security.md, "Revocation"). Asking the CA for a new
 * certificate tells: a refusal becomes lkp's error, with the CA's reason and exit code 3. A new
 * certificate is cached for the next try; lkp does not retry by itself, since a remote command may
 * have run. A CA that cannot be reached adds nothing to ssh's own message.
 */
async function explainRefusal(renew: () => Promise<PreparedLogin>): Promise<void> {
  let fresh: PreparedLogin;
  try {
    fresh = await renew();
  } catch (e) {
    const err = toCliError(e);
    if (err.exitCode !== EXIT.denied) return;
    throw new CliError(
      err.message,
      err.exitCode,
      err.hint ?? 'ssh failed with the certificate lkp had cached, and the CA now refuses a new one',
      err.code,
    );
  }
  process.stderr.write(
    `lkp: ssh failed with a cached certificate; the CA issued a new one (serial ${fresh.response.Serial}), so try again\n`,
  );
}

/**
 * `ssh -F <per-target config>`: everything lkp sets lives in that one file (jumpboxes need Host
 * blocks of their own: ssh's -J cannot give a hop its HostKeyAlias), and ssh passes -F on to the
 * ProxyJump hops. ssh reads options after the host too, so the user's `-p 2222 uptime` just follows.
 */
export function sshCommandArgs(p: PreparedLogin, extra: readonly string[]): string[] {
  return ['-F', p.configFile, '-l', p.user, p.host, ...extra];
}

function dryRunReport(p: PreparedLogin, args: string[]) {
  const r = p.response;
  return {
    command: ['ssh', ...args],
    target: { host: p.host, arn: p.arn, address: p.address, user: p.user },
    route: p.route.kind === 'eice' ? { kind: 'eice', ...p.route.tunnel } : p.route,
    certificate: {
      file: p.certificateFile,
      cached: p.cached,
      keyId: r.KeyId,
      serial: r.Serial,
      principals: r.Principals,
      validAfter: new Date(r.ValidAfter * 1000).toISOString(),
      validBefore: new Date(r.ValidBefore * 1000).toISOString(),
    },
    jumpboxes: (r.Jumpboxes ?? []).map(({ Address, User, HostKeyAlias }) => ({
      Address,
      User,
      HostKeyAlias,
    })),
  };
}

function dryRunText(p: PreparedLogin, args: string[]): string {
  const d = dryRunReport(p, args);
  return [
    d.command.map(shellWord).join(' '),
    `target: ${p.arn} at ${p.address}`,
    ...(p.route.kind === 'eice'
      ? [`through: EC2 Instance Connect Endpoint ${p.route.tunnel.endpointId} (${p.route.tunnel.region})`]
      : []),
    `certificate: ${d.certificate.file}${p.cached ? ' (cached)' : ''}`,
    `  principals: ${d.certificate.principals.join(', ')}`,
    `  valid: ${d.certificate.validAfter} to ${d.certificate.validBefore}`,
    `  serial: ${d.certificate.serial}`,
    ...d.jumpboxes.map((j) => `jumpbox: ${j.User}@${j.Address} (host key alias ${j.HostKeyAlias})`),
    '',
  ].join('\n');
}

function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The system ssh with our terminal; its exit code becomes ours (128 + n for a signal, as shells report). */
function runSsh(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: 'inherit' });
    // Ctrl-C reaches ssh through the terminal's process group; lkp must not die before it.
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const).map(
      (s) => [s, s === 'SIGINT' ? () => {} : forward(s)] as const,
    );
    for (const [s, h] of handlers) process.on(s, h);
    child.once('error', (e) =>
      reject(
        new CliError(
          `could not run ssh: ${e.message}`,
          EXIT.error,
          'install the OpenSSH client (openssh-client)',
        ),
      ),
    );
    child.once('exit', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      resolve(code ?? 128 + signalNumber(signal));
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGTERM: 15,
  };
  return (signal && numbers[signal]) ?? 1;
}

import { Command } from 'commander';
import { toCliError } from '../errors.js';
import { lkpPaths, pickProfile, readConfig } from '../lib/config.js';
import { parseTarget } from '../lib/targets.js';
import { profileOptions } from './shared.js';

interface SshMatchOptions {
  profile?: string;
}

/**
 * The hook of transparent mode, run by ssh for `Match … exec` (see ~/.lkp/ssh_config): makes sure
 * a usable certificate and the per-target config exist, and answers 0 (lkp handles this host) or
 * 1 (it does not: ssh goes on as if lkp were not there). Silent on success, one line on failure.
 */
export const sshMatchCommand = profileOptions(new Command('ssh-match'))
  .description('(used by ~/.lkp/ssh_config) prepare a login for plain ssh; exit 0 to match, 1 not to')
  .argument('<host>', 'the host as typed (ssh %h)')
  .argument('<user>', 'the login (ssh %r)')
  .addHelpText(
    'after',
    `
ssh runs this itself, from the Match block that \`lkp setup\` writes:
  Match host "i-*,arn:aws*:ec2:*,…" user "*,!*'*" exec "lkp ssh-match --profile default '%h' '%r'"

Example (what ssh does for \`ssh ec2-user@i-0123456789abcdef0\`):
  lkp ssh-match --profile default i-0123456789abcdef0 ec2-user; echo $?`,
  )
  .action(async (host: string, user: string, opts: SshMatchOptions) => {
    process.exit(await sshMatch(host, user, opts));
  });

async function sshMatch(host: string, user: string, opts: SshMatchOptions): Promise<number> {
  // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
  const { forgetLogin, loginContext, prepareLogin } = await import('../lib/login.js');
  const paths = lkpPaths();
  let ctx;
  try {
    const { name, profile } = pickProfile(readConfig(paths), opts.profile);
    ctx = loginContext(paths, name, profile, { quiet: true });
    await prepareLogin(ctx, host, user);
    return 0;
  } catch (e) {
    if (ctx) forgetLogin(ctx, host, user);
    const err = toCliError(e);
    // A Name-tag pattern may also match hosts that are not instances: no noise for those.
    const quiet = !isInstanceName(host) && /^no running instance named/.test(err.message);
    if (!quiet) process.stderr.write(`lkp: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
    return 1;
  }
}

function isInstanceName(host: string): boolean {
  try {
    return parseTarget(host).kind !== 'name';
  } catch {
    return false;
  }
}

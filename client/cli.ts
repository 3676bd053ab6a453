#!/usr/bin/env node
/** `lkp`: the client of the lkp SSH certificate authority. One command per file in commands/. */
import { Command, CommanderError } from 'commander';
import { CliError, EXIT, exitWith } from './errors.js';

/** Every command, in the order help lists them; a command's module loads only when it is wanted. */
const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Promise<Command>]> = [
  ['setup', async () => (await import('./commands/setup.js')).setupCommand],
  ['ssh', async () => (await import('./commands/ssh.js')).sshCommand],
  ['ssh-match', async () => (await import('./commands/ssh-match.js')).sshMatchCommand],
  ['tunnel', async () => (await import('./commands/tunnel.js')).tunnelCommand],
  ['ca', async () => (await import('./commands/ca.js')).caCommand],
  ['cert', async () => (await import('./commands/cert.js')).certCommand],
  ['policy', async () => (await import('./commands/policy.js')).policyCommand],
  [
    'host',
    async () => {
      const [{ hostCommand }, { syncUsersCommand }] = await Promise.all([
        import('./commands/host.js'),
        import('./commands/host-sync-users.js'),
      ]);
      return hostCommand.addCommand(syncUsersCommand);
    },
  ],
  ['doctor', async () => (await import('./commands/doctor.js')).doctorCommand],
  ['open', async () => (await import('./commands/open.js')).openCommand],
  ['close', async () => (await import('./commands/close.js')).closeCommand],
  ['vouch', async () => (await import('./commands/vouch.js')).vouchCommand],
  ['lock', async () => (await import('./commands/lock.js')).lockCommand],
  ['unlock', async () => (await import('./commands/lock.js')).unlockCommand],
  ['locks', async () => (await import('./commands/lock.js')).locksCommand],
];

/**
 * Startup time is part of every ssh connection (`lkp ssh`, and `lkp ssh-match` run by ssh's Match
 * exec): commander dispatches on the first argument, so when it names a command only that one is
 * loaded; `--version` needs none; anything else (help, a typo) gets them all (issue "Benchmarks", item 4).
 */
function loadCommands(first: string | undefined): Promise<Command[]> {
  const named = COMMANDS.find(([name]) => name === first);
  const wanted = named ? [named] : first === '-V' || first === '--version' ? [] : COMMANDS;
  return Promise.all(wanted.map(([, load]) => load()));
}

/** `lkp frob` and `lkp frob --help` are usage errors (exit 2), not the main help with exit 0. */
function checkCommandName(argv: readonly string[]): void {
  const [first, second] = argv;
  const named = first === 'help' ? second : first;
  if (named === undefined || named.startsWith('-')) return;
  if (COMMANDS.some(([name]) => name === named)) return;
  throw new CliError(
    `unknown command '${named}'`,
    EXIT.usage,
    `the commands are: ${COMMANDS.map(([name]) => name).join(', ')} (lkp --help)`,
  );
}

/**
 * Commander's own errors (unknown option, missing value) become usage errors with exit code 2 and
 * go through exitWith, so `--json` gets JSON for them too; help and --version still exit 0.
 */
function routeErrors(command: Command): void {
  command.exitOverride().configureOutput({ outputError: () => {} });
  for (const sub of command.commands) routeErrors(sub);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  checkCommandName(args);
  const program = new Command()
    .name('lkp')
    .description('SSH certificates from your AWS identity: no public keys to copy, nothing long-lived')
    .version('0.1.0');
  for (const command of await loadCommands(args[0])) program.addCommand(command);
  routeErrors(program);
  try {
    await program.parseAsync();
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.exitCode === 0) process.exit(0);
    // `lkp` alone: commander printed the help on stderr already.
    if (e.code === 'commander.help') process.exit(EXIT.usage);
    throw new CliError(e.message.replace(/^error: /, ''), EXIT.usage, 'see lkp <command> --help');
  }
}

main().catch(exitWith);

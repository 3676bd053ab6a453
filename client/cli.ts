#!/usr/bin/env node
/** `lkp`: the client of the lkp SSH certificate authority. One command per file in commands/. */
import { Command } from 'commander';
import { exitWith } from './errors.js';

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

async function main(): Promise<void> {
  const program = new Command()
    .name('lkp')
    .description('SSH certificates from your AWS identity: no public keys to copy, nothing long-lived')
    .version('0.1.0');
  for (const command of await loadCommands(process.argv[2])) program.addCommand(command);
  await program.parseAsync();
}

main().catch(exitWith);

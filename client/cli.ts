#!/usr/bin/env node
/** `lkp`: the client of the lkp SSH certificate authority. One command per file in commands/. */
import { Command } from 'commander';
import { caCommand } from './commands/ca.js';
import { certCommand } from './commands/cert.js';
import { doctorCommand } from './commands/doctor.js';
import { hostCommand } from './commands/host.js';
import { openCommand } from './commands/open.js';
import { setupCommand } from './commands/setup.js';
import { sshMatchCommand } from './commands/ssh-match.js';
import { sshCommand } from './commands/ssh.js';
import { vouchCommand } from './commands/vouch.js';
import { syncUsersCommand } from './commands/host-sync-users.js';
import { policyCommand } from './commands/policy.js';
import { exitWith } from './errors.js';

const program = new Command()
  .name('lkp')
  .description('SSH certificates from your AWS identity: no public keys to copy, nothing long-lived')
  .version('0.1.0')
  .addCommand(setupCommand)
  .addCommand(sshCommand)
  .addCommand(sshMatchCommand)
  .addCommand(caCommand)
  .addCommand(certCommand)
  .addCommand(policyCommand)
  .addCommand(hostCommand.addCommand(syncUsersCommand))
  .addCommand(doctorCommand)
  .addCommand(openCommand)
  .addCommand(vouchCommand);

try {
  await program.parseAsync();
} catch (e) {
  exitWith(e);
}

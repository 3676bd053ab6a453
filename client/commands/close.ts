/**
 * `lkp close`: revoke this caller's network leases now, instead of waiting for them to expire
 * (docs/access-policy.md, "Network access leases"). The CA proves who asks, exactly as for a
 * certificate; it revokes only rules it opened for that caller.
 */
import { Command } from 'commander';
import { caUrlOption, type CaUrlOptions, resolveCa } from './shared.js';

interface CloseOptions extends CaUrlOptions {
  json?: boolean;
}

export const closeCommand = caUrlOption(
  new Command('close')
    .description('revoke the network leases the CA opened for you, now')
    .option('--json', 'print the answer as JSON')
    .addHelpText(
      'after',
      `
Example:
  lkp close
  lkp close --profile prod --json`,
    ),
).action(async (opts: CloseOptions, command: Command) => {
  const { closeLeases } = await import('../lib/leases.js');
  const ca = resolveCa(opts, command);
  const closed = await closeLeases(ca.transport, ca.awsProfile);
  process.stdout.write(
    opts.json ? `${JSON.stringify({ Closed: closed })}\n` : `revoked ${closed} lease rule(s)\n`,
  );
});

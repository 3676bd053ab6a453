import { Command } from 'commander';
import { caUrlOption, type CaUrlOptions, resolveCa } from './shared.js';

export const caCommand = caUrlOption(
  new Command('ca')
    .description('print the CA public keys, for TrustedUserCAKeys or an @cert-authority known_hosts line')
    .option('--json', 'print the whole Info answer as JSON')
    .addHelpText(
      'after',
      `
Examples:
  lkp ca                      # the CA of the default lkp profile
  lkp ca --profile prod --json
  lkp ca --ca http://127.0.0.1:8080
  lkp ca --ca "$CA" > /etc/ssh/lkp_trusted_user_ca_keys   # a host without the agent: TrustedUserCAKeys

To trust host certificates, use \`lkp setup\` (or \`lkp setup --refresh-ca\` after a rotation): it
trusts the CA for that profile's hosts only. An "@cert-authority *" line in ~/.ssh/known_hosts
would let this CA vouch for every host you reach, inside AWS or not.`,
    ),
).action(async (opts: CaUrlOptions & { json?: boolean }, command: Command) => {
  // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
  const { fetchCaInfo } = await import('../lib/certificates.js');
  const info = await fetchCaInfo(resolveCa(opts, command).transport);
  process.stdout.write(
    opts.json ? `${JSON.stringify(info, null, 2)}\n` : info.CaPublicKeys.map((k) => `${k}\n`).join(''),
  );
});

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
  echo "@cert-authority * $(lkp ca --ca "$CA" | head -1)" >> ~/.ssh/known_hosts`,
    ),
).action(async (opts: CaUrlOptions & { json?: boolean }, command: Command) => {
  // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
  const { fetchCaInfo } = await import('../lib/certificates.js');
  const info = await fetchCaInfo(resolveCa(opts, command).transport);
  process.stdout.write(
    opts.json ? `${JSON.stringify(info, null, 2)}\n` : info.CaPublicKeys.map((k) => `${k}\n`).join(''),
  );
});

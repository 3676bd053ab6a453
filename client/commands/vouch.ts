/**
 * `lkp vouch --for <vouchee> --context <instance ARN or text>`: sign a voucher with your own AWS
 * credentials and print it, for someone else to pass with `lkp ssh --voucher` (DESIGN §3.2, §4).
 */
import { Command } from 'commander';
import { caUrlOption, type CaUrlOptions, resolveCa } from './shared.js';

interface VouchOptions extends CaUrlOptions {
  for: string;
  context: string;
}

export const vouchCommand = caUrlOption(
  new Command('vouch')
    .description('vouch for someone: print a voucher token they pass to the CA with their request')
    .requiredOption('--for <vouchee>', 'whom you vouch for: their IAM user name, role session name or ARN')
    .requiredOption('--context <context>', 'what for: the instance ARN, or free text such as a ticket id')
    .addHelpText(
      'after',
      `
The voucher is signed with your AWS credentials and bound to this CA, the person and the context;
it says who you are, not what anyone may do: the CA's access policy decides what vouchers count for.
The CA accepts it for a short time (LKP_VOUCHER_MAX_AGE, 15 minutes by default). It carries your
session token (never your secret key), so give it only to the person you vouch for.

Example:
  lkp vouch --for alice --context arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0
  # alice then runs:
  lkp ssh i-0123456789abcdef0 --voucher lkpv1.eyJNZXRob2QiOi…`,
    ),
).action(async (opts: VouchOptions, command: Command) => {
  // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
  const [{ fetchCaInfo }, { buildVoucher }] = await Promise.all([
    import('../lib/certificates.js'),
    import('../lib/voucher.js'),
  ]);
  const ca = resolveCa(opts, command);
  const credentials = await ca.credentials();
  const info = await fetchCaInfo(ca.transport);
  const token = buildVoucher({
    stsEndpoint: info.StsEndpoint,
    region: info.StsRegion,
    serverId: info.ServerId,
    vouchee: opts.for,
    context: opts.context,
    credentials,
  });
  process.stdout.write(`${token}\n`);
});

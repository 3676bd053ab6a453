import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { DEFAULT_USER } from '../lib/config.js';
import { terminalProgress } from '../lib/progress.js';
import { checkUser, parseLogin } from '../lib/targets.js';
import { caUrlOption, type CaUrlOptions, resolveCa } from './shared.js';

interface CertOptions extends CaUrlOptions {
  instance: string;
  user?: string;
  key: string;
  region?: string;
  json?: boolean;
}

export const certCommand = caUrlOption(
  new Command('cert')
    .description(
      'get a user certificate for an existing public key and write it next to the key (<key>-cert.pub)',
    )
    .requiredOption(
      '--instance <target>',
      'the instance to log in to, as for lkp ssh: [user@]<instance id | instance ARN | Name tag>',
    )
    .option(
      '--user <name>',
      "the unix user to log in as (default: user@, else the profile's default, ec2-user)",
    )
    .option('--key <path>', 'the public key to certify', join(homedir(), '.ssh', 'id_ed25519.pub'))
    .option('--region <region>', "region of instance lookups by id or Name tag (default: the profile's)")
    .option('--json', 'print the CA answer as JSON instead of a summary')
    .addHelpText(
      'after',
      `
The certificate is valid for the CA's user TTL (1 hour by default) and names the login:
principal <user>@<instance ARN>. ssh picks it up from <key>-cert.pub automatically.
Instance ids and Name tags are looked up with EC2 DescribeInstances, as lkp ssh does.

Examples:
  lkp cert --instance ec2-user@web-1
  lkp cert --instance i-0123456789abcdef0 --user ubuntu --key ~/.ssh/id_ed25519.pub
  lkp cert --ca "$LKP_CA_URL" --instance arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0 --user ec2-user`,
    ),
).action(async (opts: CertOptions, command: Command) => {
  // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
  const [{ fetchCaInfo, requestCertificate }, { ec2Lookup, resolveTarget }] = await Promise.all([
    import('../lib/certificates.js'),
    import('../lib/targets.js'),
  ]);
  const ca = resolveCa(opts, command);
  const login = parseLogin(opts.instance);
  const user = checkUser(opts.user ?? login.user ?? ca.profile?.defaultUser ?? DEFAULT_USER);
  if (!existsSync(opts.key))
    throw new CliError(`no public key at ${opts.key}`, EXIT.usage, 'create one with ssh-keygen -t ed25519');
  const publicKey = readFileSync(opts.key, 'utf8').trim();
  const region = opts.region ?? ca.region;
  const progress = terminalProgress();
  const target = login.target;
  // An ARN is all the CA needs; ids and Name tags are looked up as lkp ssh does.
  const arn =
    target.kind === 'arn'
      ? target.arn
      : (
          await progress(`lkp: looking up ${opts.instance} in EC2`, () =>
            resolveTarget(
              target,
              ec2Lookup({
                ...(region ? { region } : {}),
                ...(ca.awsProfile ? { awsProfile: ca.awsProfile } : {}),
                credentials: ca.credentials,
              }),
            ),
          )
        ).arn;
  const cert = await progress(
    `lkp: requesting a certificate for ${user}@${arn} from ${ca.transport.where}`,
    async () =>
      requestCertificate(ca.transport, await fetchCaInfo(ca.transport), await ca.credentials(), {
        Kind: 'User',
        PublicKey: publicKey,
        RemoteInstanceArn: arn,
        SshUsername: user,
      }),
  );
  const certPath = `${opts.key.replace(/\.pub$/, '')}-cert.pub`;
  writeFileSync(certPath, `${cert.Certificate}\n`);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ...cert, CertificateFile: certPath }, null, 2)}\n`);
    return;
  }
  const until = new Date(cert.ValidBefore * 1000).toISOString();
  process.stdout.write(
    `wrote ${certPath}\n  principals: ${cert.Principals.join(', ')}\n  valid until: ${until}\n  serial: ${cert.Serial}\n`,
  );
});

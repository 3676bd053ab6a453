import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { caUrlOption, type CaUrlOptions, resolveCa } from './shared.js';

interface CertOptions extends CaUrlOptions {
  instance: string;
  user: string;
  key: string;
  profile?: string;
  json?: boolean;
}

export const certCommand = caUrlOption(
  new Command('cert')
    .description(
      'get a user certificate for an existing public key and write it next to the key (<key>-cert.pub)',
    )
    .requiredOption(
      '--instance <arn>',
      'the instance to log in to: arn:aws:ec2:<region>:<account>:instance/i-…',
    )
    .requiredOption('--user <name>', 'the unix user to log in as, e.g. ec2-user')
    .option('--key <path>', 'the public key to certify', join(homedir(), '.ssh', 'id_ed25519.pub'))
    .option('--profile <name>', 'AWS profile for the identity proof (default: the AWS credential chain)')
    .option('--json', 'print the CA answer as JSON instead of a summary')
    .addHelpText(
      'after',
      `
The certificate is valid for the CA's user TTL (1 hour by default) and names the login:
principal <user>@<instance ARN>. ssh picks it up from <key>-cert.pub automatically.

Example:
  lkp cert --ca "$LKP_CA_URL" --instance arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0 \\
           --user ec2-user --key ~/.ssh/id_ed25519.pub`,
    ),
).action(async (opts: CertOptions) => {
  // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
  const [{ fetchCaInfo, requestCertificate }, { resolveCredentials }] = await Promise.all([
    import('../lib/certificates.js'),
    import('../lib/credentials.js'),
  ]);
  const ca = resolveCa(opts).target;
  if (!existsSync(opts.key))
    throw new CliError(`no public key at ${opts.key}`, EXIT.usage, 'create one with ssh-keygen -t ed25519');
  const publicKey = readFileSync(opts.key, 'utf8').trim();
  const credentials = await resolveCredentials(opts.profile ? { profile: opts.profile } : {});
  const info = await fetchCaInfo(ca);
  const cert = await requestCertificate(ca, info, credentials, {
    Kind: 'User',
    PublicKey: publicKey,
    RemoteInstanceArn: opts.instance,
    SshUsername: opts.user,
  });
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

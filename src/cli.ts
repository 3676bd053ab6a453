#!/usr/bin/env node
/** `lkp-ca`: runs the CA outside Lambda, configured from the same environment (DESIGN §6, §7). */
import { Command, InvalidArgumentError } from 'commander';
import { bootstrapCa } from './bootstrap.js';
import { ConfigError } from './config.js';
import { startCaServer } from './server.js';

const CONFIG_HELP = `
Configuration (environment, the same as the Lambda function):
  LKP_CA_KEY             kms:<key id|ARN|alias> or file:<OpenSSH private key>   (required)
  LKP_SERVER_ID          value clients must sign as X-Lkp-Server-Id            (required)
  LKP_ALLOWED_ACCOUNTS   comma-separated account ids                           (required here)
  AWS_REGION             region of the STS endpoint                            (required)
  AWS_ENDPOINT_URL_STS   STS endpoint override (https, or http on loopback)
  AUTHORIZATION_LAMBDA   policy function; unset = built-in policy (LKP_ALLOW)
  LKP_ALLOW              built-in policy: who may log in as which logins, space-separated
                         <ARN pattern>=<login>[,<login>…] rules; * in a pattern = any characters,
                         login * = any but root. Unset: NOBODY gets a user certificate. Root, and
                         instances' role sessions (…/i-…), only where a rule names them
  LKP_USER_CERT_TTL      seconds, default 3600
  LKP_HOST_CERT_TTL      seconds, default 2592000
  LKP_CLOCK_SKEW         seconds, default 300
  LKP_POLICY_TIMEOUT_MS  default 5000
  LKP_CA_ACCOUNT         the CA's account: host names and targets are checked against EC2 there
  LKP_VERIFY_TARGETS     own (default): refuse targets EC2 does not know; off
  LKP_VOUCHER_MAX_AGE    seconds a voucher stays usable, default 900
  LKP_INGRESS_GROUPS     security groups a policy may open for a caller (network leases)
  LKP_INGRESS_DEFAULT_PORTS  default 22
  LKP_PERSONAL_ACCOUNTS  true: built-in policy allows only the caller's own mapped unix name
  LKP_ACCOUNT_GROUPS     IAM groups whose members get a unix account on hosts (Accounts requests)
  LKP_SUDO_GROUPS        IAM groups whose members get an account and sudo
  LKP_ACCOUNT_GROUP_PREFIX  local group of IAM group G is <prefix>G, default lkp_
  LKP_REMOVED_ACCOUNTS   lock (default) or delete: hosts' accounts whose owner left the groups
  LKP_ACCOUNT_GROUPS_MAX_AGE  seconds a group's members are kept, default 60 (0: read IAM each time)
  LKP_LOCKS_TABLE        DynamoDB table of locks (lkp lock); unset = no locks, no revocation list
  LKP_ADMINS             ARN patterns (* = any) the built-in policy lets lock and unlock

Example:
  LKP_CA_KEY=file:./ca_key LKP_SERVER_ID=lkp.example.com LKP_ALLOWED_ACCOUNTS=111122223333 \\
  LKP_ALLOW='arn:aws:iam::111122223333:user/alice=ec2-user' AWS_REGION=us-east-1 lkp-ca serve --port 8080
`;

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('a port number from 0 to 65535');
  return n;
}

const program = new Command()
  .name('lkp-ca')
  .description('lkp SSH certificate authority: signs short-lived OpenSSH certificates for AWS identities')
  .version('0.1.0');

program
  .command('serve')
  .description('serve the CA over HTTP on 127.0.0.1 (POST / with a JSON request)')
  .option('-p, --port <port>', 'port to listen on; 0 picks a free one', port, 8080)
  .addHelpText('after', CONFIG_HELP)
  .action(async (opts: { port: number }) => {
    try {
      const { ca } = await bootstrapCa();
      const server = await startCaServer(ca, { port: opts.port });
      process.stdout.write(`listening on ${server.url}\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    } catch (e) {
      const message = e instanceof ConfigError || e instanceof Error ? e.message : String(e);
      process.stderr.write(`lkp-ca: ${message}\n`);
      process.exit(2);
    }
  });

await program.parseAsync();

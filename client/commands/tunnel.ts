import { Command, Option } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { lkpPaths, pickProfile, readConfig } from '../lib/config.js';
import { profileOptions, type ProfileOptions } from './shared.js';

interface TunnelOptions extends ProfileOptions {
  port: string;
  endpointId?: string;
  endpointDns?: string;
  privateIp?: string;
  region?: string;
  maxDuration?: string;
}

export const tunnelCommand = profileOptions(
  new Command('tunnel'),
  'the lkp profile whose AWS profile and region to use (default: the default one)',
)
  .description(
    "connect stdin/stdout to an instance's port through an EC2 Instance Connect Endpoint (ssh's ProxyCommand)",
  )
  .argument('<target>', 'instance id, instance ARN or Name tag')
  .option('--port <port>', 'the port on the instance', '22')
  .option('--endpoint-id <id>', 'the endpoint (default: the one in the instance subnet, else its VPC)')
  .option('--endpoint-dns <name>', 'the endpoint DNS name (with --endpoint-id: no EC2 lookup)')
  .option('--private-ip <ip>', "the instance's private IP (default: from EC2)")
  .option('--region <region>', "the instance's region (default: from the ARN, else the AWS SDK's)")
  .addOption(
    new Option('--max-duration <seconds>', 'close the tunnel after this long (1 to 3600; EICE default 3600)'),
  )
  .addHelpText(
    'after',
    `
The tunnel is a WebSocket to the endpoint, presigned with SigV4 (service ec2-instance-connect)
with your AWS credentials; it needs ec2-instance-connect:OpenTunnel (docs/eice.md). lkp setup and
lkp ssh write it as ProxyCommand for targets without an address you can reach; the host is still
verified by its certificate. LKP_EICE_URL (ws://host:port) replaces wss://<endpoint DNS name>
(the local stack's stand-in).

Examples:
  ssh -o ProxyCommand='lkp tunnel %h --port %p' -o HostKeyAlias=<instance ARN> ec2-user@i-0123456789abcdef0
  lkp tunnel i-0123456789abcdef0 --port 5432 < /dev/null`,
  )
  .action(async (target: string, opts: TunnelOptions) => {
    // Loaded when the command runs, not whenever lkp starts (issue "Benchmarks", item 4).
    const { openTunnelFor } = await import('../lib/tunnel/open.js');
    const paths = lkpPaths();
    const config = readConfig(paths);
    const profile =
      opts.profile !== undefined || config.default !== undefined
        ? pickProfile(config, opts.profile).profile
        : undefined;
    const awsProfile = opts.awsProfile ?? profile?.awsProfile;
    await openTunnelFor(target, {
      port: integer('--port', opts.port, 1, 65535),
      ...(opts.maxDuration !== undefined
        ? { maxTunnelDuration: integer('--max-duration', opts.maxDuration, 1, 3600) }
        : {}),
      ...(opts.endpointId !== undefined ? { endpointId: opts.endpointId } : {}),
      ...(opts.endpointDns !== undefined ? { endpointDns: opts.endpointDns } : {}),
      ...(opts.privateIp !== undefined ? { privateIp: opts.privateIp } : {}),
      ...((opts.region ?? profile?.region) !== undefined ? { region: opts.region ?? profile?.region } : {}),
      ...(awsProfile !== undefined ? { awsProfile } : {}),
    });
  });

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new CliError(`${flag} must be a whole number from ${min} to ${max}`, EXIT.usage);
  return n;
}

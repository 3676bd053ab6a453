/**
 * `lkp tunnel`: from what the per-target ssh_config names (endpoint, DNS name, private IP, region:
 * no AWS lookup on the way to every connection) or from a target alone (EC2 lookups), to a
 * presigned OpenTunnel URL and the tunnel between stdin/stdout and the instance's port.
 */
import { isIP } from 'node:net';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { EICE_DNS_NAME, EICE_ID } from '../../../src/protocol.js';
import { CliError, EXIT } from '../../errors.js';
import { resolveCredentials } from '../credentials.js';
import { ec2Lookup, parseTarget, resolveTarget } from '../targets.js';
import { runTunnel } from './connect.js';
import { MAX_TUNNEL_SECONDS, presignOpenTunnel } from './presign.js';
import { chooseRoute, type TunnelRoute } from './route.js';

export interface OpenTunnelOptions {
  port: number;
  maxTunnelDuration?: number;
  endpointId?: string;
  endpointDns?: string;
  privateIp?: string;
  region?: string;
  awsProfile?: string;
}

export async function openTunnelFor(target: string, opts: OpenTunnelOptions): Promise<void> {
  let credentials: Promise<AwsCredentialIdentity> | undefined;
  const getCredentials = () =>
    (credentials ??= resolveCredentials(opts.awsProfile ? { profile: opts.awsProfile } : {}));
  const route = checkRoute(await routeFor(target, opts, getCredentials));
  const url = presignOpenTunnel(
    {
      // The local stack's stand-in speaks plain ws on loopback; AWS's endpoints only wss.
      endpointUrl: process.env.LKP_EICE_URL || `wss://${route.dnsName}`,
      endpointId: route.endpointId,
      privateIp: route.privateIp,
      port: opts.port,
      region: route.region,
      // Always sent, so that an IAM condition on ec2-instance-connect:maxTunnelDuration has a value.
      maxTunnelDuration: opts.maxTunnelDuration ?? MAX_TUNNEL_SECONDS,
    },
    await getCredentials(),
  );
  await runTunnel(
    url,
    { input: process.stdin, output: process.stdout },
    `EC2 Instance Connect Endpoint ${route.endpointId}`,
  );
}

async function routeFor(
  target: string,
  opts: OpenTunnelOptions,
  credentials: () => Promise<AwsCredentialIdentity>,
): Promise<TunnelRoute> {
  const { endpointId, endpointDns, privateIp, region } = opts;
  if (endpointId && endpointDns && privateIp && region)
    return { endpointId, dnsName: endpointDns, privateIp, region };
  const spec = parseTarget(target);
  const ec2 = ec2Lookup({
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.awsProfile ? { awsProfile: opts.awsProfile } : {}),
    credentials,
  });
  const resolved = await resolveTarget(spec, ec2);
  const network = { ...resolved.network, ...(privateIp ? { privateIp } : {}) };
  const route = await chooseRoute({
    arn: resolved.arn,
    address: resolved.address,
    network,
    response: endpointId
      ? { InstanceConnectEndpoint: { Id: endpointId, ...(endpointDns ? { DnsName: endpointDns } : {}) } }
      : {},
    mode: 'eice',
    ec2,
  });
  if (route.kind !== 'eice') throw new Error('an eice route was asked for');
  return route.tunnel;
}

/** The URL is a bearer token for 60 s: it goes only to an AWS endpoint name (or LKP_EICE_URL). */
function checkRoute(r: TunnelRoute): TunnelRoute {
  const bad = (what: string, hint: string) => new CliError(`invalid ${what}`, EXIT.usage, hint);
  if (!EICE_ID.test(r.endpointId)) throw bad(`endpoint id "${r.endpointId}"`, 'eice- and 17 hex digits');
  if (!EICE_DNS_NAME.test(r.dnsName))
    throw bad(`endpoint DNS name "${r.dnsName}"`, 'the DnsName EC2 reports, under amazonaws.com');
  if (isIP(r.privateIp) === 0) throw bad(`private IP "${r.privateIp}"`, 'an IPv4 or IPv6 address');
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(r.region)) throw bad(`region "${r.region}"`, 'e.g. us-east-1');
  return r;
}

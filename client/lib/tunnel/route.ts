/**
 * How ssh reaches a target (DESIGN §4 "Reach"): directly, through the policy's jumpboxes (ssh's
 * ProxyJump), or through an EC2 Instance Connect Endpoint (`lkp tunnel` as ssh's ProxyCommand).
 * The host is verified by its certificate (HostKeyAlias = instance ARN) on every route.
 *
 * The tunnel is used when the policy names an endpoint, when the profile says `reach: eice`, or
 * (`reach: auto`, the default) when the instance has no address this machine can reach as far as
 * lkp can tell without sending a packet: no public IP, and a private IP on none of this machine's
 * networks; then an endpoint in its VPC is looked up, and without one lkp connects directly as before.
 */
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parseHostAddress } from '../../../src/host-address.js';
import type { CertResponse } from '../../../src/protocol.js';
import { EICE_DNS_NAME } from '../../../src/protocol.js';
import { CliError, EXIT } from '../../errors.js';
import type { ReachMode } from '../config.js';
import type { InstanceLookup, InstanceNetwork } from '../targets.js';

/** What the per-target ssh_config needs for a tunnel; everything `lkp tunnel` needs without an AWS lookup. */
export interface TunnelRoute {
  endpointId: string;
  dnsName: string;
  privateIp: string;
  region: string;
  /** The policy's TargetAddress port, else ssh's own (22, -p, Port). */
  port?: number;
}

export type Route = { kind: 'direct'; address: string } | { kind: 'eice'; tunnel: TunnelRoute };

export interface RouteInput {
  arn: string;
  /** The address EC2 gave (private, else public); the policy's TargetAddress wins over it. */
  address: string | undefined;
  network: InstanceNetwork;
  response: Pick<CertResponse, 'TargetAddress' | 'Jumpboxes' | 'InstanceConnectEndpoint'>;
  mode: ReachMode;
  ec2: Pick<InstanceLookup, 'describeEndpoints'>;
  /** This machine's networks; default: its interfaces (tests pass their own). */
  localNetworks?: BlockList;
}

export async function chooseRoute(input: RouteInput): Promise<Route> {
  const { response, mode } = input;
  const address = response.TargetAddress ?? input.address;
  const named = response.InstanceConnectEndpoint;
  // A policy that routes through jumpboxes has said how to get there.
  const jumps = (response.Jumpboxes?.length ?? 0) > 0;
  const wanted =
    named !== undefined ||
    (!jumps && mode === 'eice') ||
    (!jumps && mode === 'auto' && response.TargetAddress === undefined && !reachable(input));
  if (!wanted) return direct(input.arn, address);

  const region = regionOf(input.arn);
  // EICE connects to a private IP: the policy's TargetAddress when it is one, else EC2's answer.
  const given = response.TargetAddress === undefined ? undefined : parseHostAddress(response.TargetAddress);
  const fromPolicy = given !== undefined && isIP(given.host) !== 0 ? given : undefined;
  const privateIp = fromPolicy?.host ?? input.network.privateIp;
  if (privateIp === undefined)
    throw new CliError(
      `no private IP for ${input.arn}: an EC2 Instance Connect Endpoint tunnels to one`,
      EXIT.error,
      'your AWS identity needs ec2:DescribeInstances on the instance, or the access policy can set TargetAddress',
    );
  const endpoint = named
    ? await namedEndpoint(named.Id, named.DnsName, region, input.ec2)
    : await endpointFor(input.network, region, input.ec2);
  if (endpoint === undefined) {
    // auto: no endpoint in the VPC; the private IP may still be routed (VPN, peering), as before.
    if (mode === 'auto') return direct(input.arn, address);
    throw new CliError(
      `no EC2 Instance Connect Endpoint in ${input.network.vpcId ?? 'the VPC'} of ${input.arn}`,
      EXIT.error,
      `create one in that VPC (docs/eice.md), or set "reach": "direct" in the lkp profile`,
    );
  }
  const port = fromPolicy?.port;
  return {
    kind: 'eice',
    tunnel: { ...endpoint, privateIp, region, ...(port !== undefined ? { port } : {}) },
  };
}

function direct(arn: string, address: string | undefined): Route {
  if (!address)
    throw new CliError(
      `no address to connect to for ${arn}`,
      EXIT.error,
      'the instance has no IP your credentials can see; the access policy can set TargetAddress',
    );
  return { kind: 'direct', address };
}

/** A public IP, or a private IP on one of this machine's networks. */
function reachable(input: RouteInput): boolean {
  if (input.network.publicIp) return true;
  const ip = input.network.privateIp;
  if (ip === undefined) return input.address !== undefined;
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  return (input.localNetworks ?? interfaceNetworks()).check(ip, family);
}

function interfaceNetworks(): BlockList {
  const list = new BlockList();
  for (const addresses of Object.values(networkInterfaces()))
    for (const a of addresses ?? []) {
      const [net, prefix] = (a.cidr ?? '').split('/');
      if (net && prefix) list.addSubnet(net, Number(prefix), a.family === 'IPv6' ? 'ipv6' : 'ipv4');
    }
  return list;
}

async function namedEndpoint(
  id: string,
  dnsName: string | undefined,
  region: string,
  ec2: RouteInput['ec2'],
): Promise<{ endpointId: string; dnsName: string }> {
  if (dnsName !== undefined) return checked(id, dnsName);
  const found = (await ec2.describeEndpoints({ id }, region))[0];
  if (found === undefined)
    throw new CliError(
      `the access policy routes through ${id}, which EC2 does not list as available in ${region}`,
      EXIT.error,
      'check the endpoint state (aws ec2 describe-instance-connect-endpoints) or the policy',
    );
  return checked(found.id, found.dnsName);
}

/** The endpoint in the instance's subnet, else the first in its VPC (as the AWS CLI picks). */
async function endpointFor(
  network: InstanceNetwork,
  region: string,
  ec2: RouteInput['ec2'],
): Promise<{ endpointId: string; dnsName: string } | undefined> {
  if (network.vpcId === undefined) return undefined;
  const all = await ec2.describeEndpoints({ vpcId: network.vpcId }, region);
  const found = all.find((e) => e.subnetId === network.subnetId) ?? all[0];
  return found && checked(found.id, found.dnsName);
}

/** The presigned URL goes to this name: only an AWS one (src/protocol.ts EICE_DNS_NAME). */
function checked(id: string, dnsName: string | undefined): { endpointId: string; dnsName: string } {
  if (dnsName === undefined || !EICE_DNS_NAME.test(dnsName))
    throw new CliError(`EC2 reported no usable DNS name for ${id}`, EXIT.error);
  return { endpointId: id, dnsName };
}

function regionOf(arn: string): string {
  return arn.split(':')[3] ?? '';
}

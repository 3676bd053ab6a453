import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { chooseRoute, type RouteInput } from '../../../client/lib/tunnel/route.js';
import type { EndpointSummary } from '../../../client/lib/targets.js';

const ARN = 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0';
const EICE = 'eice-0123456789abcdef0';
const DNS = `${EICE}.b67b86ba.ec2-instance-connect-endpoint.eu-west-1.amazonaws.com`;
const OTHER: EndpointSummary = {
  id: 'eice-0aaaaaaaaaaaaaaa1',
  dnsName: 'eice-0aaaaaaaaaaaaaaa1.x.ec2-instance-connect-endpoint.eu-west-1.amazonaws.com',
  vpcId: 'vpc-1',
  subnetId: 'subnet-other',
};
const SAME_SUBNET: EndpointSummary = { id: EICE, dnsName: DNS, vpcId: 'vpc-1', subnetId: 'subnet-1' };
const office = new BlockList();
office.addSubnet('10.1.0.0', 16);

function input(over: Partial<RouteInput> = {}, endpoints: EndpointSummary[] = [OTHER, SAME_SUBNET]) {
  const asked: unknown[] = [];
  const route: RouteInput = {
    arn: ARN,
    address: '10.0.1.23',
    network: { privateIp: '10.0.1.23', vpcId: 'vpc-1', subnetId: 'subnet-1' },
    response: {},
    mode: 'auto',
    ec2: {
      describeEndpoints: async (q, region) => {
        asked.push({ ...q, region });
        return endpoints;
      },
    },
    localNetworks: office,
    ...over,
  };
  return { route, asked };
}

describe('chooseRoute', () => {
  it('auto: a private IP on no local network and no public IP goes through the endpoint of its subnet', async () => {
    const { route, asked } = input();
    expect(await chooseRoute(route)).toEqual({
      kind: 'eice',
      tunnel: { endpointId: EICE, dnsName: DNS, privateIp: '10.0.1.23', region: 'eu-west-1' },
    });
    expect(asked).toEqual([{ vpcId: 'vpc-1', region: 'eu-west-1' }]);
  });

  it('auto: a public IP, an address on a local network or a policy TargetAddress is reached directly', async () => {
    const pub = input({ network: { privateIp: '10.0.1.23', publicIp: '198.51.100.7', vpcId: 'vpc-1' } });
    expect(await chooseRoute(pub.route)).toEqual({ kind: 'direct', address: '10.0.1.23' });
    const near = input({ address: '10.1.2.3', network: { privateIp: '10.1.2.3', vpcId: 'vpc-1' } });
    expect(await chooseRoute(near.route)).toEqual({ kind: 'direct', address: '10.1.2.3' });
    const routed = input({ response: { TargetAddress: 'web.internal.example' } });
    expect(await chooseRoute(routed.route)).toEqual({ kind: 'direct', address: 'web.internal.example' });
    expect([pub, near, routed].flatMap((i) => i.asked)).toEqual([]);
  });

  it('auto without an endpoint in the VPC connects directly as before; eice says which VPC lacks one', async () => {
    expect(await chooseRoute(input({}, []).route)).toEqual({ kind: 'direct', address: '10.0.1.23' });
    await expect(chooseRoute(input({ mode: 'eice' }, []).route)).rejects.toThrow(
      `no EC2 Instance Connect Endpoint in vpc-1 of ${ARN}`,
    );
  });

  it('direct never tunnels unless the policy names an endpoint, which wins over the profile', async () => {
    expect(await chooseRoute(input({ mode: 'direct' }).route)).toEqual({
      kind: 'direct',
      address: '10.0.1.23',
    });
    const named = input({
      mode: 'direct',
      response: { InstanceConnectEndpoint: { Id: EICE, DnsName: DNS } },
    });
    expect(await chooseRoute(named.route)).toMatchObject({ kind: 'eice', tunnel: { endpointId: EICE } });
    expect(named.asked).toEqual([]);
    const byId = input({ response: { InstanceConnectEndpoint: { Id: EICE } } }, [SAME_SUBNET]);
    expect(await chooseRoute(byId.route)).toMatchObject({ kind: 'eice', tunnel: { dnsName: DNS } });
    expect(byId.asked).toEqual([{ id: EICE, region: 'eu-west-1' }]);
  });

  it('tunnels to the private IP and port of a policy TargetAddress', async () => {
    const named = input({
      response: { InstanceConnectEndpoint: { Id: EICE, DnsName: DNS }, TargetAddress: '10.0.9.9:2222' },
    });
    expect(await chooseRoute(named.route)).toMatchObject({
      kind: 'eice',
      tunnel: { privateIp: '10.0.9.9', port: 2222 },
    });
  });

  it('never sends the presigned URL to a name outside amazonaws.com', async () => {
    const evil = { ...SAME_SUBNET, dnsName: 'eice.attacker.example' };
    await expect(chooseRoute(input({ mode: 'eice' }, [evil]).route)).rejects.toThrow(/no usable DNS name/);
  });
});

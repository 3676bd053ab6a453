/**
 * Network access leases against the EC2 stand-in through the CA's EC2 Query client (the stand-in's
 * own checks at the end go through the real SDK, so both speak the same wire format): open, extend, move, IPv6,
 * concurrency, sweep, close, foreign rules, and the refusals (transport, group not configured).
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  ModifySecurityGroupRulesCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Ec2QueryClient } from '../../src/aws/ec2-query.js';
import { LkpError } from '../../src/errors.js';
import { ec2LeaseManager, type LeaseManager, type LeaseRequest } from '../../src/ingress/index.js';
import { leaseDescription, ownerOf } from '../../src/ingress/plan.js';
import { startEc2Standin, type Ec2Standin } from '../../src/local/ec2-standin.js';
import { rejectionOf } from '../helpers/rejection.js';
import { queryClientFor, sdkClientFor } from '../helpers/ec2-clients.js';

const REGION = 'us-east-1';
const GROUP = 'sg-0123456789abcdef0';
const OTHER_GROUP = 'sg-0fedcba9876543210';
const NOT_CONFIGURED = 'sg-0aaaaaaaaaaaaaaaa';
const ALICE = 'arn:aws:iam::111122223333:user/alice';
const BOB = 'arn:aws:sts::111122223333:assumed-role/Dev/bob';
const NOW = 1_800_000_000;
const OFFICE = {
  protocol: 'tcp' as const,
  fromPort: 22,
  toPort: 22,
  cidr: '192.0.2.0/24',
  description: 'office',
};

let ec2: Ec2Standin;
let sdk: EC2Client;
let client: Ec2QueryClient;
let leases: LeaseManager;

beforeEach(async () => {
  ec2 = await startEc2Standin({
    region: REGION,
    account: '111122223333',
    instances: [],
    securityGroups: [
      { groupId: GROUP, rules: [OFFICE] },
      { groupId: OTHER_GROUP },
      { groupId: NOT_CONFIGURED },
    ],
  });
  sdk = sdkClientFor(ec2);
  client = queryClientFor(ec2);
  leases = ec2LeaseManager({ allowedGroups: [GROUP, OTHER_GROUP], defaultPorts: [22], client });
  return async () => {
    sdk.destroy();
    client.destroy();
    await ec2.close();
  };
});

const lease = (o: Partial<LeaseRequest> = {}): LeaseRequest => ({
  ingress: { securityGroupId: GROUP, protocol: 'tcp' },
  callerArn: ALICE,
  sourceIp: '127.0.0.1',
  transport: 'function-url',
  validBefore: NOW + 3600,
  ...o,
});
const lkpRules = (group = GROUP) => ec2.securityGroupRules(group).filter((r) => r.description !== 'office');
const aliceUntil = (until: number) => leaseDescription(ownerOf(ALICE), until);

const refusal = (p: Promise<unknown>): Promise<LkpError> => rejectionOf(p, LkpError);

describe('opening a lease', () => {
  it('opens 127.0.0.1/32 for the Function URL caller until ValidBefore; the sweeper removes it after', async () => {
    const result = await leases.open(lease());
    expect(result).toEqual({
      securityGroupId: GROUP,
      cidr: '127.0.0.1/32',
      ports: [22],
      protocol: 'tcp',
      until: NOW + 3600,
      revoked: 0,
    });
    expect(lkpRules()).toEqual([
      expect.objectContaining({
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        cidr: '127.0.0.1/32',
        description: aliceUntil(NOW + 3600),
      }),
    ]);

    expect(await leases.sweep(new Date((NOW + 3599) * 1000))).toBe(0);
    expect(lkpRules()).toHaveLength(1);
    expect(await leases.sweep(new Date((NOW + 3600) * 1000))).toBe(1);
    expect(lkpRules()).toEqual([]);
    expect(ec2.securityGroupRules(GROUP)).toEqual([expect.objectContaining(OFFICE)]);
  });

  it('revokes the caller’s earlier rule when the next request comes from another address', async () => {
    await leases.open(lease());
    const moved = await leases.open(lease({ sourceIp: '198.51.100.4', validBefore: NOW + 7200 }));
    expect(moved.revoked).toBe(1);
    expect(lkpRules().map((r) => r.cidr)).toEqual(['198.51.100.4/32']);
  });

  it('opens IPv6 callers as /128, canonical, on the policy’s ports', async () => {
    const result = await leases.open(
      lease({
        sourceIp: '2001:DB8:0:0::7',
        ingress: { securityGroupId: GROUP, protocol: 'tcp', ports: [22, 443] },
      }),
    );
    expect(result.cidr).toBe('2001:db8::7/128');
    expect(lkpRules().map((r) => [r.cidr, r.fromPort])).toEqual([
      ['2001:db8::7/128', 22],
      ['2001:db8::7/128', 443],
    ]);
    const described = await sdk.send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [GROUP] }] }),
    );
    expect(described.SecurityGroupRules?.find((r) => r.CidrIpv6)?.CidrIpv6).toBe('2001:db8::7/128');
  });

  it('extends the same caller’s rule from the same address instead of duplicating it, and never shortens it', async () => {
    await leases.open(lease());
    const [before] = lkpRules();
    await leases.open(lease({ validBefore: NOW + 7200 }));
    expect(lkpRules()).toEqual([{ ...before, description: aliceUntil(NOW + 7200) }]);
    await leases.open(lease({ validBefore: NOW + 60 }));
    expect(lkpRules()).toEqual([{ ...before, description: aliceUntil(NOW + 7200) }]);
  });

  it('converges when many requests race: one rule per port, the latest expiry, no duplicate errors', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        leases.open(
          lease({
            validBefore: NOW + 3600 + i,
            ingress: { securityGroupId: GROUP, protocol: 'tcp', ports: [22, 443] },
          }),
        ),
      ),
    );
    expect(results.every((r) => r.cidr === '127.0.0.1/32')).toBe(true);
    expect(
      lkpRules()
        .map((r) => [r.fromPort, r.description])
        .sort(),
    ).toEqual([
      [22, aliceUntil(NOW + 3611)],
      [443, aliceUntil(NOW + 3611)],
    ]);
  });

  it('shares a rule when two callers come from one address: neither’s move or close cuts the other off', async () => {
    await leases.open(lease({ validBefore: NOW + 100 }));
    await leases.open(lease({ callerArn: BOB, validBefore: NOW + 200 }));
    expect(lkpRules().map((r) => r.description)).toEqual(['lkp:v1:shared:' + String(NOW + 200)]);
    expect(await leases.close(ALICE)).toBe(0);
    await leases.open(lease({ callerArn: BOB, sourceIp: '198.51.100.9' }));
    expect(
      lkpRules()
        .map((r) => r.cidr)
        .sort(),
    ).toEqual(['127.0.0.1/32', '198.51.100.9/32']);
  });

  it('never touches rules lkp did not create, even one for the caller’s own address and port', async () => {
    await sdk.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: GROUP,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 22,
            ToPort: 22,
            IpRanges: [{ CidrIp: '127.0.0.1/32', Description: 'admin laptop' }],
          },
        ],
      }),
    );
    const before = ec2.securityGroupRules(GROUP);
    const result = await leases.open(
      lease({ ingress: { securityGroupId: GROUP, protocol: 'tcp', ports: [22, 443] } }),
    );
    expect(result.ports).toEqual([22, 443]);
    expect(ec2.securityGroupRules(GROUP).slice(0, before.length)).toEqual(before);
    expect(lkpRules().map((r) => [r.fromPort, r.description])).toEqual([
      [22, 'admin laptop'],
      [443, aliceUntil(NOW + 3600)],
    ]);
    await leases.open(lease({ sourceIp: '198.51.100.4' }));
    expect(await leases.close(ALICE)).toBe(1);
    expect(await leases.sweep(new Date((NOW + 10 ** 6) * 1000))).toBe(0);
    expect(ec2.securityGroupRules(GROUP)).toEqual(before);
  });

  it('refuses a group the configuration does not allow, as a PolicyError, without calling EC2', async () => {
    const requests = ec2.requestCount();
    const err = await refusal(
      leases.open(lease({ ingress: { securityGroupId: NOT_CONFIGURED, protocol: 'tcp' } })),
    );
    expect(err.code).toBe('PolicyError');
    expect(err.message).toContain(`${NOT_CONFIGURED} is not one of the CA's LKP_INGRESS_GROUPS`);
    expect(ec2.requestCount()).toBe(requests);
    expect(ec2.securityGroupRules(NOT_CONFIGURED)).toEqual([]);
  });

  it('refuses transports that do not observe the caller’s address', async () => {
    for (const o of [
      { transport: 'invoke', sourceIp: '127.0.0.1' },
      { transport: 'function-url', sourceIp: undefined },
    ]) {
      const err = await refusal(leases.open(lease(o)));
      expect(err.code).toBe('Forbidden');
      expect(err.message).toMatch(/needs the caller's address: call the CA through its Function URL/);
    }
    expect(lkpRules()).toEqual([]);
  });

  it('reports EC2 failures as Internal with the error code, not EC2’s text', async () => {
    const broken = ec2LeaseManager({
      allowedGroups: ['sg-0bbbbbbbbbbbbbbbb'],
      defaultPorts: [22],
      client,
    });
    const err = await refusal(
      broken.open(lease({ ingress: { securityGroupId: 'sg-0bbbbbbbbbbbbbbbb', protocol: 'tcp' } })),
    );
    expect(err.code).toBe('Internal');
    expect(err.message).toMatch(/AuthorizeSecurityGroupIngress: InvalidGroup.NotFound.*does not exist/);
  });
});

describe('closing and sweeping', () => {
  it('close revokes the caller’s leases in every configured group, only theirs', async () => {
    await leases.open(lease());
    await leases.open(lease({ ingress: { securityGroupId: OTHER_GROUP, protocol: 'tcp', ports: [443] } }));
    await leases.open(lease({ callerArn: BOB, sourceIp: '198.51.100.9' }));
    expect(await leases.close(ALICE)).toBe(2);
    expect(lkpRules().map((r) => r.cidr)).toEqual(['198.51.100.9/32']);
    expect(lkpRules(OTHER_GROUP)).toEqual([]);
  });

  it('sweep visits every configured group, and a vanished rule does not fail it', async () => {
    await leases.open(lease({ validBefore: NOW + 10 }));
    await leases.open(lease({ callerArn: BOB, sourceIp: '::1', validBefore: NOW + 20 }));
    await leases.open(
      lease({ ingress: { securityGroupId: OTHER_GROUP, protocol: 'tcp' }, validBefore: NOW + 10 }),
    );
    expect(await leases.sweep(new Date((NOW + 15) * 1000))).toBe(2);
    expect(lkpRules().map((r) => r.cidr)).toEqual(['::1/128']);
    expect(await leases.sweep(new Date((NOW + 20) * 1000))).toBe(1);
  });
});

describe('the sweeper function', () => {
  it('reads LKP_INGRESS_GROUPS and revokes expired leases through the AWS endpoint variables', async () => {
    await leases.open(lease({ validBefore: Math.floor(Date.now() / 1000) - 1 }));
    await leases.open(
      lease({ callerArn: BOB, sourceIp: '::1', validBefore: Math.floor(Date.now() / 1000) + 600 }),
    );
    vi.stubEnv('LKP_INGRESS_GROUPS', `${GROUP},${OTHER_GROUP}`);
    vi.stubEnv('AWS_REGION', REGION);
    vi.stubEnv('AWS_ENDPOINT_URL_EC2', ec2.url);
    vi.stubEnv('AWS_ACCESS_KEY_ID', ec2.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', ec2.credentials.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', undefined);
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const { handler } = await import('../../src/sweeper-handler.js');
      expect(await handler()).toEqual({ revoked: 1 });
      expect(write).toHaveBeenCalledWith(expect.stringContaining('"revoked":1'));
    } finally {
      write.mockRestore();
      vi.unstubAllEnvs();
    }
    expect(lkpRules().map((r) => r.cidr)).toEqual(['::1/128']);
  });
});

describe('the EC2 stand-in’s security groups', () => {
  const permission = (cidr: string, description = 'x') => ({
    IpProtocol: 'tcp',
    FromPort: 22,
    ToPort: 22,
    ...(cidr.includes(':')
      ? { Ipv6Ranges: [{ CidrIpv6: cidr, Description: description }] }
      : { IpRanges: [{ CidrIp: cidr, Description: description }] }),
  });

  it('refuses a duplicate as EC2 does, atomically', async () => {
    await expect(
      sdk.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: GROUP,
          IpPermissions: [permission('198.51.100.1/32'), permission('192.0.2.0/24', 'other text')],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidPermission.Duplicate', $metadata: { httpStatusCode: 400 } });
    expect(ec2.securityGroupRules(GROUP)).toHaveLength(1);
  });

  it('revokes by rule id and by IpPermissions, and says NotFound for rules that are gone', async () => {
    const added = await sdk.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: GROUP,
        IpPermissions: [permission('198.51.100.1/32'), permission('2001:db8::1/128')],
      }),
    );
    const [v4] = added.SecurityGroupRules ?? [];
    expect(v4?.SecurityGroupRuleId).toMatch(/^sgr-[0-9a-f]{17}$/);
    await sdk.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: GROUP,
        SecurityGroupRuleIds: [v4!.SecurityGroupRuleId!],
      }),
    );
    await sdk.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: GROUP,
        IpPermissions: [permission('2001:DB8::1/128')],
      }),
    );
    expect(ec2.securityGroupRules(GROUP)).toEqual([expect.objectContaining(OFFICE)]);
    await expect(
      sdk.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: GROUP,
          SecurityGroupRuleIds: [v4!.SecurityGroupRuleId!],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidSecurityGroupRuleId.NotFound' });
    await expect(
      sdk.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: GROUP,
          IpPermissions: [permission('198.51.100.1/32')],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidPermission.NotFound' });
  });

  it('modifies a rule’s description by id, and refuses descriptions outside EC2’s charset', async () => {
    const [office] = ec2.securityGroupRules(GROUP);
    await sdk.send(
      new ModifySecurityGroupRulesCommand({
        GroupId: GROUP,
        SecurityGroupRules: [
          {
            SecurityGroupRuleId: office!.ruleId,
            SecurityGroupRule: {
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22,
              CidrIpv4: '192.0.2.0/24',
              Description: 'office (new)',
            },
          },
        ],
      }),
    );
    expect(ec2.securityGroupRules(GROUP)).toEqual([{ ...office, description: 'office (new)' }]);
    await expect(
      sdk.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: GROUP,
          IpPermissions: [permission('198.51.100.1/32', 'naïve <b>')],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(
      sdk.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: GROUP,
          IpPermissions: [permission('198.51.100.1/24')],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('pages DescribeSecurityGroupRules and filters by group id', async () => {
    await sdk.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: OTHER_GROUP,
        IpPermissions: Array.from({ length: 7 }, (_, i) => permission(`198.51.100.${i + 1}/32`)),
      }),
    );
    const first = await sdk.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: 'group-id', Values: [OTHER_GROUP] }],
        MaxResults: 5,
      }),
    );
    expect(first.SecurityGroupRules).toHaveLength(5);
    const second = await sdk.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: 'group-id', Values: [OTHER_GROUP] }],
        MaxResults: 5,
        NextToken: first.NextToken,
      }),
    );
    expect(second.SecurityGroupRules).toHaveLength(2);
    expect(second.NextToken).toBeUndefined();
    expect(second.SecurityGroupRules?.every((r) => r.GroupId === OTHER_GROUP && r.IsEgress === false)).toBe(
      true,
    );
  });
});

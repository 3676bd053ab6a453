import { describe, expect, it } from 'vitest';
import {
  type Ec2Instance,
  type InstanceFilter,
  type InstanceLookup,
  parseLogin,
  parseTarget,
  resolveTarget,
} from '../../../client/lib/targets.js';

const ARN = 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0';

function fakeEc2(instances: Array<Ec2Instance & { owner?: string }>, calls: unknown[] = []): InstanceLookup {
  return {
    region: async () => 'us-east-1',
    async describe(input: { instanceIds?: string[]; filters?: InstanceFilter[] }, region?: string) {
      calls.push({ ...input, region });
      const name = input.filters?.find((f) => f.Name === 'tag:Name')?.Values?.[0];
      return instances
        .filter((i) => (input.instanceIds ? input.instanceIds.includes(i.InstanceId ?? '') : true))
        .filter((i) => (name ? i.Tags?.some((t) => t.Key === 'Name' && t.Value === name) : true))
        .map((instance) => ({ instance, ownerId: instance.owner ?? '444455556666' }));
    },
    describeEndpoints: async () => [],
  };
}

describe('target parsing', () => {
  it.each([
    ['i-0123456789abcdef0', 'id'],
    ['i-01234567', 'id'],
    [ARN, 'arn'],
    ['web-1', 'name'],
    ['prod.db:primary', 'name'],
  ])('%s is a %s', (text, kind) => {
    expect(parseTarget(text).kind).toBe(kind);
  });

  it.each([
    ['i-0123'],
    ['arn:aws:ec2:us-east-1:1:instance/i-0123456789abcdef0'],
    ["web'1"],
    ['web 1'],
    ['web*'],
    ['-oProxyCommand=x'],
    [''],
  ])('refuses %j', (text) => {
    expect(() => parseTarget(text)).toThrow();
  });

  it('splits user@target at the last @ and checks the user', () => {
    expect(parseLogin(`ubuntu@${ARN}`)).toMatchObject({
      user: 'ubuntu',
      target: { kind: 'arn', region: 'eu-west-1', account: '111122223333' },
    });
    expect(parseLogin('web-1')).toMatchObject({ user: undefined, target: { kind: 'name', name: 'web-1' } });
    expect(() => parseLogin('bad user@web-1')).toThrow(/not a valid unix user name/);
  });
});

describe('target resolution', () => {
  const web = {
    InstanceId: 'i-0aaaaaaaaaaaaaaa1',
    PrivateIpAddress: '10.0.0.1',
    Tags: [{ Key: 'Name', Value: 'web' }],
  };

  it('builds the ARN of an instance id from the region and owner', async () => {
    const target = await resolveTarget(parseTarget('i-0aaaaaaaaaaaaaaa1'), fakeEc2([web]));
    expect(target).toEqual({
      arn: 'arn:aws:ec2:us-east-1:444455556666:instance/i-0aaaaaaaaaaaaaaa1',
      instanceId: 'i-0aaaaaaaaaaaaaaa1',
      address: '10.0.0.1',
      network: { privateIp: '10.0.0.1' },
    });
  });

  it('asks for running instances by Name tag', async () => {
    const calls: unknown[] = [];
    await resolveTarget(parseTarget('web'), fakeEc2([web], calls));
    expect(calls).toEqual([
      {
        filters: [
          { Name: 'tag:Name', Values: ['web'] },
          { Name: 'instance-state-name', Values: ['running'] },
        ],
        region: undefined,
      },
    ]);
  });

  it('names the region when nothing matches, and lists the candidates when several do (usage exit code)', async () => {
    await expect(resolveTarget(parseTarget('nosuch'), fakeEc2([web]))).rejects.toThrow(
      /no running instance named "nosuch" in us-east-1/,
    );
    const twin = {
      ...web,
      InstanceId: 'i-0aaaaaaaaaaaaaaa2',
      PrivateIpAddress: '10.0.0.2',
      LaunchTime: new Date('2024-01-02T03:04:05Z'),
    };
    const err = await resolveTarget(parseTarget('web'), fakeEc2([web, twin])).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 2 });
    expect(String(err)).toContain('i-0aaaaaaaaaaaaaaa2  10.0.0.2         2024-01-02T03:04:05.000Z');
  });

  it('uses an ARN as given, looking up only the address in its region, and tolerates a failed lookup', async () => {
    const calls: unknown[] = [];
    const target = await resolveTarget(parseTarget(ARN), fakeEc2([], calls));
    expect(target).toEqual({ arn: ARN, instanceId: 'i-0123456789abcdef0', address: undefined, network: {} });
    expect(calls).toEqual([{ instanceIds: ['i-0123456789abcdef0'], region: 'eu-west-1' }]);
    const failing: InstanceLookup = {
      region: async () => 'x',
      describe: async () => Promise.reject(new Error('AccessDenied')),
      describeEndpoints: async () => [],
    };
    await expect(resolveTarget(parseTarget(ARN), failing)).resolves.toMatchObject({ arn: ARN });
  });
});

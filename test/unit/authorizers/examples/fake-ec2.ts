/** A stand-in for EC2 DescribeInstances: instances by id, with owner, state, private IP and tags. */
import type { DescribeInstancesCommand, DescribeInstancesCommandOutput } from '@aws-sdk/client-ec2';
import type { Ec2Like } from '../../../../authorizers/examples/lib/instances.js';

export interface FakeInstance {
  owner: string;
  state?: string;
  privateIp?: string;
  tags?: Record<string, string>;
}

export function fakeEc2(
  instances: Record<string, FakeInstance>,
  calls: { region: string; ids: string[] }[] = [],
) {
  return (region: string): Ec2Like => ({
    async send(command: DescribeInstancesCommand): Promise<DescribeInstancesCommandOutput> {
      const ids = command.input.InstanceIds ?? [];
      calls.push({ region, ids });
      const id = ids[0] ?? '';
      const found = instances[id];
      if (!found)
        throw Object.assign(new Error(`The instance ID '${id}' does not exist`), {
          name: 'InvalidInstanceID.NotFound',
        });
      return {
        $metadata: {},
        Reservations: [
          {
            OwnerId: found.owner,
            Instances: [
              {
                InstanceId: id,
                State: { Name: (found.state ?? 'running') as 'running' },
                PrivateIpAddress: found.privateIp,
                Tags: Object.entries(found.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
              },
            ],
          },
        ],
      };
    },
  });
}

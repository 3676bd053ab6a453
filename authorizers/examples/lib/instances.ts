/**
 * What the example policies need to know about an instance, from EC2 DescribeInstances. The client
 * is injectable so tests use a fake. The policy's role needs ec2:DescribeInstances; it sees only its
 * own account, so an instance elsewhere is "not found" (and the policies deny).
 */
import {
  DescribeInstancesCommand,
  EC2Client,
  type DescribeInstancesCommandOutput,
} from '@aws-sdk/client-ec2';
import { INSTANCE_ARN } from '../../../src/request.js';

export interface InstanceFacts {
  privateIp?: string;
  tags: Readonly<Record<string, string>>;
}

/** undefined when the instance does not exist, is gone, or belongs to another account. */
export type InstanceLookup = (instanceArn: string) => Promise<InstanceFacts | undefined>;

export interface Ec2Like {
  send(command: DescribeInstancesCommand): Promise<DescribeInstancesCommandOutput>;
}

const NOT_FOUND = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);
const GONE = new Set(['shutting-down', 'terminated']);

export function ec2InstanceLookup(
  clientFor: (region: string) => Ec2Like = (region) => new EC2Client({ region }),
): InstanceLookup {
  return async (instanceArn) => {
    const [, , region = '', account, instanceId = ''] = INSTANCE_ARN.exec(instanceArn) ?? [];
    if (account === undefined) return undefined;
    let output: DescribeInstancesCommandOutput;
    try {
      output = await clientFor(region).send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    } catch (e) {
      if (e instanceof Error && NOT_FOUND.has(e.name)) return undefined;
      throw e; // anything else is a broken policy, not a denial: the CA reports PolicyError
    }
    const reservation = output.Reservations?.find((r) =>
      r.Instances?.some((i) => i.InstanceId === instanceId),
    );
    const instance = reservation?.Instances?.find((i) => i.InstanceId === instanceId);
    // The ARN names the account; an instance id seen in another account is not that instance.
    if (!instance || reservation?.OwnerId !== account || GONE.has(instance.State?.Name ?? ''))
      return undefined;
    const tags: Record<string, string> = {};
    for (const tag of instance.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
    return instance.PrivateIpAddress ? { privateIp: instance.PrivateIpAddress, tags } : { tags };
  };
}

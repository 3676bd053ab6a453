/**
 * What the user typed → the instance to log in to: an instance id (`i-…`), an instance ARN or a
 * Name tag, resolved with EC2 DescribeInstances under the user's own credentials and region
 * (client/lib/instances.ts makes the call).
 */
import { CliError, EXIT } from '../errors.js';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { InstanceDescriptions, Ec2Instance, EndpointSummary, InstanceFilter } from './instances.js';

export type { Ec2Instance, EndpointSummary, InstanceFilter } from './instances.js';

export type TargetSpec =
  | { kind: 'id'; text: string; instanceId: string }
  | { kind: 'arn'; text: string; arn: string; region: string; account: string; instanceId: string }
  | { kind: 'name'; text: string; name: string };

export interface Login {
  user: string | undefined;
  target: TargetSpec;
}

const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const INSTANCE_ARN =
  /^arn:(aws|aws-cn|aws-us-gov):ec2:([a-z0-9-]+):(\d{12}):instance\/(i-(?:[0-9a-f]{8}|[0-9a-f]{17}))$/;
/**
 * Targets end up in ssh_config `Match host "…"` lines and in ssh's own argument list: no quotes,
 * spaces, ssh pattern characters (`*?!,`) or shell characters, whatever EC2 allows in a Name tag.
 */
const SAFE_TARGET = /^[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,254}$/;
/** POSIX user names, as the CA checks them (DESIGN §3.2). */
const USER_NAME = /^[a-z_][a-z0-9_-]{0,30}[$]?$/i;

export function parseTarget(text: string): TargetSpec {
  if (!SAFE_TARGET.test(text))
    throw new CliError(
      `"${text}" is not an instance id, instance ARN or Name tag lkp can use`,
      EXIT.usage,
      'Name tags may use letters, digits and . _ : / + = - (no spaces or quotes)',
    );
  if (INSTANCE_ID.test(text)) return { kind: 'id', text, instanceId: text };
  const arn = INSTANCE_ARN.exec(text);
  if (arn)
    return {
      kind: 'arn',
      text,
      arn: text,
      region: arn[2] ?? '',
      account: arn[3] ?? '',
      instanceId: arn[4] ?? '',
    };
  if (text.startsWith('arn:') || /^i-[0-9a-f]+$/.test(text))
    throw new CliError(
      `"${text}" looks like an instance id or ARN but is not one`,
      EXIT.usage,
      'expected i-0123456789abcdef0 or arn:aws:ec2:<region>:<account>:instance/i-…',
    );
  return { kind: 'name', text, name: text };
}

/** `[user@]target`; an ARN has no `@`, so the last `@` splits. */
export function parseLogin(text: string): Login {
  const at = text.lastIndexOf('@');
  const user = at >= 0 ? checkUser(text.slice(0, at)) : undefined;
  return { user, target: parseTarget(at >= 0 ? text.slice(at + 1) : text) };
}

export function checkUser(user: string): string {
  if (!USER_NAME.test(user))
    throw new CliError(
      `"${user}" is not a valid unix user name`,
      EXIT.usage,
      'for example ec2-user or ubuntu',
    );
  return user;
}

export interface ResolvedTarget {
  arn: string;
  instanceId: string;
  /** Where ssh connects when the CA names no TargetAddress: the private IP, else the public one. */
  address: string | undefined;
  /** What EC2 said about the instance's network, for choosing how to reach it (lib/tunnel/route.ts). */
  network: InstanceNetwork;
}

export interface InstanceNetwork {
  privateIp?: string;
  publicIp?: string;
  vpcId?: string;
  subnetId?: string;
}

export interface InstanceSummary {
  instanceId: string;
  privateIp?: string;
  launchTime?: string;
}

/** DescribeInstances, as the resolver needs it: tests pass a fake. */
export interface InstanceLookup {
  /** The region lookups run in, as the SDK resolved it. */
  region(): Promise<string>;
  describe(
    input: { instanceIds?: string[]; filters?: InstanceFilter[] },
    region?: string,
  ): Promise<Array<{ instance: Ec2Instance; ownerId: string }>>;
  /** Usable EC2 Instance Connect Endpoints (state create-complete or update-*), by id or by VPC. */
  describeEndpoints(input: { id: string } | { vpcId: string }, region: string): Promise<EndpointSummary[]>;
}

export async function resolveTarget(spec: TargetSpec, ec2: InstanceLookup): Promise<ResolvedTarget> {
  switch (spec.kind) {
    case 'arn': {
      // The ARN is what the CA needs; the address is a courtesy (the policy's TargetAddress wins),
      // and a caller may not be allowed to describe instances in the target's account.
      const found = await ec2.describe({ instanceIds: [spec.instanceId] }, spec.region).catch(() => []);
      return {
        arn: spec.arn,
        instanceId: spec.instanceId,
        address: found[0] && addressOf(found[0].instance),
        network: found[0] ? networkOf(found[0].instance) : {},
      };
    }
    case 'id': {
      const region = await ec2.region();
      const found = await ec2.describe({ instanceIds: [spec.instanceId] });
      const hit = found[0];
      if (!hit)
        throw new CliError(
          `instance ${spec.instanceId} was not found in ${region}`,
          EXIT.error,
          'pass the instance ARN, or set the region (--region, AWS_REGION)',
        );
      return toTarget(hit, region);
    }
    case 'name': {
      const region = await ec2.region();
      const found = await ec2.describe({
        filters: [
          { Name: 'tag:Name', Values: [spec.name] },
          { Name: 'instance-state-name', Values: ['running'] },
        ],
      });
      if (found.length === 0)
        throw new CliError(
          `no running instance named "${spec.name}" in ${region}`,
          EXIT.error,
          'check the Name tag, or the region (--region, AWS_REGION)',
        );
      if (found.length > 1)
        throw new CliError(
          `${found.length} running instances are named "${spec.name}" in ${region}:\n${formatInstances(found.map((f) => summary(f.instance)))}`,
          EXIT.usage,
          'pick one by its instance id: lkp ssh <user>@i-…',
        );
      return toTarget(found[0] as { instance: Ec2Instance; ownerId: string }, region);
    }
  }
}

export function formatInstances(list: readonly InstanceSummary[]): string {
  return list
    .map((i) => `  ${i.instanceId}  ${(i.privateIp ?? '-').padEnd(15)}  ${i.launchTime ?? '-'}`)
    .join('\n');
}

function summary(i: Ec2Instance): InstanceSummary {
  return {
    instanceId: i.InstanceId ?? '?',
    ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
    ...(i.LaunchTime ? { launchTime: i.LaunchTime.toISOString() } : {}),
  };
}

function toTarget(
  { instance, ownerId }: { instance: Ec2Instance; ownerId: string },
  region: string,
): ResolvedTarget {
  const instanceId = instance.InstanceId ?? '';
  return {
    arn: `arn:${partitionOf(region)}:ec2:${region}:${ownerId}:instance/${instanceId}`,
    instanceId,
    address: addressOf(instance),
    network: networkOf(instance),
  };
}

function addressOf(i: Ec2Instance): string | undefined {
  return i.PrivateIpAddress || i.PublicIpAddress || undefined;
}

function networkOf(i: Ec2Instance): InstanceNetwork {
  return {
    ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
    ...(i.PublicIpAddress ? { publicIp: i.PublicIpAddress } : {}),
    ...(i.VpcId ? { vpcId: i.VpcId } : {}),
    ...(i.SubnetId ? { subnetId: i.SubnetId } : {}),
  };
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** EC2 with the user's credentials, region and endpoint, resolved as the SDK resolves them (instances.ts). */
export function ec2Lookup(opts: {
  region?: string;
  awsProfile?: string;
  credentials: () => Promise<AwsCredentialIdentity>;
}): InstanceLookup {
  // instances.ts is loaded on the first lookup: its AWS client pulls in the credential chain, which
  // a login with a cached certificate never needs (docs/performance.md, "The client").
  let loaded: Promise<{ lookups: InstanceDescriptions; errorCode: (e: unknown) => string }> | undefined;
  const load = () =>
    (loaded ??= import('./instances.js').then((m) => ({
      lookups: m.describeInstances(opts),
      errorCode: m.ec2ErrorCode,
    })));
  return {
    async region() {
      const { lookups } = await load();
      const region = await lookups.region();
      if (region === undefined)
        throw new CliError(
          'no AWS region for looking up instances',
          EXIT.usage,
          'pass --region, set AWS_REGION, or give the instance ARN',
        );
      return region;
    },
    async describe(input, region) {
      const { lookups, errorCode } = await load();
      try {
        return await lookups.describe(input, region);
      } catch (e) {
        const code = errorCode(e);
        if (code === 'InvalidInstanceID.NotFound' || code === 'InvalidInstanceID.Malformed') return [];
        if (e instanceof CliError) throw e;
        throw new CliError(
          `EC2 DescribeInstances failed (${code}): ${e instanceof Error ? e.message : String(e)}`,
          EXIT.error,
          'your AWS identity needs ec2:DescribeInstances; or pass the instance ARN',
        );
      }
    },
    async describeEndpoints(input, region) {
      const { lookups, errorCode } = await load();
      try {
        return await lookups.describeEndpoints(input, region);
      } catch (e) {
        const code = errorCode(e);
        if (code === 'InvalidInstanceConnectEndpointId.NotFound') return [];
        throw new CliError(
          `EC2 DescribeInstanceConnectEndpoints failed (${code}): ${e instanceof Error ? e.message : String(e)}`,
          EXIT.error,
          'your AWS identity needs ec2:DescribeInstanceConnectEndpoints; or the access policy can name the endpoint',
        );
      }
    },
  };
}

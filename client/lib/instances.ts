/**
 * The client's EC2 calls, DescribeInstances and DescribeInstanceConnectEndpoints (lib/tunnel/route.ts),
 * with the user's credentials, through the CA's own
 * small Query client (src/aws/ec2-query.ts) instead of @aws-sdk/client-ec2, whose load was most of
 * a first connection (docs/performance.md). Region and endpoint are resolved the way the SDK
 * resolves them, with the SDK's own configuration loader: --region, AWS_REGION, the profile's
 * `region`; AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, the profile's `endpoint_url` or its
 * `services` section (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS / ignore_configured_endpoint_urls),
 * else the region's endpoint.
 */
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import {
  Ec2Error,
  ec2Endpoint,
  ec2QueryClient,
  type Ec2QueryClient,
  type QueryParams,
} from '../../src/aws/ec2-query.js';
import { childText, type XmlElement } from '../../src/xml.js';
import { sdkConfigLoader } from './aws-sdk.js';

/** EC2's error code (e.g. InvalidInstanceID.NotFound), else the error's name. */
export function ec2ErrorCode(e: unknown): string {
  return e instanceof Ec2Error ? e.code : e instanceof Error ? e.name : 'Error';
}

/** What lkp reads of an instance; field names as the SDK's, so callers read alike. */
export interface Ec2Instance {
  InstanceId?: string;
  PrivateIpAddress?: string;
  PublicIpAddress?: string;
  LaunchTime?: Date;
  SubnetId?: string;
  VpcId?: string;
  Tags?: Array<{ Key?: string; Value?: string }>;
}

export interface InstanceFilter {
  Name: string;
  Values: string[];
}

export interface InstanceDescriptions {
  /** The region lookups run in when none is given; undefined when nothing names one. */
  region(): Promise<string | undefined>;
  describe(
    input: { instanceIds?: string[]; filters?: InstanceFilter[] },
    region?: string,
  ): Promise<Array<{ instance: Ec2Instance; ownerId: string }>>;
  /** Usable endpoints (as the AWS CLI filters them: create-complete or update-*), by id or by VPC; every page. */
  describeEndpoints(input: { id: string } | { vpcId: string }, region: string): Promise<EndpointSummary[]>;
}

/** An EC2 Instance Connect Endpoint as DescribeInstanceConnectEndpoints reports it. */
export interface EndpointSummary {
  id: string;
  dnsName?: string;
  fipsDnsName?: string;
  vpcId?: string;
  subnetId?: string;
}

const USABLE_ENDPOINT_STATES = ['create-complete', 'update-in-progress', 'update-failed', 'update-complete'];
/** EC2 pages of endpoints; a VPC with more than this many pages is not one lkp should wander through. */
const MAX_ENDPOINT_PAGES = 10;

export function describeInstances(opts: {
  region?: string;
  awsProfile?: string;
  credentials: () => Promise<AwsCredentialIdentity>;
}): InstanceDescriptions {
  const profile = opts.awsProfile ? { profile: opts.awsProfile } : {};
  let defaultRegion: Promise<string | undefined> | undefined;
  const region = () =>
    (defaultRegion ??= opts.region ? Promise.resolve(opts.region) : configuredRegion(profile));
  const clients = new Map<string, Promise<Ec2QueryClient>>();
  const clientFor = (region: string) => {
    let client = clients.get(region);
    if (!client) {
      client = configuredEndpoint(profile).then((endpoint) =>
        ec2QueryClient({
          region,
          endpoint: endpoint ?? ec2Endpoint(region, {}),
          credentials: opts.credentials,
        }),
      );
      clients.set(region, client);
    }
    return client;
  };
  return {
    region,
    async describe(input, inRegion) {
      const where = inRegion ?? (await region());
      if (where === undefined) throw new Error('no AWS region for looking up instances');
      return once(where, async (client) =>
        reservationsOf(await client.call('DescribeInstances', describeParams(input))),
      );
    },
    describeEndpoints: (input, where) =>
      once(where, async (client) => {
        const found: EndpointSummary[] = [];
        let next: string | undefined;
        for (let page = 0; page < MAX_ENDPOINT_PAGES; page++) {
          const answer = await client.call('DescribeInstanceConnectEndpoints', {
            ...('id' in input ? { InstanceConnectEndpointId: [input.id] } : {}),
            Filter: [
              { Name: 'state', Value: USABLE_ENDPOINT_STATES },
              ...('vpcId' in input ? [{ Name: 'vpc-id', Value: [input.vpcId] }] : []),
            ],
            ...(next !== undefined ? { NextToken: next } : {}),
          });
          found.push(...items(answer, 'instanceConnectEndpointSet').flatMap(endpointOf));
          next = childText(answer, 'nextToken') || undefined;
          if (next === undefined) break;
        }
        return found;
      }),
  };

  /** One lookup per command: keep no connection open behind ssh. */
  async function once<T>(where: string, use: (client: Ec2QueryClient) => Promise<T>): Promise<T> {
    const client = await clientFor(where);
    try {
      return await use(client);
    } finally {
      client.destroy();
      clients.delete(where);
    }
  }
}

function endpointOf(e: XmlElement): EndpointSummary[] {
  const text = (name: string) => childText(e, name) || undefined;
  const id = text('instanceConnectEndpointId');
  if (id === undefined) return [];
  return [
    {
      id,
      ...optional('dnsName', text('dnsName')),
      ...optional('fipsDnsName', text('fipsDnsName')),
      ...optional('vpcId', text('vpcId')),
      ...optional('subnetId', text('subnetId')),
    },
  ];
}

function describeParams(input: { instanceIds?: string[]; filters?: InstanceFilter[] }): QueryParams {
  return {
    ...(input.instanceIds ? { InstanceId: input.instanceIds } : {}),
    ...(input.filters ? { Filter: input.filters.map((f) => ({ Name: f.Name, Value: f.Values })) } : {}),
  };
}

function reservationsOf(answer: XmlElement): Array<{ instance: Ec2Instance; ownerId: string }> {
  return items(answer, 'reservationSet').flatMap((reservation) => {
    const ownerId = childText(reservation, 'ownerId') ?? '';
    return items(reservation, 'instancesSet').map((i) => ({ instance: instanceOf(i), ownerId }));
  });
}

function instanceOf(i: XmlElement): Ec2Instance {
  const text = (name: string) => childText(i, name) || undefined;
  const launch = text('launchTime');
  return {
    ...optional('InstanceId', text('instanceId')),
    ...optional('PrivateIpAddress', text('privateIpAddress')),
    ...optional('PublicIpAddress', text('ipAddress')),
    ...optional('SubnetId', text('subnetId')),
    ...optional('VpcId', text('vpcId')),
    ...(launch !== undefined && !Number.isNaN(Date.parse(launch)) ? { LaunchTime: new Date(launch) } : {}),
    Tags: items(i, 'tagSet').map((t) => ({
      ...optional('Key', childText(t, 'key')),
      ...optional('Value', childText(t, 'value')),
    })),
  };
}

const optional = <K extends string>(key: K, value: string | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;

/** The items of an EC2 list element (`<reservationSet><item>…</item></reservationSet>`). */
function items(parent: XmlElement, set: string): XmlElement[] {
  const list = parent.children.find((c) => c.name === set);
  return list ? list.children.filter((c) => c.name === 'item') : [];
}

async function configuredRegion(profile: { profile?: string }): Promise<string | undefined> {
  const { loadConfig, NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS } = sdkConfigLoader();
  try {
    return await loadConfig(NODE_REGION_CONFIG_OPTIONS, { ...NODE_REGION_CONFIG_FILE_OPTIONS, ...profile })();
  } catch {
    return undefined;
  }
}

/** The SDK's "configured endpoint" for EC2 (service id "EC2"), or undefined for the region's own. */
async function configuredEndpoint(profile: { profile?: string }): Promise<string | undefined> {
  const { loadConfig, booleanSelector, SelectorType } = sdkConfigLoader();
  const ignore = await loadConfig<boolean>(
    {
      environmentVariableSelector: (env) =>
        booleanSelector(env, 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', SelectorType.ENV),
      configFileSelector: (p) => booleanSelector(p, 'ignore_configured_endpoint_urls', SelectorType.CONFIG),
      default: false,
    },
    profile,
  )();
  if (ignore) return undefined;
  return loadConfig<string | undefined>(
    {
      environmentVariableSelector: (env) => env.AWS_ENDPOINT_URL_EC2 || env.AWS_ENDPOINT_URL || undefined,
      configFileSelector: (p, files) => {
        if (p.services) {
          const section = files?.[`services.${p.services}`];
          if (!section)
            throw new Error(
              `the services section "${p.services}" named by the profile is not in ~/.aws/config`,
            );
          if (section['ec2.endpoint_url']) return section['ec2.endpoint_url'];
        }
        return p.endpoint_url || undefined;
      },
      default: undefined,
    },
    profile,
  )();
}

/**
 * Where each of the CA's AWS calls goes and which region it is signed for, the way the SDK v3's
 * endpoint rules decide it: partitions, regions and DNS suffixes from the SDK's own data
 * (partitions-data.ts), FIPS and dual-stack from AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT,
 * AWS_ENDPOINT_URL_<SERVICE> overrides, and the few service rules that differ from
 * `<service>[-fips].<region>.<suffix>` (IAM's global hosts; STS, EC2 and DynamoDB FIPS in GovCloud).
 * test/conformance/endpoints.test.ts holds every service, partition, region and variant to the
 * SDK's own resolver. A partition lkp does not support is refused, never sent to a guessed host.
 */
import { internal } from '../errors.js';
import { SDK_PARTITIONS, type Partition } from './partitions-data.js';

/** Where lkp runs: its identity ARN grammar (DESIGN §3.1) covers these, and nothing else. */
export const SUPPORTED_PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov'] as const;
export type SupportedPartition = (typeof SUPPORTED_PARTITIONS)[number];

/** A configuration no AWS call can be made with; the message names the variable to fix. */
export class EndpointConfigError extends Error {
  override readonly name = 'EndpointConfigError';
}

export interface EndpointVariant {
  fips: boolean;
  dualStack: boolean;
}

/** Host names of a partition-wide (global) service, per variant. */
interface GlobalHosts {
  standard: string;
  fips: string;
  dualStack: string;
  fipsDualStack: string;
  signingRegion: string;
}

export interface ServiceEndpointRule {
  /** For messages: "KMS". */
  label: string;
  /** `AWS_ENDPOINT_URL_<envName>` overrides the endpoint, as in the SDK. */
  envName: string;
  /** The first label of the regional host: `kms` in kms.us-east-1.amazonaws.com. */
  hostPrefix: string;
  /** Partitions whose FIPS endpoint (without dual-stack) is the standard host. */
  fipsIsStandardIn?: readonly SupportedPartition[];
  /** Pseudo-regions with a host of their own (STS's `aws-global`: sts.amazonaws.com). */
  pseudoRegions?: Readonly<Record<string, { host: string; signingRegion: string }>>;
  /** A global service: one set of hosts per partition, whatever the region. */
  global?: Readonly<Record<SupportedPartition, GlobalHosts>>;
}

export const STS_RULE: ServiceEndpointRule = {
  label: 'STS',
  envName: 'STS',
  hostPrefix: 'sts',
  fipsIsStandardIn: ['aws-us-gov'],
  pseudoRegions: { 'aws-global': { host: 'sts.amazonaws.com', signingRegion: 'us-east-1' } },
};
export const KMS_RULE: ServiceEndpointRule = { label: 'KMS', envName: 'KMS', hostPrefix: 'kms' };
export const LAMBDA_RULE: ServiceEndpointRule = { label: 'Lambda', envName: 'LAMBDA', hostPrefix: 'lambda' };
export const EC2_RULE: ServiceEndpointRule = {
  label: 'EC2',
  envName: 'EC2',
  hostPrefix: 'ec2',
  fipsIsStandardIn: ['aws-us-gov'],
};
export const DYNAMODB_RULE: ServiceEndpointRule = {
  label: 'DynamoDB',
  envName: 'DYNAMODB',
  hostPrefix: 'dynamodb',
  fipsIsStandardIn: ['aws-us-gov'],
};
export const IAM_RULE: ServiceEndpointRule = {
  label: 'IAM',
  envName: 'IAM',
  hostPrefix: 'iam',
  global: {
    aws: {
      standard: 'iam.amazonaws.com',
      fips: 'iam-fips.amazonaws.com',
      dualStack: 'iam.global.api.aws',
      fipsDualStack: 'iam-fips.global.api.aws',
      signingRegion: 'us-east-1',
    },
    'aws-cn': {
      standard: 'iam.cn-north-1.amazonaws.com.cn',
      fips: 'iam-fips.amazonaws.com.cn',
      dualStack: 'iam.global.api.amazonwebservices.com.cn',
      fipsDualStack: 'iam-fips.api.amazonwebservices.com.cn',
      signingRegion: 'cn-north-1',
    },
    'aws-us-gov': {
      standard: 'iam.us-gov.amazonaws.com',
      fips: 'iam.us-gov.amazonaws.com',
      dualStack: 'iam.us-gov.api.aws',
      fipsDualStack: 'iam.us-gov.api.aws',
      signingRegion: 'us-gov-west-1',
    },
  },
};

export interface ResolvedEndpoint {
  /** Origin (and path, when a configured endpoint has one). */
  url: string;
  signingRegion: string;
}

/** Lower-case letters, digits and dashes only: a region becomes part of a host name. */
const REGION_SHAPE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** As the SDK: the partition listing the region, else the first whose pattern matches; no default. */
export function partitionOf(region: string): Partition | undefined {
  if (!REGION_SHAPE.test(region)) return undefined;
  return (
    SDK_PARTITIONS.find((p) => p.regions.includes(region)) ??
    SDK_PARTITIONS.find((p) => new RegExp(p.regionRegex).test(region))
  );
}

/** The region's partition when lkp supports it; anything else is refused with the reason. */
export function supportedPartition(region: string): Partition & { id: SupportedPartition } {
  const partition = partitionOf(region);
  if (partition === undefined)
    throw new EndpointConfigError(
      `"${region}" is not a region of any AWS partition the SDK knows (e.g. us-east-1, cn-north-1, us-gov-west-1)`,
    );
  if (!isSupported(partition))
    throw new EndpointConfigError(
      `region ${region} is in partition ${partition.id}, which lkp does not support (only ${SUPPORTED_PARTITIONS.join(', ')}): ` +
        'its identities and endpoints are outside what lkp checks',
    );
  return partition;
}

const isSupported = (p: Partition): p is Partition & { id: SupportedPartition } =>
  (SUPPORTED_PARTITIONS as readonly string[]).includes(p.id);

/**
 * AWS_USE_FIPS_ENDPOINT and AWS_USE_DUALSTACK_ENDPOINT, read as the SDK reads them: unset, "true" or
 * "false"; anything else is an error, never silently taken as false.
 */
export function endpointVariant(env: NodeJS.ProcessEnv): EndpointVariant {
  const flag = (name: string): boolean => {
    const value = env[name];
    if (value === undefined || value === 'false') return false;
    if (value === 'true') return true;
    throw new EndpointConfigError(`${name} must be "true" or "false" (got "${value}")`);
  };
  return { fips: flag('AWS_USE_FIPS_ENDPOINT'), dualStack: flag('AWS_USE_DUALSTACK_ENDPOINT') };
}

/**
 * The endpoint the SDK would use: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL (unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else the service's host in the region's partition.
 */
export function resolveEndpoint(
  rule: ServiceEndpointRule,
  region: string,
  env: NodeJS.ProcessEnv,
): ResolvedEndpoint {
  const variant = endpointVariant(env);
  const partition = supportedPartition(region);
  const configured = configuredEndpoint(rule.envName, env);
  if (configured !== undefined) {
    // The SDK's rules refuse both variants with a custom endpoint rather than ignore them.
    if (variant.fips || variant.dualStack)
      throw new EndpointConfigError(
        `${variant.fips ? 'AWS_USE_FIPS_ENDPOINT' : 'AWS_USE_DUALSTACK_ENDPOINT'}=true cannot be combined with a configured ${rule.label} endpoint (${configured}); unset one of them`,
      );
    return { url: configured, signingRegion: rule.global?.[partition.id].signingRegion ?? region };
  }
  if (variant.fips && !partition.supportsFIPS)
    throw new EndpointConfigError(
      `AWS_USE_FIPS_ENDPOINT=true: partition ${partition.id} has no FIPS endpoints`,
    );
  if (variant.dualStack && !partition.supportsDualStack)
    throw new EndpointConfigError(
      `AWS_USE_DUALSTACK_ENDPOINT=true: partition ${partition.id} has no dual-stack endpoints`,
    );
  const { host, signingRegion } = serviceHost(rule, region, partition, variant);
  return { url: `https://${host}`, signingRegion };
}

/**
 * A client's endpoint: `explicit` (a stand-in's URL, signed for the region as the SDK signs for a
 * custom endpoint) or the resolved one. A region lkp cannot call is an Internal error, as an
 * AWS call that cannot be made.
 */
export function clientEndpoint(
  rule: ServiceEndpointRule,
  region: string,
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
): ResolvedEndpoint {
  try {
    if (explicit === undefined) return resolveEndpoint(rule, region, env);
    const partition = supportedPartition(region);
    return { url: explicit, signingRegion: rule.global?.[partition.id].signingRegion ?? region };
  } catch (e) {
    if (e instanceof EndpointConfigError) throw internal(`cannot call ${rule.label}: ${e.message}`);
    throw e;
  }
}

/** A partition's home region (where its global endpoints are signed); undefined for an unknown id. */
export const homeRegionOf = (partitionId: string): string | undefined =>
  SDK_PARTITIONS.find((p) => p.id === partitionId)?.implicitGlobalRegion;

function serviceHost(
  rule: ServiceEndpointRule,
  region: string,
  partition: Partition & { id: SupportedPartition },
  { fips, dualStack }: EndpointVariant,
): { host: string; signingRegion: string } {
  const global = rule.global?.[partition.id];
  if (global !== undefined) {
    const host = fips
      ? dualStack
        ? global.fipsDualStack
        : global.fips
      : dualStack
        ? global.dualStack
        : global.standard;
    return { host, signingRegion: global.signingRegion };
  }
  const pseudo = rule.pseudoRegions?.[region];
  if (pseudo !== undefined && !fips && !dualStack) return pseudo;
  const fipsHost = fips && !(dualStack === false && rule.fipsIsStandardIn?.includes(partition.id));
  const suffix = dualStack ? partition.dualStackDnsSuffix : partition.dnsSuffix;
  return { host: `${rule.hostPrefix}${fipsHost ? '-fips' : ''}.${region}.${suffix}`, signingRegion: region };
}

function configuredEndpoint(envName: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'] === 'true') return undefined;
  return env[`AWS_ENDPOINT_URL_${envName}`] || env['AWS_ENDPOINT_URL'] || undefined;
}

/**
 * The region a request to `host` must be signed for, when it is one of STS's own hosts in a
 * supported partition (sts.amazonaws.com: us-east-1; sts.eu-west-1.amazonaws.com: eu-west-1);
 * undefined for any other host (a loopback stand-in, a VPC endpoint).
 */
export function stsSigningRegionOfHost(host: string): string | undefined {
  const wanted = host.toLowerCase();
  for (const partition of SDK_PARTITIONS.filter(isSupported))
    for (const region of partition.regions)
      for (const fips of [false, true])
        for (const dualStack of [false, true]) {
          const found = serviceHost(STS_RULE, region, partition, { fips, dualStack });
          if (found.host === wanted) return found.signingRegion;
        }
  return undefined;
}

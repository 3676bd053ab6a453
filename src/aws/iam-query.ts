/**
 * The CA's IAM Query API client (version 2010-05-08): GetInstanceProfile for the host-role check
 * (DESIGN §3.4) without the SDK's IAM client. IAM is global: one endpoint per partition, signed
 * for that partition's home region. Signing, bounds and XML reading: src/aws/query-client.ts.
 */
import { internal } from '../errors.js';
import {
  configuredEndpoint,
  queryClient,
  QueryError,
  type QueryClient,
  type QueryClientLimits,
} from './query-client.js';

export type IamQueryClient = QueryClient;

export interface IamClientOptions extends QueryClientLimits {
  /** aws (default), aws-cn or aws-us-gov. */
  partition?: string;
  /** Default: AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL, then the partition's IAM endpoint. */
  endpoint?: string;
}

/** IAM answered with an error document; `code` is IAM's (e.g. NoSuchEntity). */
export class IamError extends QueryError {
  override readonly name = 'IamError';
}

const API_VERSION = '2010-05-08';
/** IAM's global endpoint and signing region per partition. */
const PARTITIONS: Readonly<Record<string, { host: string; signingRegion: string }>> = {
  aws: { host: 'iam.amazonaws.com', signingRegion: 'us-east-1' },
  'aws-cn': { host: 'iam.cn-north-1.amazonaws.com.cn', signingRegion: 'cn-north-1' },
  'aws-us-gov': { host: 'iam.us-gov.amazonaws.com', signingRegion: 'us-gov-west-1' },
};

export function iamQueryClient(opts: IamClientOptions = {}): IamQueryClient {
  const partition = opts.partition ?? 'aws';
  return queryClient(
    {
      label: 'IAM',
      signingName: 'iam',
      signingRegion: homeOf(partition).signingRegion,
      version: API_VERSION,
      endpoint: opts.endpoint ?? iamEndpoint(partition, process.env),
      error: (code, status, message) => new IamError(code, status, message),
    },
    opts,
  );
}

/** The endpoint the SDK would use: the configured override, else the partition's global one. */
export function iamEndpoint(partition: string, env: NodeJS.ProcessEnv): string {
  return configuredEndpoint('IAM', env, `https://${homeOf(partition).host}`);
}

function homeOf(partition: string): { host: string; signingRegion: string } {
  const home = PARTITIONS[partition];
  if (home === undefined) throw internal(`the CA does not know IAM's endpoint in partition "${partition}"`);
  return home;
}

/**
 * The CA's EC2 Query API client (version 2016-11-15): its five EC2 calls without the 550 KB SDK
 * client (docs/performance.md). Signing, bounds and XML reading: src/aws/query-client.ts.
 */
import { checkRegion, regionalEndpoint } from './http-client.js';
import {
  encodeQuery as encodeVersionedQuery,
  queryClient,
  QueryError,
  type AwsCredentials,
  type QueryClient,
  type QueryClientLimits,
  type QueryParams,
} from './query-client.js';

export type { QueryParams, QueryValue } from './query-client.js';
export type Ec2Credentials = AwsCredentials;
export type Ec2QueryClient = QueryClient;

export interface Ec2ClientOptions extends QueryClientLimits {
  region: string;
  /** Default: AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, then the regional endpoint (as the SDK does). */
  endpoint?: string;
}

/** EC2 answered with an error document; `code` is EC2's (e.g. InvalidInstanceID.NotFound). */
export class Ec2Error extends QueryError {
  override readonly name = 'Ec2Error';
}

const API_VERSION = '2016-11-15';

export function ec2QueryClient(opts: Ec2ClientOptions): Ec2QueryClient {
  checkRegion(opts.region);
  return queryClient(
    {
      label: 'EC2',
      signingName: 'ec2',
      signingRegion: opts.region,
      version: API_VERSION,
      endpoint: opts.endpoint ?? ec2Endpoint(opts.region, process.env),
      error: (code, status, message) => new Ec2Error(code, status, message),
    },
    opts,
  );
}

/** The endpoint the SDK would use: the configured override, else the region's (aws-cn: .com.cn). */
export function ec2Endpoint(region: string, env: NodeJS.ProcessEnv): string {
  return regionalEndpoint('EC2', 'ec2', region, env);
}

/** The form body of an EC2 action: Action, Version, then the parameters flattened the Query API's way. */
export const encodeQuery = (action: string, params: QueryParams): string =>
  encodeVersionedQuery(action, API_VERSION, params);

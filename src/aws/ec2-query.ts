/**
 * The CA's EC2 Query API client (version 2016-11-15): its five EC2 calls without the 550 KB SDK
 * client (docs/performance.md). Signing, bounds and XML reading: src/aws/query-client.ts.
 */
import { clientEndpoint, EC2_RULE } from './endpoints.js';
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
  /** Default: as the SDK resolves it (src/aws/endpoints.ts: AWS_ENDPOINT_URL_EC2, FIPS, dual-stack). */
  endpoint?: string;
}

/** EC2 answered with an error document; `code` is EC2's (e.g. InvalidInstanceID.NotFound). */
export class Ec2Error extends QueryError {
  override readonly name = 'Ec2Error';
}

const API_VERSION = '2016-11-15';

export function ec2QueryClient(opts: Ec2ClientOptions): Ec2QueryClient {
  const { url, signingRegion } = clientEndpoint(EC2_RULE, opts.region, opts.endpoint, process.env);
  return queryClient(
    {
      label: 'EC2',
      signingName: 'ec2',
      signingRegion,
      version: API_VERSION,
      endpoint: url,
      error: (code, status, message) => new Ec2Error(code, status, message),
    },
    opts,
  );
}

/** The URL the SDK would call for EC2 in `region`, given the environment `env` (src/aws/endpoints.ts). */
export const ec2Endpoint = (region: string, env: NodeJS.ProcessEnv): string =>
  clientEndpoint(EC2_RULE, region, undefined, env).url;

/** The form body of an EC2 action: Action, Version, then the parameters flattened the Query API's way. */
export const encodeQuery = (action: string, params: QueryParams): string =>
  encodeVersionedQuery(action, API_VERSION, params);

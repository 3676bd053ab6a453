/**
 * The CA's IAM Query API client (version 2010-05-08): GetInstanceProfile for the host-role check
 * (DESIGN §3.4) and GetGroup for the unix accounts of an Accounts request, without the SDK's IAM
 * client. IAM is global: one endpoint per partition, signed for that partition's IAM region
 * (src/aws/endpoints.ts). Signing, bounds and XML reading: src/aws/query-client.ts.
 */
import { internal } from '../errors.js';
import { childElement, childText } from '../xml.js';
import { clientEndpoint, homeRegionOf, IAM_RULE } from './endpoints.js';
import { queryClient, QueryError, type QueryClient, type QueryClientLimits } from './query-client.js';

export type IamQueryClient = QueryClient;

export interface IamClientOptions extends QueryClientLimits {
  /** aws (default), aws-cn or aws-us-gov. */
  partition?: string;
  /** Default: as the SDK resolves it (AWS_ENDPOINT_URL_IAM, FIPS, dual-stack). */
  endpoint?: string;
}

/** IAM answered with an error document; `code` is IAM's (e.g. NoSuchEntity). */
export class IamError extends QueryError {
  override readonly name = 'IamError';
}

const API_VERSION = '2010-05-08';

export function iamQueryClient(opts: IamClientOptions = {}): IamQueryClient {
  const { url, signingRegion } = iamEndpoint(opts.partition ?? 'aws', opts.endpoint, process.env);
  return queryClient(
    {
      label: 'IAM',
      signingName: 'iam',
      signingRegion,
      version: API_VERSION,
      endpoint: url,
      error: (code, status, message) => new IamError(code, status, message),
    },
    opts,
  );
}

/** IAM's endpoint in `partition`: the same from every region of it, so its home region stands for all. */
export function iamEndpoint(
  partition: string,
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
): { url: string; signingRegion: string } {
  const region = homeRegionOf(partition);
  if (region === undefined) throw internal(`cannot call IAM: "${partition}" is not an AWS partition`);
  return clientEndpoint(IAM_RULE, region, explicit, env);
}

/** The most IAM returns per page: a group of up to 1,000 members costs one call. */
const GROUP_PAGE_SIZE = 1000;
/** 100 pages of 1,000: far past any real group, and a bound on a Marker that never ends. */
const MAX_GROUP_PAGES = 100;

/** The user names in an IAM group, every page. IAM's refusals (NoSuchEntity, AccessDenied): IamError. */
export async function getGroupMembers(client: IamQueryClient, groupName: string): Promise<string[]> {
  const users: string[] = [];
  let marker: string | undefined;
  for (let page = 0; page < MAX_GROUP_PAGES; page += 1) {
    const out = await client.call('GetGroup', {
      GroupName: groupName,
      MaxItems: GROUP_PAGE_SIZE,
      Marker: marker,
    });
    const result = childElement(out, 'GetGroupResult');
    const members = childElement(result, 'Users')?.children.filter((c) => c.name === 'member') ?? [];
    for (const member of members) {
      const name = childText(member, 'UserName');
      if (name === undefined || name === '')
        throw new Error(`IAM GetGroup ${groupName}: a member without UserName`);
      users.push(name);
    }
    if (childText(result, 'IsTruncated') !== 'true') return users;
    marker = childText(result, 'Marker');
    if (marker === undefined || marker === '')
      throw new Error(`IAM GetGroup ${groupName}: truncated page without Marker`);
  }
  throw new Error(`IAM GetGroup ${groupName}: more than ${MAX_GROUP_PAGES} pages`);
}

/**
 * The only IAM calls of `lkp host sync-users`: GetGroup for each configured group, paged, with the
 * instance role or a role assumed in the account that holds the users. One listing per group and
 * sync; the SDK's standard retry backs off on Throttling (docs/deploy.md, "Personal unix accounts").
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { credentialProviders, iamSdk } from '../../aws-sdk.js';

export interface IamSource {
  /** Signing region; IAM is global and signs in us-east-1 (cn-north-1, us-gov-west-1 elsewhere). */
  region: string;
  /** Role in the account that holds the IAM users (cross-account); default: the instance's own credentials. */
  assumeRoleArn?: string;
  externalId?: string;
  /** Endpoint override (the local stand-in); default AWS_ENDPOINT_URL_IAM or the public endpoint. */
  endpoint?: string;
  /** Fixed credentials (tests); default the AWS credential chain (instance profile on EC2). */
  credentials?: AwsCredentialIdentity;
  /** Attempts per call, with exponential backoff and jitter between them; default 8. */
  maxAttempts?: number;
}

/** The most IAM returns per page: a group of up to 1,000 members costs one call. */
const PAGE_SIZE = 1000;

export function iamClient(source: IamSource): IAMClient {
  const { IAMClient } = iamSdk();
  const credentials = source.assumeRoleArn
    ? credentialProviders().fromTemporaryCredentials({
        params: {
          RoleArn: source.assumeRoleArn,
          RoleSessionName: 'lkp-sync-users',
          ...(source.externalId ? { ExternalId: source.externalId } : {}),
        },
        ...(source.credentials ? { masterCredentials: source.credentials } : {}),
        clientConfig: { region: source.region },
      })
    : source.credentials;
  return new IAMClient({
    region: source.region,
    retryMode: 'standard',
    maxAttempts: source.maxAttempts ?? 8,
    ...(source.endpoint ? { endpoint: source.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

/** IAM group name → its members' user names. A missing group is an error: a typo must not lock everyone out. */
export async function listGroupMembers(
  client: IAMClient,
  groups: readonly string[],
): Promise<Map<string, string[]>> {
  const { GetGroupCommand } = iamSdk();
  const members = new Map<string, string[]>();
  for (const group of new Set(groups)) {
    const users: string[] = [];
    let marker: string | undefined;
    do {
      const page = await client.send(
        new GetGroupCommand({ GroupName: group, MaxItems: PAGE_SIZE, ...(marker ? { Marker: marker } : {}) }),
      );
      users.push(...(page.Users ?? []).map((u) => u.UserName ?? '').filter((n) => n !== ''));
      marker = page.IsTruncated ? page.Marker : undefined;
      if (page.IsTruncated && marker === undefined)
        throw new Error(`IAM GetGroup ${group}: truncated page without Marker`);
    } while (marker !== undefined);
    members.set(group, users);
  }
  return members;
}

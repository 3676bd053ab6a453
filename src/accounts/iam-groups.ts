/**
 * IAM group members for Accounts requests, read with the CA's own role in its own account
 * (instance roles need no IAM permission). Every host asks every few minutes, so a group's members
 * are kept for a minute (LKP_ACCOUNT_GROUPS_MAX_AGE): a thousand hosts cost IAM about one GetGroup
 * per group per minute, not per host. A missing group is an error, never "no members": a typo must not lock everyone out.
 */
import { getGroupMembers, IamError, iamQueryClient, type IamQueryClient } from '../aws/iam-query.js';
import { internal } from '../errors.js';

export type GroupMembers = (groups: readonly string[]) => Promise<Map<string, string[]>>;

export function iamGroupMembers(opts: {
  partition: string;
  /** LKP_ACCOUNT_GROUPS_MAX_AGE; default 60. */
  maxAgeSeconds?: number;
  client?: IamQueryClient;
  now?: () => number;
}): GroupMembers {
  const keptMs = (opts.maxAgeSeconds ?? 60) * 1000;
  const now = opts.now ?? Date.now;
  let client = opts.client;
  const kept = new Map<string, { until: number; members: string[] }>();
  const read = async (group: string): Promise<string[]> => {
    const hit = kept.get(group);
    if (hit !== undefined && hit.until > now()) return hit.members;
    client ??= iamQueryClient({ partition: opts.partition });
    let members: string[];
    try {
      members = await getGroupMembers(client, group);
    } catch (e) {
      throw internal(readFailure(group, e), e);
    }
    if (keptMs > 0) kept.set(group, { until: now() + keptMs, members });
    return members;
  };
  return async (groups) => {
    const unique = [...new Set(groups)];
    const lists = await Promise.all(unique.map(read));
    return new Map(unique.map((g, i) => [g, lists[i] ?? []]));
  };
}

/** Names the fix; IAM's own message stays in the cause (the CA's logs). */
function readFailure(group: string, e: unknown): string {
  if (e instanceof IamError && e.code === 'NoSuchEntity')
    return `IAM group ${group} does not exist; fix LKP_ACCOUNT_GROUPS / LKP_SUDO_GROUPS`;
  const reason = e instanceof IamError ? e.code : 'no answer';
  return `could not read IAM group ${group} (IAM GetGroup: ${reason}); the CA role needs iam:GetGroup and a route to the IAM endpoint`;
}

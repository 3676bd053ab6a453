/**
 * EC2 tag-based access: an instance tagged `lkp:allow-groups=dev,ops` admits callers in group dev
 * or ops. A caller's groups:
 *   - an assumed role: the role name, and for IAM Identity Center (SSO) roles
 *     `AWSReservedSSO_<PermissionSet>_<hash>` also the permission set name;
 *   - an IAM user: from LKP_USER_GROUPS='{"alice":["dev"],"444455556666:bob":["ops"]}'. A bare name
 *     matches that user in every account the CA accepts; `<account>:<name>` pins one account.
 *     (IAM ListGroupsForUser would need @aws-sdk/client-iam, which lkp does not ship.)
 *   - a federated user: none.
 * An instance the policy cannot find (or in another account) is denied. The policy's role needs
 * ec2:DescribeInstances.
 */
import type { LkpIdentity } from '../sdk/types.js';
import { allowInstanceOwnSession, definePolicy, deny, type PolicyHandler } from '../sdk/define-policy.js';
import { ConfigError, fromEnv, jsonFromEnv, type Env } from './lib/env.js';
import { ec2InstanceLookup, type InstanceLookup } from './lib/instances.js';

export const ALLOW_GROUPS_TAG = 'lkp:allow-groups';
const SSO_ROLE = /^AWSReservedSSO_(.+)_[0-9a-f]{16}$/;

export interface Ec2TagsConfig {
  /** IAM user name or `<account>:<name>` → groups. */
  userGroups: Readonly<Record<string, readonly string[]>>;
  lookup: InstanceLookup;
}

export function ec2TagsPolicy(config: Ec2TagsConfig): PolicyHandler {
  return definePolicy({
    user: async (req) => {
      const instance = await config.lookup(req.RemoteInstanceArn);
      if (!instance) return deny(`instance ${req.RemoteInstanceArn} not found`);
      const allowed = splitGroups(instance.tags[ALLOW_GROUPS_TAG]);
      const groups = groupsOf(req.From, config.userGroups);
      if (!groups.some((g) => allowed.includes(g)))
        return deny(`none of the caller's groups [${groups.join(', ')}] is in ${ALLOW_GROUPS_TAG}`);
      return { Authorized: true };
    },
    host: allowInstanceOwnSession,
  });
}

export function groupsOf(who: LkpIdentity, userGroups: Ec2TagsConfig['userGroups']): string[] {
  if (who.Type === 'AssumedRole' && who.RoleName !== undefined) {
    const permissionSet = SSO_ROLE.exec(who.RoleName)?.[1];
    return permissionSet === undefined ? [who.RoleName] : [who.RoleName, permissionSet];
  }
  if (who.Type === 'User' && who.Name !== undefined)
    return [...(userGroups[who.Name] ?? []), ...(userGroups[`${who.Account}:${who.Name}`] ?? [])];
  return [];
}

/** "dev, ops" → ["dev", "ops"]; an absent tag admits nobody. */
function splitGroups(tag: string | undefined): string[] {
  return (tag ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
}

export function userGroupsFromEnv(env: Env): Ec2TagsConfig['userGroups'] {
  const key = 'LKP_USER_GROUPS';
  if (!env[key]?.trim()) return {};
  const raw = jsonFromEnv(env, key, '{"alice":["dev"]}');
  const valid =
    typeof raw === 'object' &&
    raw !== null &&
    !Array.isArray(raw) &&
    Object.values(raw).every((groups) => Array.isArray(groups) && groups.every((g) => typeof g === 'string'));
  if (!valid)
    throw new ConfigError(`${key} must map user names to lists of group names, e.g. {"alice":["dev"]}`);
  return raw as Record<string, string[]>;
}

export const handler = fromEnv((env) =>
  ec2TagsPolicy({ userGroups: userGroupsFromEnv(env), lookup: ec2InstanceLookup() }),
);

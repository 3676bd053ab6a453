/**
 * Which unix accounts a host should have, pure: IAM group members + the configured groups → one
 * entry per POSIX account name (its IAM user, local groups, sudo). The CA computes this for an
 * Accounts request (src/accounts/accounts.ts); the host agent only applies it (host/lib/accounts.sh).
 */
import { posixName } from '../posix-name.js';

export interface AccountGroups {
  /** IAM groups whose members get an account; each also becomes a local group `<prefix><name>`. */
  iamGroups: readonly string[];
  /** IAM groups whose members get an account and sudo, without a local group. */
  sudoGroups: readonly string[];
  /** Prefix of the local groups made from IAM groups, e.g. `lkp_`. */
  groupPrefix: string;
}

export interface DesiredUser {
  iamUser: string;
  /** Local (prefixed) groups, sorted. */
  groups: string[];
  sudo: boolean;
}

export interface Desired {
  /** POSIX account name → what it is for. */
  users: Map<string, DesiredUser>;
  /** Every local group the configured IAM groups map to, sorted. */
  groups: string[];
  warnings: string[];
}

/** The local group an IAM group becomes. */
export const localGroupName = (iamGroup: string, prefix: string) => posixName(`${prefix}${iamGroup}`);

/** Members of the configured groups → the accounts and groups a host should have. */
export function desiredAccounts(
  members: ReadonlyMap<string, readonly string[]>,
  settings: AccountGroups,
): Desired {
  const users = new Map<string, DesiredUser>();
  const warnings: string[] = [];
  const clashes = new Set<string>();
  const add = (iamUser: string, group: string | undefined, sudo: boolean) => {
    const name = posixName(iamUser);
    const user = users.get(name) ?? { iamUser, groups: [], sudo: false };
    // posixName is injective; two IAM users on one name means a hash collision: give it to neither.
    if (user.iamUser !== iamUser) clashes.add(name);
    if (group !== undefined && !user.groups.includes(group)) user.groups.push(group);
    user.sudo ||= sudo;
    users.set(name, user);
  };
  for (const g of settings.iamGroups)
    for (const u of members.get(g) ?? []) add(u, localGroupName(g, settings.groupPrefix), false);
  for (const g of settings.sudoGroups) for (const u of members.get(g) ?? []) add(u, undefined, true);
  for (const name of clashes) {
    users.delete(name);
    warnings.push(`two IAM users map to the account ${name}; neither gets it`);
  }
  for (const user of users.values()) user.groups.sort();
  const groups = [...new Set(settings.iamGroups.map((g) => localGroupName(g, settings.groupPrefix)))].sort();
  return { users, groups, warnings };
}

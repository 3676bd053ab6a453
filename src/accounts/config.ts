/**
 * The unix-accounts part of the CA configuration (README, `lkp-ca serve --help`): which IAM groups
 * become accounts on hosts, which get sudo, the local group prefix, and what hosts do with an
 * account whose owner left. Unset groups: the CA manages no accounts and refuses Accounts requests.
 */
import type { AccountGroups } from './desired.js';

export interface AccountsConfig extends AccountGroups {
  /** LKP_REMOVED_ACCOUNTS: `lock` (default) keeps a removed person's account locked; `delete` removes it. */
  removed: 'lock' | 'delete';
  /** LKP_ACCOUNT_GROUPS_MAX_AGE: seconds a group's members are kept by a CA process; 0 reads IAM every time. */
  membersMaxAgeSeconds: number;
}

const IAM_GROUP = /^[\w+=,.@-]{1,128}$/;
/** Short, so that `<prefix><group>` keeps its meaning within the 32-character POSIX limit. */
const GROUP_PREFIX = /^[a-z_][a-z0-9_-]{0,15}$/;

/** Reads LKP_ACCOUNT_GROUPS, LKP_SUDO_GROUPS, LKP_ACCOUNT_GROUP_PREFIX, LKP_REMOVED_ACCOUNTS, LKP_ACCOUNT_GROUPS_MAX_AGE. */
export function parseAccountsConfig(
  get: (name: string) => string | undefined,
  problems: string[],
): AccountsConfig | undefined {
  const list = (name: string) => {
    const raw = get(name);
    const groups = raw === undefined ? [] : [...new Set(raw.split(',').map((g) => g.trim()))];
    const bad = groups.filter((g) => !IAM_GROUP.test(g));
    if (bad.length > 0)
      problems.push(
        `${name} has values that are not IAM group names: ${bad.map((g) => `"${g}"`).join(', ')}`,
      );
    return groups;
  };
  const iamGroups = list('LKP_ACCOUNT_GROUPS');
  const sudoGroups = list('LKP_SUDO_GROUPS');
  const groupPrefix = get('LKP_ACCOUNT_GROUP_PREFIX') ?? 'lkp_';
  if (!GROUP_PREFIX.test(groupPrefix))
    problems.push(
      `LKP_ACCOUNT_GROUP_PREFIX must be a short lower-case name like lkp_ (got "${groupPrefix}")`,
    );
  const removed = get('LKP_REMOVED_ACCOUNTS') ?? 'lock';
  if (removed !== 'lock' && removed !== 'delete')
    problems.push(`LKP_REMOVED_ACCOUNTS must be "lock" or "delete" (got "${removed}")`);
  const maxAge = get('LKP_ACCOUNT_GROUPS_MAX_AGE') ?? '60';
  if (!/^\d{1,3}$/.test(maxAge) || Number(maxAge) > 600)
    problems.push(
      `LKP_ACCOUNT_GROUPS_MAX_AGE must be a whole number of seconds from 0 to 600 (got "${maxAge}")`,
    );
  // The prefix and removal settings alone mean nothing (serverless.yml always sets them).
  if (iamGroups.length + sudoGroups.length === 0) return undefined;
  return Object.freeze({
    iamGroups: Object.freeze(iamGroups),
    sudoGroups: Object.freeze(sudoGroups),
    groupPrefix,
    removed: removed === 'delete' ? 'delete' : 'lock',
    membersMaxAgeSeconds: /^\d{1,3}$/.test(maxAge) ? Math.min(Number(maxAge), 600) : 60,
  });
}

/**
 * Sync planning, pure: IAM group membership (desired) + the host's accounts (current) + what lkp
 * created earlier (owned) → the actions that make the host match. lkp never touches a user or group
 * it did not create: a name taken by someone else is reported, not changed.
 */
import type { AccountGroups, Desired } from '../../../../src/accounts/desired.js';

export interface SyncSettings extends AccountGroups {
  /** Delete users who left every group instead of locking them. */
  deleteRemoved: boolean;
}

export interface LocalUser {
  uid: number;
  /** Password locked (`!…`) or account expired: cannot log in. */
  locked: boolean;
}

export interface LocalAccounts {
  users: ReadonlyMap<string, LocalUser>;
  /** Group name → member user names (supplementary membership, as in /etc/group). */
  groups: ReadonlyMap<string, readonly string[]>;
}

/** What lkp created (the ownership record, /var/lib/lkp/users.json). */
export interface Owned {
  /** POSIX user name → the IAM user it was created for. */
  users: Record<string, { iamUser: string }>;
  groups: string[];
}

export type Action =
  | { kind: 'createGroup'; group: string }
  | { kind: 'createUser'; user: string; iamUser: string }
  | { kind: 'unlockUser'; user: string }
  | { kind: 'setGroups'; user: string; groups: string[] }
  | { kind: 'lockUser'; user: string }
  | { kind: 'deleteUser'; user: string }
  | { kind: 'deleteGroup'; group: string };

export interface Plan {
  actions: Action[];
  /** The ownership record without entries whose user or group no longer exists (apply adds to it). */
  owned: Owned;
  warnings: string[];
}

export function planSync(
  desired: Desired,
  current: LocalAccounts,
  owned: Owned,
  settings: SyncSettings,
): Plan {
  const warnings = [...desired.warnings];
  // Entries of the record whose account someone removed are forgotten: the name is free again.
  const ownedUsers = Object.fromEntries(Object.entries(owned.users).filter(([u]) => current.users.has(u)));
  const ownedGroups = owned.groups.filter((g) => current.groups.has(g));
  const isOwnedUser = (u: string) => Object.hasOwn(ownedUsers, u);

  const createGroups = desired.groups.filter((g) => !current.groups.has(g));
  for (const g of desired.groups)
    if (current.groups.has(g) && !ownedGroups.includes(g))
      warnings.push(`group ${g} exists but was not created by lkp; leaving it and its members alone`);
  /** Groups whose membership lkp manages after this run. */
  const managed = new Set([...ownedGroups, ...createGroups]);
  const groupsOf = (u: string) => [...current.groups].filter(([, m]) => m.includes(u)).map(([g]) => g);
  const withManaged = (u: string, wanted: readonly string[]) =>
    [...groupsOf(u).filter((g) => !managed.has(g)), ...wanted.filter((g) => managed.has(g))].sort();

  const actions: Action[] = [];
  // Removals first: access goes away before anything new is granted.
  for (const user of Object.keys(ownedUsers).sort()) {
    if (desired.users.has(user)) continue;
    if (settings.deleteRemoved) {
      actions.push({ kind: 'deleteUser', user });
      continue;
    }
    if (!current.users.get(user)?.locked) actions.push({ kind: 'lockUser', user });
    pushSetGroups(actions, user, groupsOf(user), withManaged(user, []));
  }
  actions.push(...createGroups.map((group): Action => ({ kind: 'createGroup', group })));
  for (const [user, want] of [...desired.users].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const existing = current.users.get(user);
    if (existing !== undefined && !isOwnedUser(user)) {
      warnings.push(
        `user ${user} (IAM user ${want.iamUser}) exists but was not created by lkp; leaving it alone`,
      );
      continue;
    }
    if (existing === undefined) actions.push({ kind: 'createUser', user, iamUser: want.iamUser });
    else if (existing.locked) actions.push({ kind: 'unlockUser', user });
    pushSetGroups(
      actions,
      user,
      existing === undefined ? [] : groupsOf(user),
      withManaged(user, want.groups),
    );
  }
  for (const group of ownedGroups)
    if (!desired.groups.includes(group)) actions.push({ kind: 'deleteGroup', group });

  return { actions, owned: { users: ownedUsers, groups: ownedGroups }, warnings };
}

function pushSetGroups(actions: Action[], user: string, now: readonly string[], next: string[]): void {
  if ([...now].sort().join(',') !== next.join(',')) actions.push({ kind: 'setGroups', user, groups: next });
}

export interface SudoUser {
  user: string;
  uid: number;
  iamUser: string;
}

/** The users who get sudo: wanted by a sudo group, created by lkp, present and not locked. */
export function sudoUsers(desired: Desired, current: LocalAccounts, owned: Owned): SudoUser[] {
  return [...desired.users]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .flatMap(([user, want]) => {
      const local = current.users.get(user);
      return want.sudo && Object.hasOwn(owned.users, user) && local?.locked === false
        ? [{ user, uid: local.uid, iamUser: want.iamUser }]
        : [];
    });
}

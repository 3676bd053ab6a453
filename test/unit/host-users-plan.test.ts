import { describe, expect, it } from 'vitest';
import { desiredAccounts } from '../../src/accounts/desired.js';
import {
  planSync,
  sudoUsers,
  type LocalAccounts,
  type Owned,
  type SyncSettings,
} from '../../client/lib/host/users/plan.js';
import { renderSudoers } from '../../client/lib/host/users/sudoers.js';

const settings: SyncSettings = {
  iamGroups: ['developers'],
  sudoGroups: ['admins'],
  groupPrefix: 'lkp_',
  deleteRemoved: false,
};
const JANE = 'jane.doe.at.example.com';

const members = (m: Record<string, string[]>) => new Map(Object.entries(m));
function local(
  users: Record<string, { uid?: number; locked?: boolean }>,
  groups: Record<string, string[]> = {},
): LocalAccounts {
  return {
    users: new Map(
      Object.entries(users).map(([u, s]) => [u, { uid: s.uid ?? 2000, locked: s.locked ?? false }]),
    ),
    groups: new Map(Object.entries({ root: [], ...groups })),
  };
}
const nothingOwned: Owned = { users: {}, groups: [] };
const plan = (
  m: Record<string, string[]>,
  current: LocalAccounts,
  owned: Owned = nothingOwned,
  s = settings,
) => planSync(desiredAccounts(members(m), s), current, owned, s);

describe('desiredAccounts', () => {
  it('maps IAM users to accounts, IAM groups to prefixed local groups, sudo groups to a flag', () => {
    const d = desiredAccounts(
      members({ developers: ['jane.doe@example.com', 'bob'], admins: ['bob'] }),
      settings,
    );
    expect(Object.fromEntries(d.users)).toEqual({
      [JANE]: { iamUser: 'jane.doe@example.com', groups: ['lkp_developers'], sudo: false },
      bob: { iamUser: 'bob', groups: ['lkp_developers'], sudo: true },
    });
    expect(d.groups).toEqual(['lkp_developers']);
  });
});

describe('planSync', () => {
  it('creates the missing groups and users, then sets their groups', () => {
    const p = plan({ developers: ['jane.doe@example.com'], admins: [] }, local({ root: {} }));
    expect(p.actions).toEqual([
      { kind: 'createGroup', group: 'lkp_developers' },
      { kind: 'createUser', user: JANE, iamUser: 'jane.doe@example.com' },
      { kind: 'setGroups', user: JANE, groups: ['lkp_developers'] },
    ]);
  });

  it('does nothing when the host already matches (idempotent)', () => {
    const p = plan(
      { developers: ['jane.doe@example.com'], admins: [] },
      local({ root: {}, [JANE]: {} }, { lkp_developers: [JANE] }),
      { users: { [JANE]: { iamUser: 'jane.doe@example.com' } }, groups: ['lkp_developers'] },
    );
    expect(p.actions).toEqual([]);
    expect(p.warnings).toEqual([]);
  });

  it('locks (not deletes) a user who left, and takes them out of lkp groups only', () => {
    const p = plan(
      { developers: [], admins: [] },
      local({ [JANE]: {} }, { lkp_developers: [JANE], docker: [JANE] }),
      { users: { [JANE]: { iamUser: 'jane.doe@example.com' } }, groups: ['lkp_developers'] },
    );
    expect(p.actions).toEqual([
      { kind: 'lockUser', user: JANE },
      { kind: 'setGroups', user: JANE, groups: ['docker'] },
    ]);
  });

  it('deletes a user who left with --delete-removed', () => {
    const p = plan(
      { developers: [], admins: [] },
      local({ [JANE]: {} }, { lkp_developers: [JANE] }),
      { users: { [JANE]: { iamUser: 'jane.doe@example.com' } }, groups: ['lkp_developers'] },
      { ...settings, deleteRemoved: true },
    );
    expect(p.actions).toEqual([{ kind: 'deleteUser', user: JANE }]);
  });

  it('unlocks a returning user', () => {
    const p = plan(
      { developers: ['jane.doe@example.com'], admins: [] },
      local({ [JANE]: { locked: true } }, { lkp_developers: [] }),
      { users: { [JANE]: { iamUser: 'jane.doe@example.com' } }, groups: ['lkp_developers'] },
    );
    expect(p.actions).toEqual([
      { kind: 'unlockUser', user: JANE },
      { kind: 'setGroups', user: JANE, groups: ['lkp_developers'] },
    ]);
  });

  it('never touches a user or group it did not create', () => {
    const p = plan(
      { developers: ['ec2-user'], admins: [] },
      local({ 'ec2-user': { locked: true } }, { lkp_developers: ['ec2-user'] }),
    );
    expect(p.actions).toEqual([]);
    expect(p.warnings).toEqual([
      'group lkp_developers exists but was not created by lkp; leaving it and its members alone',
      'user ec2-user (IAM user ec2-user) exists but was not created by lkp; leaving it alone',
    ]);
  });

  it('never locks a user it did not create, even one that is in no IAM group', () => {
    expect(plan({ developers: [], admins: [] }, local({ 'ec2-user': {} })).actions).not.toContainEqual(
      expect.objectContaining({ kind: 'lockUser' }),
    );
  });

  it('forgets owned accounts someone removed, and re-creates them when wanted', () => {
    const p = plan({ developers: ['jane.doe@example.com'], admins: [] }, local({}, { lkp_developers: [] }), {
      users: { [JANE]: { iamUser: 'jane.doe@example.com' }, gone: { iamUser: 'gone' } },
      groups: ['lkp_developers', 'lkp_old'],
    });
    expect(p.owned).toEqual({ users: {}, groups: ['lkp_developers'] });
    expect(p.actions[0]).toEqual({ kind: 'createUser', user: JANE, iamUser: 'jane.doe@example.com' });
  });

  it('deletes an owned group no IAM group maps to any more, after taking its members out', () => {
    const p = plan(
      { developers: ['bob'], admins: [] },
      local({ bob: {} }, { lkp_developers: ['bob'], lkp_old: ['bob'] }),
      { users: { bob: { iamUser: 'bob' } }, groups: ['lkp_developers', 'lkp_old'] },
    );
    expect(p.actions).toEqual([
      { kind: 'setGroups', user: 'bob', groups: ['lkp_developers'] },
      { kind: 'deleteGroup', group: 'lkp_old' },
    ]);
  });
});

describe('sudoUsers and renderSudoers', () => {
  it('grant sudo by uid to owned, unlocked members of sudo groups only', () => {
    const desired = desiredAccounts(
      members({ developers: ['carol'], admins: ['bob', 'ALL', 'dave'] }),
      settings,
    );
    const current = local({
      bob: { uid: 2001 },
      ALL: { uid: 2002 },
      carol: { uid: 2003 },
      dave: { uid: 2004, locked: true },
    });
    const owned: Owned = {
      users: {
        bob: { iamUser: 'bob' },
        ALL: { iamUser: 'ALL' },
        carol: { iamUser: 'carol' },
        dave: { iamUser: 'dave' },
      },
      groups: [],
    };
    const users = sudoUsers(desired, current, owned);
    expect(users.map((u) => u.user)).toEqual(['ALL', 'bob']);
    expect(renderSudoers(users, ['admins'])).toBe(
      [
        '# Written by `lkp host sync-users`; changes are overwritten at the next sync.',
        '# Members of the IAM groups admins, by uid.',
        '# ALL (IAM user ALL)',
        '#2002 ALL=(ALL) NOPASSWD: ALL',
        '# bob (IAM user bob)',
        '#2001 ALL=(ALL) NOPASSWD: ALL',
        '',
      ].join('\n'),
    );
  });
});

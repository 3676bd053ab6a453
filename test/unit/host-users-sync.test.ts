/**
 * `lkp host sync-users` end to end on a temp root: the IAM stand-in on loopback, the real
 * useradd/usermod/groupadd (`--prefix`), visudo. Never the host's own /etc/passwd.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadOwnership, readLocalAccounts } from '../../client/lib/host/users/accounts.js';
import { iamClient } from '../../client/lib/host/users/iam.js';
import { checkSudoers, installSudoers, SUDOERS_PATH } from '../../client/lib/host/users/sudoers.js';
import { syncUsers, type SyncOptions } from '../../client/lib/host/users/sync.js';
import { startIamStandin, type IamStandin } from '../../src/local/iam-standin.js';
import { isRoot, makeAccountsRoot, readEtc } from '../helpers/accounts-root.js';

const JANE = 'jane.doe.at.example.com';
let iam: IamStandin;
let root: string;
const hostPasswd = readFileSync('/etc/passwd', 'utf8');

const sync = (extra: Partial<SyncOptions> = {}) =>
  syncUsers({
    iam: iamClient({ region: iam.region, endpoint: iam.url, credentials: iam.credentials, maxAttempts: 1 }),
    root,
    iamGroups: ['developers'],
    sudoGroups: ['admins'],
    groupPrefix: 'lkp_',
    deleteRemoved: false,
    ...extra,
  });
const line = (file: string, name: string) =>
  readEtc(root, file)
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));

beforeAll(async () => {
  iam = await startIamStandin({ account: '111122223333', groups: {} });
});
afterAll(async () => {
  await iam?.close();
});
beforeEach(() => {
  root = makeAccountsRoot();
  iam.setGroups({ developers: ['jane.doe@example.com', 'bob'], admins: ['bob'] });
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  expect(readFileSync('/etc/passwd', 'utf8')).toBe(hostPasswd);
});

describe.skipIf(!isRoot)('syncUsers on a temp root (needs root for useradd --prefix and visudo)', () => {
  it('creates the accounts, their lkp group and the sudo rule, and records what it owns', async () => {
    const report = await sync();
    expect(report.failed).toBe(false);
    expect(line('passwd', JANE)).toMatch(new RegExp(`^${JANE}:x:\\d+:\\d+:lkp:/home/${JANE}:/bin/bash$`));
    expect(line('shadow', JANE)?.split(':')[1]).toBe('*'); // no password, not locked
    expect(existsSync(join(root, 'home', JANE))).toBe(true);
    expect(line('group', 'lkp_developers')?.split(':')[3]?.split(',').sort()).toEqual(['bob', JANE]);
    expect(loadOwnership(root)).toEqual({
      users: { bob: { iamUser: 'bob' }, [JANE]: { iamUser: 'jane.doe@example.com' } },
      groups: ['lkp_developers'],
    });
    const sudoers = readFileSync(join(root, SUDOERS_PATH), 'utf8');
    const bobUid = readLocalAccounts(root).users.get('bob')?.uid;
    expect(sudoers).toContain(`#${bobUid} ALL=(ALL) NOPASSWD: ALL`);
    expect(sudoers).not.toContain(JANE);
    await expect(checkSudoers(join(root, SUDOERS_PATH))).resolves.toBeUndefined();
    expect(report.sudoers).toBe('written');
  });

  it('changes nothing on a second run (idempotent)', async () => {
    await sync();
    const files = ['passwd', 'group', 'shadow', 'gshadow'].map((f) => readEtc(root, f));
    const again = await sync();
    expect(again.results).toEqual([]);
    expect(again.sudoers).toBe('unchanged');
    expect(['passwd', 'group', 'shadow', 'gshadow'].map((f) => readEtc(root, f))).toEqual(files);
  });

  it('locks a user who left the group, takes away their groups and sudo, and unlocks them on return', async () => {
    await sync();
    iam.setGroups({ developers: ['jane.doe@example.com'], admins: [] });
    const report = await sync();
    expect(report.results.map((r) => r.action)).toContainEqual({ kind: 'lockUser', user: 'bob' });
    const shadow = line('shadow', 'bob')?.split(':') ?? [];
    expect(shadow[1]).toBe('!*'); // password locked
    expect(shadow[7]).toBe('1'); // account expired since 1970-01-02
    expect(readLocalAccounts(root).users.get('bob')?.locked).toBe(true);
    expect(line('group', 'lkp_developers')?.split(':')[3]).toBe(JANE);
    expect(readFileSync(join(root, SUDOERS_PATH), 'utf8')).not.toMatch(/^#\d+ ALL/m);
    expect(line('passwd', 'bob')).toBeDefined(); // locked, not deleted

    iam.setGroups({ developers: ['jane.doe@example.com', 'bob'], admins: ['bob'] });
    await sync();
    expect(line('shadow', 'bob')?.split(':').slice(1, 2)).toEqual(['*']);
    expect(readLocalAccounts(root).users.get('bob')?.locked).toBe(false);
  });

  it('deletes a user who left with deleteRemoved, keeping the home folder', async () => {
    await sync();
    iam.setGroups({ developers: ['bob'], admins: [] });
    await sync({ deleteRemoved: true });
    expect(line('passwd', JANE)).toBeUndefined();
    expect(line('group', JANE)).toBeUndefined();
    expect(existsSync(join(root, 'home', JANE))).toBe(true);
    expect(Object.keys(loadOwnership(root).users)).toEqual(['bob']);
  });

  it('leaves a user it did not create alone, even when an IAM user maps to it', async () => {
    iam.setGroups({ developers: ['ec2-user'], admins: ['ec2-user'] });
    const before = ['passwd', 'group', 'shadow'].map((f) => readEtc(root, f));
    const report = await sync({ iamGroups: ['developers'], groupPrefix: 'lkp_' });
    expect(report.warnings).toContain(
      'user ec2-user (IAM user ec2-user) exists but was not created by lkp; leaving it alone',
    );
    expect(line('passwd', 'ec2-user')).toBe(before[0]?.split('\n')[1]);
    expect(line('group', 'wheel')).toBe('wheel:x:10:ec2-user');
    expect(readFileSync(join(root, SUDOERS_PATH), 'utf8')).not.toMatch(/^#\d+ ALL/m);
  });

  it('changes nothing when IAM cannot be read', async () => {
    await sync();
    const files = ['passwd', 'group', 'shadow'].map((f) => readEtc(root, f));
    await expect(sync({ iamGroups: ['developers', 'no-such-group'] })).rejects.toMatchObject({
      name: 'NoSuchEntityException',
    });
    expect(['passwd', 'group', 'shadow'].map((f) => readEtc(root, f))).toEqual(files);
  });

  it('only reports the plan in a dry run', async () => {
    const report = await sync({ dryRun: true });
    expect(report.planned).toContainEqual({
      kind: 'createUser',
      user: JANE,
      iamUser: 'jane.doe@example.com',
    });
    expect(line('passwd', JANE)).toBeUndefined();
    expect(existsSync(join(root, SUDOERS_PATH))).toBe(false);
  });

  it('keeps the old sudoers file when visudo rejects the new one', async () => {
    await sync();
    const good = readFileSync(join(root, SUDOERS_PATH), 'utf8');
    await expect(installSudoers(root, 'bob ALL=(ALL) NOPASS: ALL\n')).rejects.toThrow(/visudo rejected/);
    expect(readFileSync(join(root, SUDOERS_PATH), 'utf8')).toBe(good);
    expect(existsSync(join(root, `${SUDOERS_PATH}.tmp`))).toBe(false);
  });

  it('removes its sudoers file when no sudo group is configured any more', async () => {
    await sync();
    const report = await sync({ sudoGroups: [] });
    expect(report.sudoers).toBe('removed');
    expect(existsSync(join(root, SUDOERS_PATH))).toBe(false);
  });

  it('refuses an ownership record it cannot read, before changing anything', async () => {
    mkdirSync(join(root, 'var/lib/lkp'), { recursive: true });
    writeFileSync(join(root, 'var/lib/lkp/users.json'), '{"users": "everyone"}');
    await expect(sync()).rejects.toThrow(/not an lkp ownership record/);
    expect(line('passwd', JANE)).toBeUndefined();
  });
});

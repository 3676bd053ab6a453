/**
 * The host agent's unix accounts part (`lkp-host-agent accounts apply`) on a temporary root with the real useradd/usermod/userdel/groupadd
 * (`--prefix`) and visudo: the answers come from the CA's own code (src/accounts/answer.ts), so the
 * agent parses exactly what the CA sends. Never the machine's own /etc/passwd. Issue 15 items 2
 * and 3: removal cannot be dodged with a live process, and no uid is handed out twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { accountsResponse } from '../../src/accounts/answer.js';
import { desiredAccounts } from '../../src/accounts/desired.js';
import { isRoot, makeAccountsRoot, readEtc } from '../../test/helpers/accounts-root.js';
import { runProgram } from '../../test/helpers/run-node.js';
import { AGENT } from './agent.js';

// Every run forks shadow-utils a few times: slow on a busy machine.
vi.setConfig({ testTimeout: 90_000 });

const JANE = 'jane.doe.at.example.com';
const hostPasswd = readFileSync('/etc/passwd', 'utf8');
let root: string;
let children: ChildProcess[] = [];

/** The CA's answer for these IAM groups (all offered accounts kept, as the built-in policy does). */
function answer(
  members: Record<string, string[]>,
  removed: 'lock' | 'delete' = 'lock',
  settings = { iamGroups: ['developers'], sudoGroups: ['admins'], groupPrefix: 'lkp_' },
): string {
  const desired = desiredAccounts(new Map(Object.entries(members)), settings);
  const users = [...desired.users.keys()].sort();
  const sudo = users.filter((u) => desired.users.get(u)?.sudo);
  return JSON.stringify(accountsResponse(desired, { users, sudo }, { removed }));
}

async function apply(json: string) {
  const file = join(root, 'answer.json');
  writeFileSync(file, json);
  return runProgram('/bin/bash', [AGENT, 'accounts', 'apply', file], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LKP_HOST_ROOT: root },
    timeout: 60_000,
  });
}

const line = (file: string, name: string) =>
  readEtc(root, file)
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
const uidOf = (name: string) => Number(line('passwd', name)?.split(':')[2]);
const gidOf = (name: string) => Number(line('group', name)?.split(':')[2]);
const membersOf = (group: string) => line('group', group)?.split(':')[3]?.split(',').filter(Boolean).sort();
const shadowOf = (name: string) => line('shadow', name)?.split(':') ?? [];
const sudoers = () => readFileSync(join(root, 'etc/sudoers.d/lkp-users'), 'utf8');
const state = () => readFileSync(join(root, 'var/lib/lkp/accounts.state'), 'utf8');

/** A process running as `uid`, as a removed person's tmux or nohup job would be. */
function processAs(uid: number): ChildProcess {
  const child = spawn('sleep', ['600'], { uid, gid: uid, stdio: 'ignore' });
  children.push(child);
  return child;
}

beforeEach(() => {
  root = makeAccountsRoot();
});
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children = [];
  rmSync(root, { recursive: true, force: true });
  expect(readFileSync('/etc/passwd', 'utf8')).toBe(hostPasswd);
});

describe.skipIf(!isRoot)('lkp-host-agent accounts apply (needs root for useradd --prefix and visudo)', () => {
  it('creates accounts, lkp groups and a visudo-checked sudo rule by uid, with ids from its counter', async () => {
    const run = await apply(answer({ developers: ['jane.doe@example.com', 'bob'], admins: ['bob'] }));
    expect(run.stderr).toContain(`created user ${JANE} (uid 1003)`);
    expect(run.code).toBe(0);
    expect(line('passwd', JANE)).toMatch(new RegExp(`^${JANE}:x:\\d+:\\d+:lkp:/home/${JANE}:/bin/bash$`));
    expect(shadowOf(JANE)[1]).toBe('*'); // no password, not locked
    expect(statSync(join(root, 'home', JANE)).uid).toBe(uidOf(JANE));
    expect(membersOf('lkp_developers')).toEqual(['bob', JANE]);
    // One counter for every id: group first, then the users, each user's own group on its uid.
    expect([gidOf('lkp_developers'), uidOf('bob'), uidOf(JANE)]).toEqual([1001, 1002, 1003]);
    expect(gidOf('bob')).toBe(uidOf('bob'));
    expect(sudoers()).toContain(`#${uidOf('bob')} ALL=(ALL) NOPASSWD: ALL`);
    expect(sudoers()).not.toContain(`#${uidOf(JANE)} `);
    const check = await runProgram('visudo', ['-cf', join(root, 'etc/sudoers.d/lkp-users')], {
      timeout: 10_000,
    });
    expect(check.code).toBe(0);
    expect(state()).toContain('next-id 1004\n');
    expect(state()).toContain(`user bob ${uidOf('bob')}\n`);
  });

  it('changes nothing on a second run', async () => {
    const json = answer({ developers: ['jane.doe@example.com', 'bob'], admins: ['bob'] });
    await apply(json);
    const files = ['passwd', 'group', 'shadow', 'gshadow'].map((f) => readEtc(root, f));
    const run = await apply(json);
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(['passwd', 'group', 'shadow', 'gshadow'].map((f) => readEtc(root, f))).toEqual(files);
  });

  it('locks a person who left, takes their lkp groups and sudo, and unlocks them on return', async () => {
    await apply(answer({ developers: ['jane.doe@example.com', 'bob'], admins: ['bob'] }));
    const run = await apply(answer({ developers: ['jane.doe@example.com'], admins: [] }));
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('locked user bob (left the IAM groups)');
    expect(shadowOf('bob')[1]).toBe('!*'); // password locked
    expect(shadowOf('bob')[7]).toBe('1'); // account expired since 1970-01-02
    expect(membersOf('lkp_developers')).toEqual([JANE]);
    expect(existsSync(join(root, 'etc/sudoers.d/lkp-users'))).toBe(false);
    expect(line('passwd', 'bob')).toBeDefined();

    await apply(answer({ developers: ['jane.doe@example.com', 'bob'], admins: ['bob'] }));
    expect(shadowOf('bob').slice(1, 2)).toEqual(['*']);
    expect(shadowOf('bob')[7]).toBe('');
    expect(sudoers()).toContain(`#${uidOf('bob')} ALL=(ALL) NOPASSWD: ALL`);
  });

  it('cannot be dodged by a live process: locked, groups and sudo gone, "delete pending", deleted once it ends', async () => {
    await apply(answer({ developers: ['bob', 'carol'], admins: ['bob'] }));
    const bobUid = uidOf('bob');
    const session = processAs(bobUid);
    await new Promise((ok) => session.once('spawn', ok));

    const pending = await apply(answer({ developers: ['carol'], admins: [] }, 'delete'));
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain('locked user bob (left the IAM groups)');
    expect(pending.stderr).toContain(
      'locked, delete pending: bob still has processes; retried on the next run',
    );
    expect(shadowOf('bob')[1]).toBe('!*');
    expect(shadowOf('bob')[7]).toBe('1');
    expect(membersOf('lkp_developers')).toEqual(['carol']);
    expect(existsSync(join(root, 'etc/sudoers.d/lkp-users'))).toBe(false);
    expect(state()).toContain(`user bob ${bobUid}\n`); // still lkp's, so the next run retries

    const again = await apply(answer({ developers: ['carol'], admins: [] }, 'delete'));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('locked, delete pending: bob');

    session.kill('SIGKILL');
    await new Promise((ok) => session.once('exit', ok));
    const done = await apply(answer({ developers: ['carol'], admins: [] }, 'delete'));
    expect(done.code).toBe(0);
    expect(done.stderr).toContain('deleted user bob (left the IAM groups)');
    expect(line('passwd', 'bob')).toBeUndefined();
    expect(state()).not.toContain('user bob ');
  });

  it('never hands out a uid twice, and gives a deleted account’s files to root, out of the way', async () => {
    await apply(answer({ developers: ['bob', 'carol'], admins: [] }));
    const bobUid = uidOf('bob');
    writeFileSync(join(root, 'home/bob/.bash_history'), 'aws sts get-session-token\n');
    await apply(answer({ developers: ['carol'], admins: [] }, 'delete'));
    expect(line('passwd', 'bob')).toBeUndefined();
    expect(existsSync(join(root, 'home/bob'))).toBe(false);
    const kept = join(root, `home/.lkp-removed/bob.${bobUid}`);
    expect(statSync(kept)).toMatchObject({ uid: 0, gid: 0 });
    expect(statSync(kept).mode & 0o777).toBe(0o700);
    expect(statSync(join(kept, '.bash_history')).uid).toBe(0);
    expect(statSync(join(root, 'home/.lkp-removed')).mode & 0o777).toBe(0o700);

    // bob's uid (and his group's gid) is free again in passwd, but lkp never reuses it.
    await apply(answer({ developers: ['carol', 'dave'], admins: [] }));
    expect(uidOf('dave')).toBeGreaterThan(bobUid);
    expect(gidOf('dave')).toBeGreaterThan(bobUid);
    // Nor after bob comes back: a new account, a new uid; the old files stay root's.
    await apply(answer({ developers: ['carol', 'dave', 'bob'], admins: [] }));
    expect(uidOf('bob')).toBeGreaterThan(uidOf('dave'));
    expect(statSync(join(root, 'home/bob')).uid).toBe(uidOf('bob'));
    expect(statSync(kept).uid).toBe(0);
  });

  it('leaves accounts and groups it did not create alone, even when a name matches', async () => {
    const before = ['passwd', 'group', 'shadow'].map((f) => readEtc(root, f));
    const run = await apply(
      answer({ developers: ['ec2-user'], admins: ['ec2-user'] }, 'delete', {
        iamGroups: ['developers'],
        sudoGroups: ['admins'],
        groupPrefix: 'lkp_',
      }),
    );
    expect(run.stderr).toContain(
      'warning: user ec2-user exists but was not created by lkp; leaving it alone',
    );
    expect(line('passwd', 'ec2-user')).toBe(before[0]?.split('\n')[1]);
    expect(line('group', 'wheel')).toBe('wheel:x:10:ec2-user');
    expect(sudoers()).not.toMatch(/^#\d+ ALL/m);
    // And an empty answer never touches them either.
    await apply(answer({ developers: [], admins: [] }, 'delete'));
    expect(line('passwd', 'ec2-user')).toBe(before[0]?.split('\n')[1]);
  });

  it.each([
    ['an extra key', (j: string) => j.replace('"Removed"', '"Shell":"/bin/sh","Removed"')],
    ['whitespace', (j: string) => j.replace('"Users":', '"Users": ')],
    ['an escaped name', (j: string) => j.replace('"bob"', '"b\\u006fb"')],
    ['a name that is an option', (j: string) => j.replaceAll('bob', '-bob')],
    ['a name with a colon', (j: string) => j.replace('"Users":["bob"', '"Users":["bob:x"')],
    ['sudo for someone not in Users', (j: string) => j.replace('"Sudo":[]', '"Sudo":["root"]')],
    ['a member of a group not in Groups', (j: string) => j.replace('lkp_developers:bob', 'wheel:bob')],
    ['an unknown removal', (j: string) => j.replace('"lock"', '"keep"')],
    ['a trailing comma', (j: string) => j.replace('"Users":["bob"]', '"Users":["bob",]')],
    ['an error answer', () => '{"Error":{"Code":"Forbidden","Message":"no"}}'],
  ])('refuses an answer with %s and changes nothing', async (_, mangle) => {
    const json = answer({ developers: ['bob'], admins: [] });
    const before = ['passwd', 'group', 'shadow'].map((f) => readEtc(root, f));
    const run = await apply(mangle(json));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /unix accounts: .* is not an Accounts answer of the CA \(nothing was changed\)/,
    );
    expect(['passwd', 'group', 'shadow'].map((f) => readEtc(root, f))).toEqual(before);
  });

  it('takes over the accounts `lkp host sync-users` created, and counts above their ids', async () => {
    await apply(answer({ developers: ['bob'], admins: [] }));
    const bobUid = uidOf('bob');
    // As if sync-users had made bob: its record instead of ours.
    rmSync(join(root, 'var/lib/lkp/accounts.state'));
    writeFileSync(
      join(root, 'var/lib/lkp/users.json'),
      `${JSON.stringify({ version: 1, users: { bob: { iamUser: 'bob' } }, groups: ['lkp_developers'] }, null, 2)}\n`,
    );
    const run = await apply(answer({ developers: [], admins: [] }));
    expect(run.stderr).toContain('took over 1 accounts and 1 groups');
    expect(run.stderr).toContain('locked user bob (left the IAM groups)');
    expect(state()).toContain(`next-id ${bobUid + 1}\n`);
  });
});

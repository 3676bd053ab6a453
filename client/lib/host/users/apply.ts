/**
 * Carries out a plan with shadow-utils (useradd, usermod, userdel, groupadd, groupdel). For any root
 * but `/` they get `--prefix <root>`, so tests work on a temp passwd/group/shadow and never on the
 * host's. The ownership record is saved after every change, so a failure half-way loses nothing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { saveOwnership } from './accounts.js';
import type { Action, Owned } from './plan.js';

export type RunCommand = (command: string, args: readonly string[]) => Promise<void>;

export interface ApplyOptions {
  root: string;
  /** Login shell of new users; default /bin/bash. */
  shell?: string;
  /** Runs one command; default execFile. Tests inject a recorder. */
  run?: RunCommand;
}

export interface ActionResult {
  action: Action;
  /** Undefined when it succeeded. */
  error?: string;
}

const execFileAsync = promisify(execFile);
const runCommand: RunCommand = async (command, args) => {
  try {
    await execFileAsync(command, [...args]);
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr || String(e)}`, { cause: e });
  }
};

/** Runs every action in order; one that fails is reported and the rest still run. */
export async function applyPlan(
  actions: readonly Action[],
  owned: Owned,
  opts: ApplyOptions,
): Promise<ActionResult[]> {
  const record: Owned = { users: { ...owned.users }, groups: [...owned.groups] };
  const run = opts.run ?? runCommand;
  const prefix = opts.root === '/' ? [] : ['--prefix', opts.root];
  const failedUsers = new Set<string>();
  const results: ActionResult[] = [];
  for (const action of actions) {
    if ('user' in action && failedUsers.has(action.user)) continue; // nothing more for a user we could not create
    try {
      await carryOut(action, prefix, opts.shell ?? '/bin/bash', run);
      remember(record, action);
      saveOwnership(opts.root, record);
      results.push({ action });
    } catch (e) {
      if (action.kind === 'createUser') failedUsers.add(action.user);
      results.push({ action, error: e instanceof Error ? e.message : String(e) });
    }
  }
  saveOwnership(opts.root, record);
  return results;
}

async function carryOut(action: Action, prefix: string[], shell: string, run: RunCommand): Promise<void> {
  switch (action.kind) {
    case 'createGroup':
      return run('groupadd', [...prefix, action.group]);
    case 'deleteGroup':
      return run('groupdel', [...prefix, action.group]);
    case 'createUser':
      // Password `*`: no password login, yet not "locked" (`!`), which sshd without PAM would refuse.
      return run('useradd', [
        ...prefix,
        '--create-home',
        '--user-group',
        '--shell',
        shell,
        '--comment',
        'lkp',
        '--password',
        '*',
        action.user,
      ]);
    case 'setGroups':
      return run('usermod', [...prefix, '--groups', action.groups.join(','), action.user]);
    case 'lockUser':
      // Locked password and an expired account: sshd refuses it with and without PAM.
      return run('usermod', [...prefix, '--lock', '--expiredate', '1', action.user]);
    case 'unlockUser':
      return run('usermod', [...prefix, '--unlock', '--expiredate', '', action.user]);
    case 'deleteUser':
      // The home folder stays: its files are the record of who did what.
      return run('userdel', [...prefix, action.user]);
  }
}

function remember(record: Owned, action: Action): void {
  if (action.kind === 'createUser') record.users[action.user] = { iamUser: action.iamUser };
  if (action.kind === 'deleteUser') delete record.users[action.user];
  if (action.kind === 'createGroup') record.groups.push(action.group);
  if (action.kind === 'deleteGroup') record.groups = record.groups.filter((g) => g !== action.group);
}

/** One line per action for the operator's log. */
export function describeAction(action: Action): string {
  switch (action.kind) {
    case 'createGroup':
      return `created group ${action.group}`;
    case 'deleteGroup':
      return `deleted group ${action.group}`;
    case 'createUser':
      return `created user ${action.user} for IAM user ${action.iamUser}`;
    case 'setGroups':
      return `set groups of ${action.user} to ${action.groups.join(',') || '(none)'}`;
    case 'lockUser':
      return `locked user ${action.user} (left the IAM groups)`;
    case 'unlockUser':
      return `unlocked user ${action.user}`;
    case 'deleteUser':
      return `deleted user ${action.user} (left the IAM groups)`;
  }
}

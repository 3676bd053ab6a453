/**
 * The sudoers.d drop-in for members of the `--sudo-group` IAM groups. Rules name users by uid
 * (`#1001`): a user name such as ALL or ADMINS would otherwise read as a keyword or an alias. Every
 * version is checked with `visudo -cf` before it replaces the old one, so a bad file never lands.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { SudoUser } from './plan.js';

/** Under the root. No dot in the name: sudo skips files in sudoers.d whose names contain one. */
export const SUDOERS_PATH = 'etc/sudoers.d/lkp-users';

export type SudoersOutcome = 'written' | 'unchanged' | 'removed' | 'absent';

export function renderSudoers(users: readonly SudoUser[], sudoGroups: readonly string[]): string {
  return [
    '# Written by `lkp host sync-users`; changes are overwritten at the next sync.',
    `# Members of the IAM groups ${sudoGroups.join(', ')}, by uid.`,
    ...users.flatMap((u) => [`# ${u.user} (IAM user ${u.iamUser})`, `#${u.uid} ALL=(ALL) NOPASSWD: ALL`]),
    '',
  ].join('\n');
}

/** Installs `content` (undefined: no sudo groups configured, so the file goes away). */
export async function installSudoers(root: string, content: string | undefined): Promise<SudoersOutcome> {
  const path = join(root, SUDOERS_PATH);
  if (content === undefined) {
    if (!existsSync(path)) return 'absent';
    rmSync(path);
    return 'removed';
  }
  if (existsSync(path) && readFileSync(path, 'utf8') === content) return 'unchanged';
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  const staged = `${path}.tmp`; // the dot keeps sudo from reading the staged file
  writeFileSync(staged, content, { mode: 0o440 });
  chmodSync(staged, 0o440);
  try {
    await checkSudoers(staged);
  } catch (e) {
    rmSync(staged, { force: true });
    throw e;
  }
  renameSync(staged, path);
  return 'written';
}

export async function checkSudoers(path: string): Promise<void> {
  try {
    await promisify(execFile)('visudo', ['-cf', path]);
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new Error(`visudo rejected the sudoers file ${path}: ${stderr || String(e)}`, { cause: e });
  }
}

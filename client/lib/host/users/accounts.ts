/**
 * The host's accounts as files under a root (`/` on an instance, a temp folder in tests): passwd,
 * group and shadow parsed into LocalAccounts, and the ownership record of what lkp created.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LocalAccounts, LocalUser, Owned } from './plan.js';

/** Where lkp records the users and groups it created, under the root. */
export const OWNERSHIP_PATH = 'var/lib/lkp/users.json';
const DAY_MS = 86_400_000;

export function readLocalAccounts(root: string, now: Date = new Date()): LocalAccounts {
  const rows = (file: string) =>
    readFileSync(join(root, 'etc', file), 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.split(':'));
  const today = Math.floor(now.getTime() / DAY_MS);
  const shadow = new Map(
    rows('shadow').map(([name, password, , , , , , expire]) => [name, { password, expire }]),
  );
  const users = new Map<string, LocalUser>();
  for (const [name, , uid] of rows('passwd')) {
    if (name === undefined) continue;
    const entry = shadow.get(name);
    const expired = entry?.expire !== undefined && entry.expire !== '' && Number(entry.expire) <= today;
    users.set(name, { uid: Number(uid), locked: (entry?.password ?? '').startsWith('!') || expired });
  }
  const groups = new Map<string, string[]>();
  for (const [name, , , members] of rows('group'))
    if (name !== undefined) groups.set(name, members ? members.split(',').filter((m) => m !== '') : []);
  return { users, groups };
}

export function loadOwnership(root: string): Owned {
  let raw: string;
  try {
    raw = readFileSync(join(root, OWNERSHIP_PATH), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { users: {}, groups: [] };
    throw e;
  }
  const parsed: unknown = JSON.parse(raw);
  if (!isOwned(parsed))
    throw new Error(`${join(root, OWNERSHIP_PATH)} is not an lkp ownership record; fix or remove it`);
  return { users: parsed.users, groups: parsed.groups };
}

/** Written atomically (temp file + rename), so a crash never leaves half a record. */
export function saveOwnership(root: string, owned: Owned): void {
  const path = join(root, OWNERSHIP_PATH);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const sorted: Owned = {
    users: Object.fromEntries(Object.entries(owned.users).sort(([a], [b]) => (a < b ? -1 : 1))),
    groups: [...owned.groups].sort(),
  };
  writeFileSync(`${path}.tmp`, `${JSON.stringify({ version: 1, ...sorted }, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

function isOwned(v: unknown): v is Owned & { version: 1 } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  const users = o.users as Record<string, unknown> | undefined;
  return (
    o.version === 1 &&
    Array.isArray(o.groups) &&
    o.groups.every((g) => typeof g === 'string') &&
    typeof users === 'object' &&
    users !== null &&
    Object.values(users).every(
      (u) => typeof u === 'object' && u !== null && typeof (u as { iamUser?: unknown }).iamUser === 'string',
    )
  );
}

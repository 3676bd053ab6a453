/** `lkp lock`, `unlock`, `locks`: admin requests to the CA (DESIGN §8), decided by its policy. */
import type {
  Lock,
  LockResponse,
  LocksResponse,
  LockSpec,
  UnlockResponse,
} from '../../src/locks/protocol.js';
import { transportOf, type CaTarget } from './certificates.js';
import { provedFields } from './proved-request.js';

export async function addLock(ca: CaTarget, spec: LockSpec, profile?: string): Promise<Lock> {
  const proved = await provedFields(ca, profile, 'lkp-lock');
  return (await transportOf(ca).call<LockResponse>({ Kind: 'Lock', ...proved, Lock: spec })).Lock;
}

export async function removeLock(ca: CaTarget, lockId: string, profile?: string): Promise<Lock> {
  const proved = await provedFields(ca, profile, 'lkp-unlock');
  return (await transportOf(ca).call<UnlockResponse>({ Kind: 'Unlock', ...proved, LockId: lockId })).Unlocked;
}

export async function listLocks(ca: CaTarget, profile?: string): Promise<Lock[]> {
  const proved = await provedFields(ca, profile, 'lkp-locks');
  return (await transportOf(ca).call<LocksResponse>({ Kind: 'Locks', ...proved })).Locks;
}

/** A table for people: one lock per line, the reason last (it may hold spaces). */
export function formatLocks(locks: readonly Lock[]): string {
  if (locks.length === 0) return 'no locks\n';
  const rows = [
    ['LOCK', 'TYPE', 'VALUE', 'EXPIRES', 'BY', 'REASON'],
    ...locks.map((l) => [
      l.LockId,
      l.Type,
      l.Value,
      l.ExpiresAt === undefined ? '-' : new Date(l.ExpiresAt * 1000).toISOString().replace('.000', ''),
      l.CreatedBy,
      l.Reason,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '))
    .join('\n')
    .concat('\n');
}

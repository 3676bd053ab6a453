/**
 * The client's copy of the CA's host revocations (client/lib/host-revocations.ts): ssh refuses every
 * host when RevokedHostKeys names a file it cannot read, so only a list ssh-keygen reads replaces it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaRequestError } from '../../../client/lib/ca-client.js';
import {
  describeKept,
  needsRefresh,
  refreshHostRevocations,
  REFRESH_SECONDS,
} from '../../../client/lib/host-revocations.js';
import { encodeKrl, KRL_MAGIC } from '../../../src/krl/encode.js';

const dir = mkdtempSync(join(tmpdir(), 'lkp-host-revocations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fileName = () => join(dir, `p${n++}`, 'main.krl');
const NOW = new Date('2030-01-15T10:00:00Z');
const GOOD = encodeKrl({
  version: 5n,
  generatedAt: NOW.getTime() / 1000 - 300,
  certificates: [{ serials: [7n] }],
});

describe('refreshHostRevocations', () => {
  it('installs a list ssh-keygen reads, readable by ssh, with nothing left beside it', async () => {
    const file = fileName();
    await expect(refreshHostRevocations(file, async () => GOOD, NOW)).resolves.toEqual({
      installed: true,
      file,
    });
    expect(readFileSync(file)).toEqual(GOOD);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(dirname(file))).toEqual(['main.krl']);
    expect(needsRefresh(file, Math.floor(Date.now() / 1000))).toBe(false);
    expect(needsRefresh(file, Math.ceil(Date.now() / 1000) + REFRESH_SECONDS)).toBe(true);
    expect(needsRefresh(join(dir, 'none.krl'), 0)).toBe(true);
  });

  it.each([
    ['not a KRL', Buffer.from('<html>maintenance</html>'), /the answer is not an OpenSSH KRL/],
    [
      'a KRL ssh-keygen cannot read',
      Buffer.concat([KRL_MAGIC, Buffer.from('garbage')]),
      /ssh-keygen cannot read/,
    ],
    ['nothing', Buffer.alloc(0), /not an OpenSSH KRL/],
  ])('keeps the last good list when the CA sends %s', async (_, answer, reason) => {
    const file = fileName();
    await refreshHostRevocations(file, async () => GOOD, NOW);
    const outcome = await refreshHostRevocations(file, async () => answer, NOW);
    expect(outcome).toEqual({
      installed: false,
      reason: expect.stringMatching(reason),
      since: new Date(NOW.getTime() - 300_000),
    });
    expect(readFileSync(file)).toEqual(GOOD);
    expect(readdirSync(dirname(file))).toEqual(['main.krl']);
    // Tried now: the next try waits a minute.
    expect(statSync(file).mtimeMs).toBe(NOW.getTime());
  });

  it('writes no list and says so when there is none to keep', async () => {
    const file = fileName();
    const outcome = await refreshHostRevocations(file, () => Promise.reject(new Error('CA down')), NOW);
    expect(outcome).toEqual({ installed: false, reason: 'CA down' });
    expect(existsSync(file)).toBe(false);
    if (!outcome.installed)
      expect(describeKept(outcome)).toBe(
        'CA down; ssh checks hosts against no revocation list until lkp can fetch one',
      );
  });

  it('writes an empty list for a CA that keeps no locks, and keeps a list it once had', async () => {
    const noLocks = () =>
      Promise.reject(new CaRequestError('BadRequest', 'this CA keeps no locks (LKP_LOCKS_TABLE is not set)'));
    const file = fileName();
    await expect(refreshHostRevocations(file, noLocks, NOW)).resolves.toMatchObject({ installed: true });
    expect(execFileSync('ssh-keygen', ['-Q', '-l', '-f', file], { encoding: 'utf8' })).toMatch(
      /# KRL version 0/,
    );
    const had = fileName();
    await refreshHostRevocations(had, async () => GOOD, NOW);
    await expect(refreshHostRevocations(had, noLocks, NOW)).resolves.toMatchObject({ installed: false });
    expect(readFileSync(had)).toEqual(GOOD);
  });
});

/**
 * The CA's host revocations on this machine (DESIGN §8; docs/security.md, "Revocation"): the KRL the
 * CA serves to any authenticated caller (locked instances, keys and serials; no locked people), one
 * file per lkp profile, named by `RevokedHostKeys` in lkp's per-target ssh configuration. ssh then
 * refuses a locked instance's host certificate. ssh refuses every host when that file is missing or
 * unreadable, so it is replaced only by rename, only with a list ssh-keygen reads, and the last good
 * one stays when the CA cannot be asked.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { encodeKrl, KRL_MAGIC } from '../../src/krl/encode.js';
import type { KrlResponse } from '../../src/locks/protocol.js';
import type { InfoResponse } from '../../src/protocol.js';
import { CaRequestError } from './ca-client.js';
import type { CaTransport } from './ca-transport.js';

/** As often as hosts fetch theirs: a login asks again once the list is older than this. */
export const REFRESH_SECONDS = 60;

/** magic (8), format version (4), KRL version (8): then the generation time, Unix seconds. */
const GENERATED_AT_OFFSET = 20;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The list was fetched (or last tried) REFRESH_SECONDS ago or more, or there is none. */
export function needsRefresh(file: string, nowSeconds: number): boolean {
  try {
    return statSync(file).mtimeMs / 1000 <= nowSeconds - REFRESH_SECONDS;
  } catch {
    return true;
  }
}

export type RefreshOutcome =
  | { installed: true; file: string }
  /** Nothing changed: `reason` says why; `since` is when the list ssh keeps using was made, if any. */
  | { installed: false; reason: string; since?: Date };

/**
 * Fetches the list and renames it into `file`. On failure the file stays as it was, but its time
 * is moved to now, so logins try again after REFRESH_SECONDS rather than on every connection.
 */
export async function refreshHostRevocations(
  file: string,
  fetchKrl: () => Promise<Buffer>,
  now: Date,
): Promise<RefreshOutcome> {
  let krl: Buffer;
  try {
    krl = await fetchKrl();
  } catch (e) {
    // A CA without a lock table (or older than locks) refuses the request: it revokes nothing.
    if (e instanceof CaRequestError && e.code === 'BadRequest' && !existsSync(file)) {
      install(file, emptyKrl(now));
      return { installed: true, file };
    }
    return kept(file, e instanceof Error ? e.message : String(e), now);
  }
  const problem = krlProblem(krl, file);
  if (problem !== undefined) return kept(file, problem, now);
  install(file, krl);
  return { installed: true, file };
}

/** Asks the CA for the client-scoped KRL (Kind Krl, no HostInstanceArn), proved like any request. */
export function caRevocations(
  transport: CaTransport,
  info: InfoResponse,
  credentials: () => Promise<AwsCredentialIdentity>,
): () => Promise<Buffer> {
  return async () => {
    const { provedFieldsFor } = await import('./proved-request.js');
    const proved = provedFieldsFor(info, await credentials(), 'lkp-krl');
    const answer = await transport.call<Partial<KrlResponse>>({ Kind: 'Krl', ...proved });
    if (typeof answer.Krl !== 'string' || !BASE64.test(answer.Krl))
      throw new Error(`${transport.where} answered without a revocation list`);
    return Buffer.from(answer.Krl, 'base64');
  };
}

/** One line for a person: what failed, and what ssh checks hosts against meanwhile. */
export function describeKept(outcome: Extract<RefreshOutcome, { installed: false }>): string {
  return outcome.since
    ? `${outcome.reason}; ssh keeps checking hosts against the list of ${outcome.since.toISOString()}`
    : `${outcome.reason}; ssh checks hosts against no revocation list until lkp can fetch one`;
}

/** Undefined when ssh can use `krl`; else why not. */
function krlProblem(krl: Buffer, file: string): string | undefined {
  if (!krl.subarray(0, KRL_MAGIC.length).equals(KRL_MAGIC)) return 'the answer is not an OpenSSH KRL';
  const staged = stagedName(file);
  write(staged, krl);
  try {
    execFileSync('ssh-keygen', ['-Q', '-l', '-f', staged], { stdio: 'ignore', timeout: 10_000 });
    return undefined;
  } catch {
    return 'ssh-keygen cannot read the revocation list the CA sent';
  } finally {
    rmSync(staged, { force: true });
  }
}

function install(file: string, krl: Buffer): void {
  const staged = stagedName(file);
  write(staged, krl);
  renameSync(staged, file);
}

function write(file: string, krl: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, krl, { mode: 0o644 });
}

const stagedName = (file: string) => `${file}.${process.pid}.tmp`;

function kept(file: string, reason: string, now: Date): RefreshOutcome {
  if (!existsSync(file)) return { installed: false, reason };
  utimesSync(file, now, now);
  let since: Date | undefined;
  try {
    since = new Date(Number(readFileSync(file).readBigUInt64BE(GENERATED_AT_OFFSET)) * 1000);
  } catch {
    since = undefined; // too short to be a KRL: ssh refuses every host until a good one arrives
  }
  return since ? { installed: false, reason, since } : { installed: false, reason };
}

function emptyKrl(now: Date): Buffer {
  const seconds = Math.floor(now.getTime() / 1000);
  return encodeKrl({ version: 0n, generatedAt: seconds, comment: 'lkp: this CA serves no revocation list' });
}

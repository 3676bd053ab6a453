/**
 * `lkp lock`, `lkp unlock`, `lkp locks`: stop a certificate before it expires (DESIGN §8;
 * docs/security.md, "Revocation"). Admin actions: the CA's policy decides who may.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { fingerprintOf, splitKeyLine } from '../../src/cert/keys.js';
import type { LockSpec, LockType } from '../../src/locks/protocol.js';
import { CliError, EXIT } from '../errors.js';
import { caUrlOption, type CaUrlOptions, resolveCa } from './shared.js';

interface AdminOptions extends CaUrlOptions {
  json?: boolean;
}

interface LockOptions extends AdminOptions {
  caller?: string;
  key?: string;
  serial?: string;
  keyId?: string;
  instance?: string;
  reason?: string;
  expires?: string;
}

const adminOptions = (command: Command): Command =>
  caUrlOption(command.option('--json', 'print the answer as JSON'));

export const lockCommand = adminOptions(
  new Command('lock')
    .description(
      'lock a caller, key, certificate or instance: the CA signs nothing for it and hosts refuse it',
    )
    .option('--caller <arn>', 'an IAM or STS ARN, * for any characters (arn:aws:sts::…:assumed-role/Dev/*)')
    .option('--key <fingerprint|file>', 'a key: SHA256:… as ssh-keygen -l prints it, or a .pub file')
    .option('--serial <n>', 'a certificate serial, as ssh-keygen -L and the CA audit line show it')
    .option('--key-id <id>', "a certificate's Key ID (for lkp: the caller's ARN, or a host's instance ARN)")
    .option('--instance <id|arn>', 'an instance: no host certificate for it, no user certificate to it')
    .option('--reason <text>', 'why (shown to whoever is refused, and in the audit log)')
    .option('--expires <when>', 'lift the lock by itself: 30m, 12h, 7d or an ISO time (default: never)')
    .addHelpText(
      'after',
      `
Examples:
  lkp lock --caller arn:aws:iam::111122223333:user/alice --reason 'laptop stolen'
  lkp lock --serial 1234567890123456789 --reason 'certificate leaked' --expires 1h
  lkp lock --instance i-0123456789abcdef0 --reason compromised --json`,
    ),
).action(async (opts: LockOptions, command: Command) => {
  const spec = lockSpecOf(opts, Date.now());
  const { addLock } = await import('../lib/locks.js');
  const ca = resolveCa(opts, command);
  const lock = await addLock(ca.transport, spec, ca.awsProfile);
  process.stdout.write(
    opts.json ? `${JSON.stringify(lock)}\n` : `locked ${lock.Type} ${lock.Value} as ${lock.LockId}\n`,
  );
});

export const unlockCommand = adminOptions(
  new Command('unlock')
    .description('remove a lock (lkp locks lists them)')
    .argument('<lock-id>', 'the lock, lk-…')
    .addHelpText('after', '\nExample:\n  lkp unlock lk-0123456789abcdef'),
).action(async (lockId: string, opts: AdminOptions, command: Command) => {
  const { removeLock } = await import('../lib/locks.js');
  const ca = resolveCa(opts, command);
  const lock = await removeLock(ca.transport, lockId, ca.awsProfile);
  process.stdout.write(
    opts.json ? `${JSON.stringify(lock)}\n` : `unlocked ${lock.Type} ${lock.Value} (${lock.LockId})\n`,
  );
});

export const locksCommand = adminOptions(
  new Command('locks')
    .description('list the locks in force')
    .addHelpText('after', '\nExample:\n  lkp locks --json'),
).action(async (opts: AdminOptions, command: Command) => {
  const { formatLocks, listLocks } = await import('../lib/locks.js');
  const ca = resolveCa(opts, command);
  const locks = await listLocks(ca.transport, ca.awsProfile);
  process.stdout.write(opts.json ? `${JSON.stringify(locks)}\n` : formatLocks(locks));
});

/** The options → one lock; exactly one target, and a reason. Values are checked by the CA. */
export function lockSpecOf(opts: LockOptions, nowMs: number): LockSpec {
  const targets: [LockType, string | undefined][] = [
    ['Caller', opts.caller],
    ['Key', opts.key === undefined ? undefined : keyFingerprint(opts.key)],
    ['Serial', opts.serial?.trim()],
    ['KeyId', opts.keyId],
    ['Instance', opts.instance],
  ];
  const given = targets.filter((t): t is [LockType, string] => t[1] !== undefined);
  const [target] = given;
  if (given.length !== 1 || target === undefined)
    throw new CliError(
      'name exactly one thing to lock',
      EXIT.usage,
      'one of --caller, --key, --serial, --key-id or --instance',
    );
  if (!opts.reason) throw new CliError('a lock needs a reason', EXIT.usage, "--reason 'laptop stolen'");
  const spec: LockSpec = { Type: target[0], Value: target[1], Reason: opts.reason };
  if (opts.expires !== undefined) spec.ExpiresAt = expiryOf(opts.expires, nowMs);
  return spec;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `30m`, `12h`, `7d` from now, or an ISO 8601 time; Unix seconds. */
export function expiryOf(text: string, nowMs: number): number {
  const relative = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (relative)
    return Math.floor(nowMs / 1000) + Number(relative[1]) * (UNIT_SECONDS[relative[2] ?? 's'] ?? 1);
  const at = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(at)) return Math.floor(at / 1000);
  throw new CliError(
    `--expires "${text}" is neither a duration nor a time`,
    EXIT.usage,
    'for example --expires 12h, --expires 7d or --expires 2026-12-31T00:00:00Z',
  );
}

/** A fingerprint as given, or the fingerprint of a public key file. */
function keyFingerprint(value: string): string {
  if (value.startsWith('SHA256:')) return value;
  let text: string;
  try {
    text = readFileSync(value, 'utf8');
  } catch {
    throw new CliError(`--key ${value} is neither a SHA256: fingerprint nor a readable file`, EXIT.usage);
  }
  return fingerprintOf(splitKeyLine(text.trim(), '--key').blob);
}

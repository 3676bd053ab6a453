/**
 * Keeping the host certificate fresh: when a run must ask the CA again, and the systemd timer (or
 * cron entry, without systemd) that re-runs `lkp host` often enough to renew at two thirds of the
 * certificate's lifetime (DESIGN §4).
 */
import type { ParsedCertificate } from '../../../src/cert/index.js';
import { RENEW_UNIT } from './layout.js';

/** Renew once this share of the lifetime has passed. */
const RENEW_AT = 2 / 3;
/**
 * How often the renewal job checks, as a share of the lifetime: a check lands in every window of
 * 1/3 of the lifetime, so a certificate is renewed between 2/3 and 5/6 of its life even when the
 * instance was stopped meanwhile (a timer that fired only at 2/3 could miss by a second and then
 * wait a whole period).
 */
const CHECK_EVERY = 1 / 6;
const MIN_CHECK_SECONDS = 300;
/** The CA's default host certificate validity (DESIGN §3.5), for planning before any certificate exists. */
export const DEFAULT_HOST_LIFETIME_SECONDS = 30 * 24 * 3600;

export interface RenewalInputs {
  existing: ParsedCertificate | undefined;
  hostPublicKey: string;
  caPublicKeys: readonly string[];
  /** The names this run asks for: IMDS addresses and hostnames, plus --principal extras. */
  requested: readonly string[];
  /** What the previous run asked for; undefined when unknown. */
  previouslyRequested: readonly string[] | undefined;
  now: number;
}

/** Why a new certificate is needed, or undefined when the current one is fine. */
export function renewalReason(i: RenewalInputs): string | undefined {
  const c = i.existing;
  if (c === undefined) return 'no host certificate yet';
  if (c.kind !== 'host') return 'the certificate file holds a user certificate';
  if (c.publicKey.blob.toString('base64') !== keyBlob(i.hostPublicKey)) return 'the host key changed';
  if (!i.caPublicKeys.some((k) => keyBlob(k) === c.signatureKey.toString('base64')))
    return 'the certificate was signed by a key the CA no longer publishes';
  const renewAt = c.validAfter + (c.validBefore - c.validAfter) * RENEW_AT;
  if (i.now >= renewAt) return `two thirds of its lifetime have passed (expires ${isoTime(c.validBefore)})`;
  if (i.previouslyRequested === undefined) return 'no record of the names asked for last time';
  if (!sameSet(i.requested, i.previouslyRequested)) return 'the host names changed';
  return undefined;
}

export function checkIntervalSeconds(lifetimeSeconds: number): number {
  return Math.max(MIN_CHECK_SECONDS, Math.floor(lifetimeSeconds * CHECK_EVERY));
}

export function renderRenewService(command: readonly string[]): string {
  return oneshotServiceLines('Renew the lkp SSH host certificate', command).join('\n');
}

/** A systemd oneshot service that runs `command` once the network is up (the lines of the unit file). */
export function oneshotServiceLines(description: string, command: readonly string[]): string[] {
  return [
    '[Unit]',
    `Description=${description}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${systemdCommandLine(command)}`,
    '',
  ];
}

export function renderRenewTimer(intervalSeconds: number): string {
  return [
    '[Unit]',
    'Description=Check the lkp SSH host certificate and renew it at two thirds of its lifetime',
    '',
    '[Timer]',
    // After a reboot the first check comes soon: the instance may have been stopped for a while.
    'OnBootSec=5min',
    `OnUnitActiveSec=${intervalSeconds}s`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

/** The cron fallback: the nearest schedule cron can express that is no sparser than the interval. */
export function renderRenewCron(command: readonly string[], intervalSeconds: number, minute: number): string {
  const minutes = Math.floor(intervalSeconds / 60);
  const schedule =
    minutes < 60
      ? `*/${Math.max(1, minutes)} * * * *`
      : minutes < 24 * 60
        ? `${minute} */${Math.floor(minutes / 60)} * * *`
        : `${minute} ${minute % 24} * * *`;
  const line = cronCommandLine(command, RENEW_UNIT);
  return [
    '# Written by `lkp host`: renews the SSH host certificate at two thirds of its lifetime.',
    'SHELL=/bin/sh',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `@reboot root ${line}`,
    `${schedule} root ${line}`,
    '',
  ].join('\n');
}

function keyBlob(line: string): string | undefined {
  return line.trim().split(/\s+/)[1];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((x) => right.has(x));
}

const isoTime = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();

/** An ExecStart= value, one argument per element (line breaks cannot be written: validate first). */
export function systemdCommandLine(command: readonly string[]): string {
  return command.map(systemdArg).join(' ');
}

/** A cron.d command that runs `command` and sends its output to syslog under `tag`. */
export function cronCommandLine(command: readonly string[], tag: string): string {
  return `${command.map(shellArg).join(' ')} 2>&1 | logger -t ${tag}`;
}

/** systemd's ExecStart quoting; % starts a specifier and $ a variable there, so both are doubled. */
function systemdArg(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[\w@%+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replace(/[\\"]/g, '\\$&')}"`;
}

/** POSIX single quotes; in a crontab % means newline unless escaped. */
function shellArg(arg: string): string {
  const quoted = /^[\w@+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
  return quoted.replace(/%/g, '\\%');
}

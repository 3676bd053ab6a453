/**
 * `lkp doctor`: what a user checks before asking for help (DESIGN §4). Each check is a small
 * function over injected probes, so tests drive them without AWS, a CA or OpenSSH.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

export interface CallerIdentity {
  arn: string;
  account: string;
  /** The Date header of STS's answer: AWS's clock. */
  date?: Date;
}

/** What Info tells doctor: the CA, and the STS endpoint and region its proofs go to. */
export interface CaSummary {
  keys: number;
  serverId: string;
  stsEndpoint: string;
  stsRegion: string;
}

/** Where GetCallerIdentity goes: the CA's advertised STS endpoint, when the CA answered. */
export interface StsTarget {
  endpoint: string;
  region: string;
}

/** A failed probe that knows the fix (the real cause, not a generic hint). */
export class ProbeError extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

export interface DoctorProbes {
  /** Resolves credentials and asks STS GetCallerIdentity (at `sts` when given, else the SDK's default). */
  callerIdentity(sts: StsTarget | undefined): Promise<CallerIdentity>;
  /** Kind: Info; absent when no CA is known (no --ca and no lkp profile). */
  caInfo?: () => Promise<CaSummary>;
  /** The file's text, or undefined when it does not exist. */
  readFile(path: string): string | undefined;
  exists(path: string): boolean;
  /** `ssh -V` output (it prints on stderr); throws when ssh is missing. */
  sshVersion(): Promise<string>;
  env: Record<string, string | undefined>;
  home: string;
  now(): Date;
}

const MIN_SSH_VERSION = [8, 2] as const;
const WARN_SKEW_SECONDS = 60;
const DEFAULT_MAX_SKEW_SECONDS = 300;

/** `caWhere` names the CA in messages (its URL or `lambda:<function>`); the CA is asked first, for its STS. */
export async function runDoctor(opts: { caWhere?: string }, p: DoctorProbes): Promise<Check[]> {
  const ca = p.caInfo ? await settle(p.caInfo()) : undefined;
  const sts = ca?.ok ? { endpoint: ca.value.stsEndpoint, region: ca.value.stsRegion } : undefined;
  const identity = await settle(p.callerIdentity(sts));
  return [
    credentialsCheck(identity, sts),
    caCheck(opts.caWhere, ca),
    clockCheck(identity.ok ? identity.value.date : undefined, p),
    ...lkpFilesChecks(p),
    agentCheck(p),
    await sshCheck(p),
  ];
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: string; fix?: string };

async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (e) {
    return {
      ok: false,
      error: e instanceof Error ? e.message : String(e),
      ...(e instanceof ProbeError ? { fix: e.fix } : {}),
    };
  }
}

const LOOPBACK = /^(127\.|localhost$|\[?::1\]?$)/;

/**
 * Why GetCallerIdentity failed, and the fix for that cause: a loopback stand-in that refused is
 * not solved by `aws sso login`.
 */
export function stsFailure(e: unknown, endpoint: string): ProbeError {
  const name = e instanceof Error ? e.name : 'Error';
  const code = networkCode(e);
  const local = LOOPBACK.test(hostOf(endpoint));
  if (code !== undefined)
    return new ProbeError(
      `could not reach STS at ${endpoint} (${code})`,
      local
        ? 'the CA advertises a local STS stand-in: is the local stack (`npm start -- --keep-running`) still running?'
        : `check that this machine reaches ${endpoint} (network, proxy, DNS)`,
    );
  if (/^ExpiredToken/.test(name))
    return new ProbeError(
      `STS at ${endpoint}: your session has expired (${name})`,
      'renew it: `aws sso login` (or your credential tool)',
    );
  if (
    /InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch|IncompleteSignature|AccessDenied/.test(
      name,
    )
  )
    return new ProbeError(
      `STS at ${endpoint} refused your credentials (${name})`,
      local
        ? 'the local stack accepts only its own test credentials: use the export lines `npm start -- --keep-running` prints'
        : 'check AWS_PROFILE / --aws-profile and AWS_ACCESS_KEY_ID; `aws sts get-caller-identity` shows the same error',
    );
  return new ProbeError(
    `STS at ${endpoint} answered ${name}: ${e instanceof Error ? e.message : String(e)}`,
    '`aws sts get-caller-identity` with the same profile shows whether AWS agrees',
  );
}

function networkCode(e: unknown): string | undefined {
  const codeOf = (x: unknown) => {
    const c = (x as { code?: unknown } | null)?.code;
    return typeof c === 'string' && /^E[A-Z]+$/.test(c) ? c : undefined;
  };
  return (
    codeOf(e) ??
    codeOf((e as { cause?: unknown } | null)?.cause) ??
    codeOf((e as { errors?: unknown[] } | null)?.errors?.[0])
  );
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

/** The CA's allowed accounts are its admin's secret; the best we can do is say who we are. */
export function credentialsCheck(identity: Settled<CallerIdentity>, sts?: StsTarget): Check {
  if (!identity.ok)
    return {
      name: 'aws credentials',
      status: 'fail',
      detail: identity.error,
      fix: identity.fix ?? 'run `aws sso login` (or set AWS_PROFILE), then `aws sts get-caller-identity`',
    };
  return {
    name: 'aws credentials',
    status: 'ok',
    detail: `you are ${identity.value.arn} (account ${identity.value.account}${sts ? `, asked at the CA's STS ${sts.endpoint} in ${sts.region}` : ''}); the CA must allow account ${identity.value.account}`,
  };
}

export function caCheck(caWhere: string | undefined, ca: Settled<CaSummary> | undefined): Check {
  if (caWhere === undefined || ca === undefined)
    return {
      name: 'ca',
      status: 'warn',
      detail: 'no CA given and no lkp profile',
      fix: 'run `lkp setup --url <CA URL>`, or pass --ca <url>',
    };
  if (!ca.ok)
    return {
      name: 'ca',
      status: 'fail',
      detail: ca.error,
      fix: ca.fix ?? `check ${caWhere} and that the CA is deployed`,
    };
  return {
    name: 'ca',
    status: 'ok',
    detail: `${caWhere} answers as ${ca.value.serverId} with ${ca.value.keys} CA key(s); proofs go to STS ${ca.value.stsEndpoint} (${ca.value.stsRegion})`,
  };
}

/** The CA refuses proofs whose X-Amz-Date is off by more than LKP_CLOCK_SKEW (DESIGN §3.1, §7). */
export function clockCheck(remote: Date | undefined, p: Pick<DoctorProbes, 'env' | 'now'>): Check {
  if (remote === undefined)
    return { name: 'clock', status: 'warn', detail: 'no answer from STS to compare the clock with' };
  const limit = Number(p.env.LKP_CLOCK_SKEW) || DEFAULT_MAX_SKEW_SECONDS;
  // A Date header has whole seconds: up to 1 s of the difference is rounding.
  const skew = Math.round((p.now().getTime() - remote.getTime()) / 1000);
  const detail = `local clock is ${Math.abs(skew)} s ${skew >= 0 ? 'ahead of' : 'behind'} AWS`;
  const fix = 'sync the clock: `timedatectl set-ntp true` (or chrony / ntpd)';
  if (Math.abs(skew) > limit)
    return { name: 'clock', status: 'fail', detail: `${detail}; the CA allows ${limit} s`, fix };
  if (Math.abs(skew) > WARN_SKEW_SECONDS) return { name: 'clock', status: 'warn', detail, fix };
  return { name: 'clock', status: 'ok', detail };
}

/** ~/.lkp and the ~/.ssh/config Include written by `lkp setup`, when present. */
export function lkpFilesChecks(p: Pick<DoctorProbes, 'home' | 'exists' | 'readFile'>): Check[] {
  const lkpDir = `${p.home}/.lkp`;
  const sshConfig = p.readFile(`${p.home}/.ssh/config`);
  const setupFix = 'run `lkp setup` to use plain ssh, scp and git with lkp';
  const included = sshConfig?.split('\n').some((l) => /^\s*include\s+.*lkp/i.test(l)) ?? false;
  return [
    p.exists(lkpDir)
      ? { name: '~/.lkp', status: 'ok', detail: `${lkpDir} exists` }
      : { name: '~/.lkp', status: 'warn', detail: `no ${lkpDir}`, fix: setupFix },
    included
      ? { name: 'ssh config', status: 'ok', detail: '~/.ssh/config includes the lkp configuration' }
      : {
          name: 'ssh config',
          status: 'warn',
          detail:
            sshConfig === undefined
              ? 'no ~/.ssh/config'
              : '~/.ssh/config has no Include of the lkp configuration',
          fix: setupFix,
        },
  ];
}

export function agentCheck(p: Pick<DoctorProbes, 'env' | 'exists'>): Check {
  const socket = p.env.SSH_AUTH_SOCK;
  if (socket && p.exists(socket)) return { name: 'ssh-agent', status: 'ok', detail: `agent at ${socket}` };
  return {
    name: 'ssh-agent',
    status: 'warn',
    detail: socket
      ? `SSH_AUTH_SOCK points to ${socket}, which does not exist`
      : 'no ssh-agent (SSH_AUTH_SOCK is unset)',
    fix: 'start one with `eval "$(ssh-agent)"`; without it lkp keeps keys in ~/.lkp',
  };
}

/** Certificates signed with rsa-sha2 need OpenSSH 8.2 or later on the client. */
export async function sshCheck(p: Pick<DoctorProbes, 'sshVersion'>): Promise<Check> {
  let banner: string;
  try {
    banner = (await p.sshVersion()).trim();
  } catch {
    return {
      name: 'ssh',
      status: 'fail',
      detail: 'ssh was not found',
      fix: 'install the OpenSSH client (openssh-client)',
    };
  }
  const match = /OpenSSH_(?:for_Windows_)?(\d+)\.(\d+)/.exec(banner);
  if (!match)
    return {
      name: 'ssh',
      status: 'warn',
      detail: `not OpenSSH: ${banner}`,
      fix: 'lkp is tested with OpenSSH',
    };
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const tooOld = major < MIN_SSH_VERSION[0] || (major === MIN_SSH_VERSION[0] && minor < MIN_SSH_VERSION[1]);
  return tooOld
    ? {
        name: 'ssh',
        status: 'warn',
        detail: `${banner} is older than 8.2`,
        fix: 'upgrade OpenSSH: older clients mishandle rsa-sha2 certificates',
      }
    : { name: 'ssh', status: 'ok', detail: banner };
}

export function formatChecks(checks: readonly Check[]): string {
  return checks
    .map(
      (c) =>
        `${c.status.padEnd(4)}  ${c.name.padEnd(15)} ${c.detail}${c.fix && c.status !== 'ok' ? `\n      fix: ${c.fix}` : ''}`,
    )
    .join('\n');
}

/**
 * Derives each certificate field from the request, the verified caller and the grant, one
 * function per field (DESIGN §3.5). The encoder then refuses any template that is not sound.
 */
import type { Grant, JumpboxGrant } from './authorize/grant.js';
import type { SshPublicKey, CertificateTemplate } from './cert/index.js';
import type { CaConfig } from './config.js';
import { policyError } from './errors.js';
import { formatHostAddress, parseHostAddress } from './host-address.js';
import type { HostCertRequest, LkpIdentity, UserCertRequest } from './protocol.js';

/** Clocks on hosts drift; a certificate valid from a minute ago survives a slightly slow sshd clock. */
export const BACKDATE_SECONDS = 60;

export interface TemplateInput {
  req: UserCertRequest | HostCertRequest;
  who: LkpIdentity;
  publicKey: SshPublicKey;
  grant: Grant;
  serial: bigint;
  now: Date;
}

export function buildTemplate(input: TemplateInput, cfg: CaConfig): CertificateTemplate {
  const kind = input.req.Kind === 'User' ? 'user' : 'host';
  const { validAfter, validBefore } = validity(input.now, ttlFor(kind, cfg), input.grant.validForSeconds);
  return {
    kind,
    publicKey: input.publicKey,
    serial: input.serial,
    keyId: certificateKeyId(input.req, input.who),
    principals: principals(input.grant.principals),
    validAfter,
    validBefore,
    criticalOptions: kind === 'user' ? input.grant.criticalOptions : {},
    extensions: kind === 'user' ? input.grant.extensions : [],
  };
}

/** Who the certificate was issued to, as sshd logs it: the caller's ARN, or the instance's for a host. */
export function certificateKeyId(req: UserCertRequest | HostCertRequest, who: LkpIdentity): string {
  return req.Kind === 'Host' ? req.HostInstanceArn : who.Arn;
}

function principals(names: readonly string[]): string[] {
  const unique = [...new Set(names)];
  // An empty list means "any principal" to sshd (CVE-2024-7594 in Vault): never sign it.
  if (unique.length === 0) throw policyError('the policy granted no principals; nothing was signed');
  return unique;
}

function ttlFor(kind: 'user' | 'host', cfg: CaConfig): number {
  return kind === 'user' ? cfg.userCertTtlSeconds : cfg.hostCertTtlSeconds;
}

function validity(
  now: Date,
  ttl: number,
  requested: number | undefined,
): { validAfter: number; validBefore: number } {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const lifetime = requested === undefined ? ttl : Math.min(ttl, requested);
  return { validAfter: nowSeconds - BACKDATE_SECONDS, validBefore: nowSeconds + lifetime };
}

/**
 * What a jumpbox certificate allows (DESIGN §3.4: only port forwarding). Extensions alone do not
 * stop a session: without permit-pty sshd still runs a command or a shell without a terminal. The
 * forced command replaces any session with a refusal; ssh's ProxyJump (-W) opens no session, only a
 * forwarded connection, so the hop itself is unaffected. Plain words and `;` only: the jumpbox
 * user's login shell runs it, whichever shell that is.
 */
export const JUMPBOX_CERTIFICATE_OPTIONS = {
  criticalOptions: {
    'force-command': 'echo lkp: this certificate only forwards connections through this jumpbox; exit 1',
  },
  extensions: ['permit-port-forwarding'],
} as const satisfies Pick<CertificateTemplate, 'criticalOptions' | 'extensions'>;

/**
 * Principals that tell a bastion set up by lkp what a jumpbox certificate is for (DESIGN §3.4):
 * `lkp-jumpbox` marks it, `lkp-permitopen=<host>:<port>` names the next hop the policy routed it
 * to. The bastion's principals command turns them into `restrict,port-forwarding,permitopen=…`;
 * a jumpbox certificate without a next hop forwards nowhere there. They are names no login uses.
 */
export const JUMPBOX_MARKER_PRINCIPAL = 'lkp-jumpbox';
export const PERMITOPEN_PRINCIPAL_PREFIX = 'lkp-permitopen=';

/** `host`, `host:port` or `[ipv6]:port` (DESIGN §3.2) as sshd's permitopen wants it: always with a port. */
export function permitOpenTarget(address: string): string {
  const parsed = parseHostAddress(address);
  // The grant's addresses were parsed already (src/authorize/response.ts); anything else is a bug.
  if (parsed === undefined) throw new Error(`not a host address: '${address}'`);
  return formatHostAddress({ host: parsed.host, port: parsed.port ?? 22 });
}

/** A jumpbox certificate: the main certificate's key and validity, the jumpbox's principals, port forwarding only (DESIGN §3.4). */
export function jumpboxTemplate(
  main: CertificateTemplate,
  jumpbox: JumpboxGrant,
  serial: bigint,
  /** Where this jumpbox forwards to: the next jumpbox's address, or the target's; unknown when the policy named none. */
  nextHop: string | undefined,
): CertificateTemplate {
  const route = nextHop === undefined ? [] : [`${PERMITOPEN_PRINCIPAL_PREFIX}${permitOpenTarget(nextHop)}`];
  return {
    ...main,
    serial,
    principals: [...principals(jumpbox.principals), JUMPBOX_MARKER_PRINCIPAL, ...route],
    criticalOptions: { ...JUMPBOX_CERTIFICATE_OPTIONS.criticalOptions },
    extensions: [...JUMPBOX_CERTIFICATE_OPTIONS.extensions],
  };
}

/**
 * The CA pipeline, in the order of the design: parse → authenticate → authorize → sign → audit.
 * Every transport (HTTP server, Lambda Invoke, Function URL) calls `handle`; every exit writes
 * exactly one audit line.
 */
import { answerAccounts } from './accounts/answer.js';
import type { GroupMembers } from './accounts/iam-groups.js';
import { formatAudit, type AuditJumpbox, type AuditRecord, type AuditSink } from './audit.js';
import type { Grant, IngressGrant, JumpboxGrant } from './authorize/grant.js';
import { checkHostIdentity } from './authorize/host-caller.js';
import type { Policy } from './authorize/policy.js';
import {
  createCertificate,
  parsePublicKey,
  randomSerial,
  type CertificateTemplate,
  type SshPublicKey,
} from './cert/index.js';
import type { CaConfig } from './config.js';
import { HTTP_STATUS, asLkpError, badRequest, policyError } from './errors.js';
import type { LeaseManager, LeaseResult } from './ingress/index.js';
import type {
  CaRequest,
  CaResponse,
  CertResponse,
  CloseRequest,
  CloseResponse,
  HostCertRequest,
  IdentityProof,
  InfoResponse,
  JumpboxCertificate,
  LkpIdentity,
  LkpVoucher,
  UserCertRequest,
} from './protocol.js';
import { parseRequest, parseRequestBody } from './request.js';
import type { Signer } from './signer/signer.js';
import { buildTemplate, certificateKeyId, jumpboxTemplate } from './template.js';
import type { InstanceDirectory } from './ec2.js';
import { verifyVouchers } from './identity/voucher.js';
import { handleRevocation } from './locks/ca-requests.js';
import { REVOCATION_KINDS } from './locks/request.js';
import type { RevocationRequest } from './locks/protocol.js';
import type { LockService } from './locks/service.js';

export type IdentityVerifier = (
  proof: IdentityProof,
  keyFingerprint: string,
  now: Date,
) => Promise<LkpIdentity>;

export interface CaDeps {
  config: CaConfig;
  signer: Signer;
  policy: Policy;
  verifyIdentity: IdentityVerifier;
  /** EC2 lookups; without it no host name is confirmed and no target is checked. */
  instances?: InstanceDirectory;
  /** Network leases; without it a policy answer asking for one is a PolicyError. */
  leases?: LeaseManager;
  /** IAM group members for Accounts requests; without it the CA manages no unix accounts. */
  groupMembers?: GroupMembers;
  /** Locks and the revocation list (LKP_LOCKS_TABLE); without it nothing is locked and Lock requests are refused. */
  locks?: LockService;
  audit: AuditSink;
  now?: () => Date;
  random?: (size: number) => Buffer;
}

export interface RequestMeta {
  transport: string;
  /** The caller's address as the transport observed it; never a value the client supplied. */
  sourceIp?: string;
  requestId?: string;
}

/** A raw JSON body (HTTP, Function URL) or an already-decoded payload (Lambda Invoke). */
export type Incoming = { body: string | Buffer } | { payload: unknown };

export interface CaResult {
  status: number;
  response: CaResponse;
}

export type Ca = (incoming: Incoming, meta: RequestMeta) => Promise<CaResult>;

export function createCa(deps: CaDeps): Ca {
  const now = deps.now ?? (() => new Date());
  return async (incoming, meta) => {
    const record: AuditRecord = { time: now().toISOString(), decision: 'deny', transport: meta.transport };
    if (meta.sourceIp !== undefined) record.sourceIp = meta.sourceIp;
    if (meta.requestId !== undefined) record.requestId = meta.requestId;
    try {
      const req = 'body' in incoming ? parseRequestBody(incoming.body) : parseRequest(incoming.payload);
      record.kind = req.Kind;
      if (req.Kind === 'Info') {
        record.decision = 'allow';
        return { status: 200, response: info(deps) };
      }
      const response = isRevocation(req)
        ? await handleRevocation(req, deps, record, now())
        : req.Kind === 'Close'
          ? await closeLeases(req, deps, record, now())
          : req.Kind === 'Accounts'
            ? await answerAccounts(req, deps, record, now())
            : await issue(req, deps, meta, record, now());
      record.decision = 'allow';
      return { status: 200, response };
    } catch (e) {
      const err = asLkpError(e);
      record.code = err.code;
      record.reason = err.message;
      if (Object.keys(err.detail).length > 0) record.detail = { ...err.detail };
      if (err.code === 'Internal') logInternal(err);
      return { status: HTTP_STATUS[err.code], response: { Error: { Code: err.code, Message: err.message } } };
    } finally {
      deps.audit(formatAudit(record));
    }
  };
}

async function issue(
  req: UserCertRequest | HostCertRequest,
  deps: CaDeps,
  meta: RequestMeta,
  record: AuditRecord,
  now: Date,
): Promise<CertResponse> {
  record.target = req.Kind === 'User' ? req.RemoteInstanceArn : req.HostInstanceArn;
  if (req.Kind === 'User') record.sshUsername = req.SshUsername;
  else record.requestedPrincipals = req.Principals;

  const publicKey = parsePublicKey(req.PublicKey);
  record.keyFingerprint = publicKey.fingerprint;

  const who = await deps.verifyIdentity(req.Identity, publicKey.fingerprint, now);
  record.caller = who.Arn;
  // DESIGN §3.2 Vouchers: verified like the caller (same STS endpoint, same rules), and only once the
  // caller is authenticated, so an anonymous request cannot make the CA call STS.
  const vouchers =
    req.Kind === 'User' && req.Vouchers ? await verifyVouchers(req.Vouchers, who, deps.config, now) : [];
  if (vouchers.length > 0) record.vouchers = vouchers.map((v) => v.Arn);

  // DESIGN §8: a locked caller, key, KeyId or instance gets nothing, whatever the policy would say.
  await deps.locks?.check(
    {
      callerArn: who.Arn,
      keyFingerprint: publicKey.fingerprint,
      keyId: certificateKeyId(req, who),
      instanceArn: req.Kind === 'User' ? req.RemoteInstanceArn : req.HostInstanceArn,
    },
    now,
  );

  record.policy = deps.policy.name;
  const grant = await authorize(req, who, vouchers, publicKey, deps, meta);

  const template = buildTemplate(
    { req, who, publicKey, grant, serial: randomSerial(deps.random), now },
    deps.config,
  );
  const signed = await createCertificate(template, deps.signer, deps.random);
  const jumpboxes = await signJumpboxes(template, grant.jumpboxes ?? [], grant.targetAddress, deps);

  record.principals = [...template.principals];
  record.serial = template.serial.toString();
  record.keyId = template.keyId;
  record.validAfter = template.validAfter;
  record.validBefore = template.validBefore;
  if (jumpboxes.length > 0) record.jumpboxes = jumpboxes.map((j) => j.audit);
  const response: CertResponse = {
    Kind: req.Kind,
    Certificate: signed.line,
    KeyId: template.keyId,
    Serial: template.serial.toString(),
    Principals: [...template.principals],
    ValidAfter: template.validAfter,
    ValidBefore: template.validBefore,
    CaPublicKeys: [deps.signer.publicKey],
  };
  if (grant.targetAddress !== undefined) response.TargetAddress = grant.targetAddress;
  if (jumpboxes.length > 0) response.Jumpboxes = jumpboxes.map((j) => j.certificate);
  if (grant.instanceConnectEndpoint !== undefined) {
    const { id, dnsName } = grant.instanceConnectEndpoint;
    response.InstanceConnectEndpoint = { Id: id, ...(dnsName !== undefined ? { DnsName: dnsName } : {}) };
  }
  if (grant.ingress !== undefined) {
    // Last, after everything else succeeded: nothing is opened for a request that is then denied.
    const lease = await openLease(grant.ingress, who, meta, template.validBefore, deps.leases);
    record.ingress = { ...lease };
    response.Ingress = {
      SecurityGroupId: lease.securityGroupId,
      Cidr: lease.cidr,
      Ports: lease.ports,
      Until: lease.until,
    };
  }
  return response;
}

/** `lkp close`: the proved caller's lease rules are revoked; nobody can close another caller's. */
async function closeLeases(
  req: CloseRequest,
  deps: CaDeps,
  record: AuditRecord,
  now: Date,
): Promise<CloseResponse> {
  if (deps.leases === undefined)
    throw badRequest('this CA opens no network leases (LKP_INGRESS_GROUPS is not set)');
  const publicKey = parsePublicKey(req.PublicKey);
  record.keyFingerprint = publicKey.fingerprint;
  const who = await deps.verifyIdentity(req.Identity, publicKey.fingerprint, now);
  record.caller = who.Arn;
  record.closed = await deps.leases.close(who.Arn);
  return { Closed: record.closed };
}

async function authorize(
  req: UserCertRequest | HostCertRequest,
  who: LkpIdentity,
  vouchers: LkpVoucher[],
  publicKey: SshPublicKey,
  deps: CaDeps,
  meta: RequestMeta,
): Promise<Grant> {
  if (req.Kind === 'Host') {
    await checkHostIdentity(who, req.HostInstanceArn, deps.instances);
    const grant = await deps.policy.authorizeHost({
      Kind: 'LkpHostCertAuthorizationRequest',
      From: who,
      HostInstanceArn: req.HostInstanceArn,
      Principals: req.Principals,
    });
    // DESIGN §3.4: a requested name is signed only when EC2 confirms it belongs to the instance.
    const confirmed = (await deps.instances?.confirmHostNames(req.HostInstanceArn, req.Principals)) ?? [];
    return { ...grant, principals: [...grant.principals, ...confirmed] };
  }
  if (deps.config.verifyTargets === 'own') await deps.instances?.checkTargetExists(req.RemoteInstanceArn);
  return deps.policy.authorizeUser({
    Kind: 'LkpUserCertAuthorizationRequest',
    From: who,
    RemoteInstanceArn: req.RemoteInstanceArn,
    SshUsername: req.SshUsername,
    PublicKeyFingerprint: publicKey.fingerprint,
    ...(meta.sourceIp !== undefined ? { SourceIp: meta.sourceIp } : {}),
    ...(vouchers.length > 0 ? { Vouchers: vouchers } : {}),
  });
}

async function openLease(
  ingress: IngressGrant,
  who: LkpIdentity,
  meta: RequestMeta,
  validBefore: number,
  leases: LeaseManager | undefined,
): Promise<LeaseResult> {
  if (leases === undefined) throw policyError('policy answer: Ingress needs LKP_INGRESS_GROUPS on the CA');
  return leases.open({
    ingress,
    callerArn: who.Arn,
    sourceIp: meta.sourceIp,
    transport: meta.transport,
    validBefore,
  });
}

/**
 * One certificate per jumpbox for the same key: port forwarding only, so a bastion is a hop, not a
 * shell; each names its next hop (the following jumpbox, or the target) for the bastion to enforce.
 */
async function signJumpboxes(
  main: CertificateTemplate,
  jumpboxes: readonly JumpboxGrant[],
  targetAddress: string | undefined,
  deps: CaDeps,
): Promise<{ certificate: JumpboxCertificate; audit: AuditJumpbox }[]> {
  const signed = [];
  for (const [i, jumpbox] of jumpboxes.entries()) {
    const nextHop = jumpboxes[i + 1]?.address ?? targetAddress;
    const template = jumpboxTemplate(main, jumpbox, randomSerial(deps.random), nextHop);
    const cert = await createCertificate(template, deps.signer, deps.random);
    signed.push({
      certificate: {
        Address: jumpbox.address,
        User: jumpbox.user,
        HostKeyAlias: jumpbox.hostKeyAlias,
        Certificate: cert.line,
      },
      audit: {
        address: jumpbox.address,
        principals: [...template.principals],
        serial: template.serial.toString(),
      },
    });
  }
  return signed;
}

function isRevocation(req: CaRequest): req is RevocationRequest {
  return (REVOCATION_KINDS as readonly string[]).includes(req.Kind);
}

function info(deps: CaDeps): InfoResponse {
  return {
    CaPublicKeys: [deps.signer.publicKey],
    ServerId: deps.config.serverId,
    StsEndpoint: deps.config.stsEndpoint,
    StsRegion: deps.config.stsRegion,
  };
}

/** Internal errors carry their cause for the operator (stderr), never for the caller. */
function logInternal(err: Error): void {
  const cause =
    err.cause instanceof Error ? `${err.cause.name}: ${err.cause.message}` : String(err.cause ?? '');
  process.stderr.write(`${JSON.stringify({ level: 'ERROR', message: err.message, cause })}\n`);
}

/**
 * One JSON line per decision on stdout (DESIGN §5). The line is built from an allow-list of
 * fields, so an Authorization header, token or key can never reach it by accident.
 */
import type { ErrorCode } from './errors.js';
import type { CaRequest } from './protocol.js';

export interface AuditJumpbox {
  address: string;
  principals: string[];
  serial: string;
}

export interface AuditLease {
  securityGroupId: string;
  cidr: string;
  ports: number[];
  until: number;
  revoked: number;
}

export interface AuditLock {
  lockId: string;
  type: string;
  value: string;
  reason: string;
  expiresAt?: number;
}

export interface AuditRecord {
  time: string;
  decision: 'allow' | 'deny';
  kind?: CaRequest['Kind'];
  transport: string;
  requestId?: string;
  sourceIp?: string;
  caller?: string;
  /** ARNs of the verified vouchers the policy was given (never their tokens). */
  vouchers?: string[];
  target?: string;
  sshUsername?: string;
  requestedPrincipals?: string[];
  principals?: string[];
  policy?: string;
  serial?: string;
  keyId?: string;
  keyFingerprint?: string;
  validAfter?: number;
  validBefore?: number;
  jumpboxes?: AuditJumpbox[];
  ingress?: AuditLease;
  /** Lease rules revoked by a Close request. */
  closed?: number;
  /** The unix accounts an Accounts request was answered with, and those of them with sudo. */
  accounts?: string[];
  sudo?: string[];
  /** The lock a Lock or Unlock request made or removed. */
  lock?: AuditLock;
  code?: ErrorCode;
  reason?: string;
  detail?: Record<string, string>;
}

export type AuditSink = (line: string) => void;

export const stdoutAudit: AuditSink = (line) => {
  process.stdout.write(`${line}\n`);
};

const FIELDS: readonly (keyof AuditRecord)[] = [
  'time',
  'decision',
  'kind',
  'transport',
  'requestId',
  'sourceIp',
  'caller',
  'vouchers',
  'target',
  'sshUsername',
  'requestedPrincipals',
  'principals',
  'policy',
  'serial',
  'keyId',
  'keyFingerprint',
  'validAfter',
  'validBefore',
  'jumpboxes',
  'ingress',
  'closed',
  'accounts',
  'sudo',
  'lock',
  'code',
  'reason',
  'detail',
];

export function formatAudit(record: AuditRecord): string {
  const line: Record<string, unknown> = {
    level: record.decision === 'allow' ? 'INFO' : 'WARN',
    message: 'lkp decision',
  };
  for (const field of FIELDS) if (record[field] !== undefined) line[field] = record[field];
  return JSON.stringify(line);
}

/**
 * Identity verification (DESIGN §3.1): check the forwarded proof, send it to the configured STS
 * endpoint, and map the caller STS names to an LkpIdentity. Nothing is sent unless the proof passes.
 */
import type { IdentityProof, LkpIdentity } from '../protocol.js';
import { identityFromArn } from './arn.js';
import { parseStsProof } from './proof.js';
import { callSts, type StsTransport } from './sts.js';

export { identityFromArn } from './arn.js';
export { parseStsProof, type StsProof, type ProofExpectations } from './proof.js';
export {
  callSts,
  httpStsTransport,
  parseStsResponse,
  MAX_STS_RESPONSE_BYTES,
  type CallerIdentity,
  type StsAnswer,
  type StsTransport,
} from './sts.js';

export interface IdentityConfig {
  /** Normalized origin, no trailing slash, e.g. 'https://sts.us-east-1.amazonaws.com'. */
  stsEndpoint: string;
  /** The region the SigV4 credential scope must name. */
  region: string;
  /** Required X-Lkp-Server-Id value. */
  serverId: string;
  /** Allowed distance of X-Amz-Date from the CA clock; default 300. */
  clockSkewSeconds: number;
  /** 12-digit account ids. */
  allowedAccounts: readonly string[];
  /** Default 3000. */
  stsTimeoutMs?: number;
}

export const DEFAULT_STS_TIMEOUT_MS = 3000;

/**
 * parseStsProof -> callSts -> identityFromArn. Throws LkpError: Unauthenticated for any proof or
 * STS-answer problem (STS 5xx/timeout/connection error -> Internal), Forbidden for root, an
 * unsupported ARN or an account that is not allowed.
 */
export async function verifyIdentity(
  proof: IdentityProof,
  keyFingerprint: string,
  cfg: IdentityConfig,
  now: Date,
  transport?: StsTransport,
): Promise<LkpIdentity> {
  const request = parseStsProof(proof, {
    stsEndpoint: cfg.stsEndpoint,
    region: cfg.region,
    serverId: cfg.serverId,
    keyFingerprint,
    clockSkewSeconds: cfg.clockSkewSeconds,
    now,
  });
  const caller = await callSts(request, cfg.stsTimeoutMs ?? DEFAULT_STS_TIMEOUT_MS, transport);
  return identityFromArn(caller, cfg.allowedAccounts);
}

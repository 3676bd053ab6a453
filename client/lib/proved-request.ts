/**
 * The fields every authenticated request that asks for no certificate carries (Close, Lock, Unlock,
 * Locks, Krl): a proof bound, as every proof must be (DESIGN §3.1), to a throwaway key.
 */
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { IdentityProof, InfoResponse } from '../../src/protocol.js';
import { fetchCaInfo, type CaTarget } from './certificates.js';
import { resolveCredentials } from './credentials.js';
import { generateEd25519 } from './keys.js';
import { buildIdentityProof } from './proof.js';

export interface ProvedFields {
  Identity: IdentityProof;
  PublicKey: string;
}

export async function provedFields(
  ca: CaTarget,
  profile: string | undefined,
  comment: string,
): Promise<ProvedFields> {
  const info = await fetchCaInfo(ca);
  return provedFieldsFor(info, await resolveCredentials(profile ? { profile } : {}), comment);
}

/** The same, for a caller that already holds the CA's Info answer and the credentials. */
export function provedFieldsFor(
  info: InfoResponse,
  credentials: AwsCredentialIdentity,
  comment: string,
): ProvedFields {
  const key = generateEd25519(comment);
  const Identity = buildIdentityProof({
    stsEndpoint: info.StsEndpoint,
    region: info.StsRegion,
    serverId: info.ServerId,
    keyFingerprint: key.fingerprint,
    credentials,
  });
  return { Identity, PublicKey: key.publicKey };
}

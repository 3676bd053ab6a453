/**
 * The fields every authenticated request that asks for no certificate carries (Close, Lock, Unlock,
 * Locks, Krl): a proof bound, as every proof must be (DESIGN §3.1), to a throwaway key.
 */
import type { IdentityProof } from '../../src/protocol.js';
import { fetchCaInfo, type CaTarget } from './certificates.js';
import { resolveCredentials } from './credentials.js';
import { generateEd25519 } from './keys.js';
import { buildIdentityProof } from './proof.js';

export async function provedFields(
  ca: CaTarget,
  profile: string | undefined,
  comment: string,
): Promise<{ Identity: IdentityProof; PublicKey: string }> {
  const info = await fetchCaInfo(ca);
  const key = generateEd25519(comment);
  const Identity = buildIdentityProof({
    stsEndpoint: info.StsEndpoint,
    region: info.StsRegion,
    serverId: info.ServerId,
    keyFingerprint: key.fingerprint,
    credentials: await resolveCredentials(profile ? { profile } : {}),
  });
  return { Identity, PublicKey: key.publicKey };
}

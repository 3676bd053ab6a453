import type { CloseResponse } from '../../src/protocol.js';
import { fetchCaInfo, transportOf, type CaTarget } from './certificates.js';
import { resolveCredentials } from './credentials.js';
import { generateEd25519 } from './keys.js';
import { buildIdentityProof } from './proof.js';

/** Kind Close: the proof binds a throwaway key, as every proof must (DESIGN §3.1). */
export async function closeLeases(ca: CaTarget, profile?: string): Promise<number> {
  const info = await fetchCaInfo(ca);
  const key = generateEd25519('lkp-close');
  const Identity = buildIdentityProof({
    stsEndpoint: info.StsEndpoint,
    region: info.StsRegion,
    serverId: info.ServerId,
    keyFingerprint: key.fingerprint,
    credentials: await resolveCredentials(profile ? { profile } : {}),
  });
  const answer = await transportOf(ca).call<CloseResponse>({
    Kind: 'Close',
    Identity,
    PublicKey: key.publicKey,
  });
  return answer.Closed;
}

import type { CloseResponse } from '../../src/protocol.js';
import { transportOf, type CaTarget } from './certificates.js';
import { provedFields } from './proved-request.js';

/** Kind Close: the caller's own leases only. */
export async function closeLeases(ca: CaTarget, profile?: string): Promise<number> {
  const answer = await transportOf(ca).call<CloseResponse>({
    Kind: 'Close',
    ...(await provedFields(ca, profile, 'lkp-close')),
  });
  return answer.Closed;
}

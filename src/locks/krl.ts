/**
 * Locks → the KRL hosts and clients enforce (DESIGN §8). What a KRL can say: serials and KeyIds of
 * certificates from our CA keys, and key fingerprints. So a Caller lock on an exact ARN revokes
 * certificates with that KeyId (user certificates carry the caller's ARN); an Instance lock revokes
 * the instance's host certificate (KeyId = instance ARN). A Caller pattern cannot be written as a
 * KRL entry: it stops new certificates at the CA only (docs/security.md, "Revocation").
 */
import { encodeKrl } from '../krl/encode.js';
import type { Lock } from './lock.js';

/**
 * `host`: everything the KRL can hold, for sshd's RevokedKeys. `client`: what a client needs to
 * refuse a host (ssh's RevokedHostKeys) — instances, keys, serials — without naming locked people.
 */
export type KrlScope = 'host' | 'client';

export function krlOfLocks(
  locks: readonly Lock[],
  caKeys: readonly Buffer[],
  now: Date,
  scope: KrlScope,
): Buffer {
  const serials: bigint[] = [];
  const keyIds: string[] = [];
  const fingerprints: Buffer[] = [];
  for (const lock of locks) {
    switch (lock.Type) {
      case 'Serial':
        serials.push(BigInt(lock.Value));
        break;
      case 'Key':
        fingerprints.push(Buffer.from(lock.Value.slice('SHA256:'.length), 'base64'));
        break;
      case 'Instance':
        keyIds.push(lock.Value);
        break;
      case 'KeyId':
        if (scope === 'host' || (lock.Value.startsWith('arn:') && lock.Value.includes(':instance/')))
          keyIds.push(lock.Value);
        break;
      case 'Caller':
        if (scope === 'host' && !lock.Value.includes('*')) keyIds.push(lock.Value);
        break;
    }
  }
  const seconds = Math.floor(now.getTime() / 1000);
  return encodeKrl({
    // Each answer is a fresh KRL; the clock makes its version grow as PROTOCOL.krl asks.
    version: BigInt(seconds),
    generatedAt: seconds,
    comment: `lkp ${scope} revocation list`,
    certificates: caKeys.map((caKey) => ({ caKey, serials, keyIds })),
    sha256Fingerprints: fingerprints,
  });
}

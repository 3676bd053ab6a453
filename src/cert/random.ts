/**
 * Random bytes for nonces and serials, drawn from node:crypto's CSPRNG in 4 KiB batches: each
 * randomBytes call costs a few microseconds of fixed overhead, which was 6% of signing a
 * certificate (bench/, docs/performance.md). Every byte is handed out once, as a copy.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

export function pooledRandomBytes(size: number): Buffer {
  if (size > POOL_BYTES) return randomFillSync(Buffer.alloc(size));
  if (used + size > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const out = Buffer.from(pool.subarray(used, used + size));
  // Bytes handed out are zeroed in the pool, so a later reader of the pool never sees them.
  pool.fill(0, used, used + size);
  used += size;
  return out;
}

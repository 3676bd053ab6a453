import { describe, expect, it } from 'vitest';
import { pooledRandomBytes } from '../../../src/cert/random.js';

describe('pooledRandomBytes', () => {
  it('returns independent buffers of the requested size, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const bytes = pooledRandomBytes(32);
      expect(bytes).toHaveLength(32);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(300);
  });

  it('hands out copies: changing one does not change the next', () => {
    const a = pooledRandomBytes(8);
    const copy = Buffer.from(a);
    a.fill(0);
    expect(pooledRandomBytes(8).equals(copy)).toBe(false);
  });

  it('serves sizes larger than the pool', () => {
    expect(pooledRandomBytes(10_000)).toHaveLength(10_000);
  });
});

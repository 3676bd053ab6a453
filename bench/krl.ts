/**
 * KRL (issue 19): the revocation list the CA builds for each `Krl` request (a host agent asks every
 * minute), from N Serial locks, as `src/locks/krl.ts` builds it: size in bytes, the size of the CA's
 * answer that carries it (base64 in JSON), and the time to build it. Serials are random, as the CA
 * issues them (src/cert/certificate.ts), so no two are consecutive and each costs its 8 bytes: the
 * format's floor.
 */
import { generateKeyPairSync } from 'node:crypto';
import { randomSerial } from '../src/cert/index.js';
import type { Lock } from '../src/locks/lock.js';
import { krlOfLocks } from '../src/locks/krl.js';
import { sshPublicKeyBlobFromSpki } from '../src/signer/ssh-signature.js';
import { median } from './stats.js';

export interface KrlFigures {
  serials: number;
  /** The KRL file, as sshd's RevokedKeys reads it. */
  bytes: number;
  /** The CA's `Krl` answer: `{"Krl":"<base64>","GeneratedAt":…}`, what the host agent downloads. */
  answerBytes: number;
  /**
   * Median time of `krlOfLocks` over the runs, after warm-up builds: the CA's work for one Krl
   * request once the locks are read, in a CA that builds KRLs often (the case where it costs).
   */
  generationMs: number;
  runs: number;
}

/** Figures per count, keyed `s<count>` (results.json: krl.s1000, krl.s100000). */
export function benchKrl(opts: {
  serials: readonly number[];
  runs: number;
  warmup: number;
}): Record<string, KrlFigures> {
  const caKey = sshPublicKeyBlobFromSpki(generateKeyPairSync('ed25519').publicKey).blob;
  const out: Record<string, KrlFigures> = {};
  for (const count of opts.serials) {
    const locks = Array.from({ length: count }, (_, i): Lock => serialLock(i));
    const times: number[] = [];
    let krl: Buffer = Buffer.alloc(0);
    for (let run = 0; run < opts.warmup; run++) krlOfLocks(locks, [caKey], new Date(), 'host');
    for (let run = 0; run < opts.runs; run++) {
      // The previous run's garbage is not this run's cost (npm run bench starts node with --expose-gc).
      globalThis.gc?.();
      const started = performance.now();
      krl = krlOfLocks(locks, [caKey], new Date(), 'host');
      times.push(performance.now() - started);
    }
    const answer = JSON.stringify({
      Krl: krl.toString('base64'),
      GeneratedAt: Math.floor(Date.now() / 1000),
    });
    out[`s${count}`] = {
      serials: count,
      bytes: krl.length,
      answerBytes: Buffer.byteLength(answer),
      generationMs: median(times),
      runs: opts.runs,
    };
  }
  return out;
}

function serialLock(i: number): Lock {
  return {
    LockId: `lk-${i.toString(16).padStart(16, '0')}`,
    Type: 'Serial',
    Value: randomSerial().toString(),
    Reason: 'bench',
    CreatedBy: 'arn:aws:iam::111122223333:user/admin',
    CreatedAt: 1_700_000_000,
  };
}

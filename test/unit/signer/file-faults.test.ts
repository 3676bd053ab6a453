/**
 * The file signer never hands out a faulty signature: node:crypto's sign is replaced by one that
 * can be told to corrupt a coming result, the way a hardware fault would.
 */
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parsePublicKey } from '../../../src/cert/keys.js';
import { LkpError } from '../../../src/errors.js';
import { fileSigner } from '../../../src/signer/file.js';
import { verifySshSignature } from '../../../src/signer/ssh-signature.js';
import { rejectionOf } from '../../helpers/rejection.js';
import { makeKeyPair } from '../../helpers/ssh-keygen.js';

/** The number of sign calls from now whose result is corrupted; 0: none. */
const fault = vi.hoisted(() => ({ onCall: 0 }));

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    sign: (algorithm: string | null, data: Uint8Array, key: KeyObject): Buffer => {
      const signature = real.sign(algorithm, data, key);
      if (fault.onCall > 0 && --fault.onCall === 0) {
        signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 1;
      }
      return signature;
    },
  };
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-file-faults-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fileSigner under signing faults', () => {
  // Ed25519 signs twice and compares, so a fault in either computation must be caught.
  it.each([
    ['ed25519', 1],
    ['ed25519', 2],
    ['ecdsa-256', 1],
    ['rsa-2048', 1],
  ] as const)('refuses a %s signature corrupted in sign call %i (Internal)', async (type, onCall) => {
    const pair = makeKeyPair(dir, type, `${type}-${onCall}`);
    const signer = await fileSigner(pair.privatePath);
    const data = Buffer.from('certificate body');

    fault.onCall = onCall;
    const error = await rejectionOf(signer.sign(data), LkpError);
    expect(error.code).toBe('Internal');
    expect(error.message).toMatch(/produced a faulty signature/);
    expect(fault.onCall).toBe(0);

    // The fault was transient: the next signature is sound.
    expect(verifySshSignature(parsePublicKey(pair.publicKey), await signer.sign(data), data)).toBe(true);
  });
});

/**
 * Certificates already issued, per (profile, target ARN, user): reused until 5 minutes before
 * they expire, so `ssh` run in a loop asks the CA once an hour, not once a call. Certificates and
 * CA answers are public data; the files are still written 0600 beside the keys.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificate } from '../../src/cert/index.js';
import type { CertResponse } from '../../src/protocol.js';
import { ensurePrivateDir } from './config.js';

/** Renew this long before ValidBefore, so a login never starts with a certificate about to lapse. */
export const RENEW_MARGIN_SECONDS = 300;

/** A user certificate for `keyFingerprint` that is valid now and for at least the margin. */
export function certificateUsable(certificate: string, keyFingerprint: string, nowSeconds: number): boolean {
  try {
    const cert = parseCertificate(certificate);
    return (
      cert.kind === 'user' &&
      cert.publicKey.fingerprint === keyFingerprint &&
      cert.validAfter <= nowSeconds &&
      cert.validBefore - RENEW_MARGIN_SECONDS > nowSeconds
    );
  } catch {
    return false; // unreadable: ask again
  }
}

export interface CachedCertificate {
  response: CertResponse;
  /** The target's certificate file, for ssh's CertificateFile. */
  certificateFile: string;
  /** One certificate file per jumpbox, in the response's order. */
  jumpboxCertificateFiles: string[];
}

/** A short stable name for a tuple of strings, safe in file names. */
export function fileKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 20);
}

export function certCache(dir: string) {
  const base = (arn: string, user: string) => join(dir, fileKey(arn, user));
  const files = (b: string, response: CertResponse): CachedCertificate => ({
    response,
    certificateFile: `${b}-cert.pub`,
    jumpboxCertificateFiles: (response.Jumpboxes ?? []).map((_, i) => `${b}-jump${i}-cert.pub`),
  });
  return {
    /** The cached answer when its certificate is still usable with this key. */
    read(
      arn: string,
      user: string,
      keyFingerprint: string,
      nowSeconds: number,
    ): CachedCertificate | undefined {
      const b = base(arn, user);
      if (!existsSync(`${b}.json`)) return undefined;
      let response: CertResponse;
      try {
        response = JSON.parse(readFileSync(`${b}.json`, 'utf8')) as CertResponse;
      } catch {
        return undefined;
      }
      const cached = files(b, response);
      const complete = [cached.certificateFile, ...cached.jumpboxCertificateFiles].every((f) =>
        existsSync(f),
      );
      return complete &&
        typeof response.Certificate === 'string' &&
        certificateUsable(response.Certificate, keyFingerprint, nowSeconds)
        ? cached
        : undefined;
    },
    write(arn: string, user: string, response: CertResponse): CachedCertificate {
      ensurePrivateDir(dir);
      const b = base(arn, user);
      const cached = files(b, response);
      writeFileSync(cached.certificateFile, `${response.Certificate}\n`, { mode: 0o600 });
      (response.Jumpboxes ?? []).forEach((j, i) =>
        writeFileSync(cached.jumpboxCertificateFiles[i] ?? '', `${j.Certificate}\n`, { mode: 0o600 }),
      );
      // Last: the answer marks the set complete.
      writeFileSync(`${b}.json`, `${JSON.stringify(response)}\n`, { mode: 0o600 });
      return cached;
    },
  };
}

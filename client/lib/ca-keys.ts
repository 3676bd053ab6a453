/**
 * The CA keys a profile trusts for host certificates (DESIGN §4). They come from the CA's Info
 * answer, which is network input: each value must be exactly one public key line (no newline that
 * would add a known_hosts line of its own, no certificate, no unsupported type), and a key is
 * trusted only when `lkp setup` wrote it and showed its fingerprint, never from a login's answer.
 */
import { parsePublicKey } from '../../src/cert/index.js';
import { CliError, EXIT } from '../errors.js';

export interface CaKey {
  /** `<type> <base64> [comment]`, one line. */
  line: string;
  fingerprint: string;
}

export function checkCaPublicKeys(value: unknown, where: string): CaKey[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new CliError(`the CA at ${where} published no CA keys`, EXIT.unreachable);
  const keys = new Map<string, CaKey>();
  for (const [i, item] of value.entries()) {
    if (typeof item !== 'string')
      throw new CliError(`the CA at ${where} sent CaPublicKeys[${i}] that is not a string`, EXIT.error);
    let fingerprint: string;
    try {
      fingerprint = parsePublicKey(item).fingerprint;
    } catch (e) {
      throw new CliError(
        `the CA at ${where} sent CaPublicKeys[${i}] that is not a single public key: ${(e as Error).message}`,
        EXIT.error,
        'nothing was trusted; check that the URL or function is really your lkp CA',
      );
    }
    // The same key twice (say, with another comment) is trusted once.
    if (!keys.has(fingerprint)) keys.set(fingerprint, { line: item.trim(), fingerprint });
  }
  return [...keys.values()];
}

/** The keys of `keys` that `trusted` (a profile's key lines) does not hold. */
export function untrustedKeys(keys: readonly CaKey[], trusted: readonly string[]): CaKey[] {
  const known = new Set(trusted.map(fingerprintOfLine));
  return keys.filter((k) => !known.has(k.fingerprint));
}

export function fingerprintOfLine(line: string): string | undefined {
  try {
    return parsePublicKey(line).fingerprint;
  } catch {
    return undefined;
  }
}

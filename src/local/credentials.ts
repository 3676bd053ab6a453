import { randomBytes } from 'node:crypto';
import type { SigningCredentials } from './sigv4-verify.js';

/**
 * Long-term credentials for a stand-in: an AKIA… key id of the IAM shape (16 base32 characters)
 * and a random secret. The local stack gives one set to all service stand-ins, as an AWS account
 * would accept one role's keys at every service.
 */
export function localCredentials(): SigningCredentials {
  return { accessKeyId: `AKIA${base32(16)}`, secretAccessKey: randomBytes(30).toString('base64') };
}

export function base32(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(length)].map((b) => alphabet[b % 32]).join('');
}

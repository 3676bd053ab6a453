/**
 * AWS names (IAM user, group, role session, federated user) → POSIX user and group names. The CA's
 * built-in policy, the policy SDK and the CA's Accounts answer (src/accounts/) all use this one function, so the
 * account a host creates for a person is the account the CA lets that person log in to.
 *
 * The convention is aws-ec2-ssh's: `+` → `.plus.`, `=` → `.equal.`, `,` → `.comma.`, `@` → `.at.`
 * (jane.doe@example.com → jane.doe.at.example.com). A name that would then be too long, start
 * with a character POSIX or the CA refuses, or be ambiguous, keeps a readable head and gets a hash
 * of the whole AWS name as suffix instead, so two AWS names never share one account.
 */
import { createHash } from 'node:crypto';
import type { LkpIdentity } from './protocol.js';
import { SSH_USERNAME } from './request.js';

export const POSIX_NAME_MAX = 32;

/** The characters IAM allows in user, group, role session and federated user names. */
const AWS_NAME = /^[A-Za-z0-9_+=,.@-]{1,128}$/;
const SPELLED_OUT: Readonly<Record<string, string>> = {
  '+': '.plus.',
  '=': '.equal.',
  ',': '.comma.',
  '@': '.at.',
};
const TOKENS = Object.values(SPELLED_OUT);
const SEPARATOR = '--';
const HASH_LENGTH = 10; // 50 bits of SHA-256: a second AWS name with the same suffix is out of reach
const HEAD_LENGTH = POSIX_NAME_MAX - SEPARATOR.length - HASH_LENGTH;
/** The shape of a hashed name; a plain name of this shape is hashed too, so the two sets never meet. */
const HASHED = new RegExp(`${SEPARATOR}[a-z2-7]{${HASH_LENGTH}}$`);

/**
 * The POSIX name for an AWS name: matches the CA's SshUsername rule (DESIGN §3.2), at most 32
 * characters, deterministic, and different for different AWS names. Throws RangeError for a string
 * that cannot be an AWS name (callers pass names from verified ARNs or IAM answers).
 */
export function posixName(awsName: string): string {
  if (!AWS_NAME.test(awsName))
    throw new RangeError(`"${awsName}" is not an IAM or session name (letters, digits and _+=,.@- only)`);
  const { name, spans } = spellOut(awsName);
  const plain =
    SSH_USERNAME.test(name) && !HASHED.test(name) && !hasForeignTokens(name, spans) ? name : undefined;
  if (plain !== undefined) return plain;
  const head = (/^[A-Za-z_]/.test(name) ? name : `_${name}`).slice(0, HEAD_LENGTH);
  return `${head}${SEPARATOR}${hashOf(awsName)}`;
}

/**
 * The one account a caller may use under personal accounts: the mapped IAM or federated user name,
 * or the role session name (for IAM Identity Center and SAML roles that is the person's user name).
 * Undefined when the identity has no such name.
 */
export function personalAccountName(who: LkpIdentity): string | undefined {
  const name = who.Type === 'AssumedRole' ? (who.SessionName ?? afterColon(who.Id)) : who.Name;
  if (name === undefined) return undefined;
  try {
    return posixName(name);
  } catch {
    return undefined;
  }
}

const afterColon = (id: string) => (id.includes(':') ? id.slice(id.indexOf(':') + 1) : undefined);

/** Replaces the four characters and records where each spelled-out token was written. */
function spellOut(awsName: string): { name: string; spans: ReadonlySet<number> } {
  let name = '';
  const spans = new Set<number>();
  for (const c of awsName) {
    const token = SPELLED_OUT[c];
    if (token !== undefined) spans.add(name.length);
    name += token ?? c;
  }
  return { name, spans };
}

/**
 * A token that the replacement did not write (an AWS name with a literal `.at.`, or `@at.` next to
 * `.at@`) would let two AWS names share one account: such names are hashed.
 */
function hasForeignTokens(name: string, spans: ReadonlySet<number>): boolean {
  return TOKENS.some((token) => {
    for (let at = name.indexOf(token); at >= 0; at = name.indexOf(token, at + 1))
      if (!spans.has(at)) return true;
    return false;
  });
}

function hashOf(awsName: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = createHash('sha256').update(awsName, 'utf8').digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < HASH_LENGTH) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= 0xff;
    if (out.length === HASH_LENGTH) break;
  }
  return out;
}

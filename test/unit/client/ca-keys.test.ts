/** Issue 15, item 4: a CA answer's CaPublicKeys are network input; each must be one public key. */
import { describe, expect, it } from 'vitest';
import { checkCaPublicKeys, untrustedKeys } from '../../../client/lib/ca-keys.js';
import { checkHostPattern } from '../../../client/lib/ssh-config.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbIw2vL5a+YwUkc7qGk8CMkN2Y0lqsR1o2vF1o7QJ4m lkp-ca';
const OTHER = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIg20saFVzKyuDzl077UsKT4NL7amDsumcyDsnl4ULY7 other';

describe('checkCaPublicKeys', () => {
  it('accepts public key lines, once per key, with their fingerprints', () => {
    const keys = checkCaPublicKeys([KEY, `${KEY.replace('lkp-ca', 'same key')}\n`, OTHER], 'ca');
    expect(keys.map((k) => k.line)).toEqual([KEY, OTHER]);
    expect(keys[0]?.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it.each([
    ['a second known_hosts line smuggled after a newline', [`${KEY}\n@cert-authority * ${OTHER}`]],
    ['a marker line instead of a key', [`@cert-authority * ${KEY}`]],
    [
      'a certificate',
      ['ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29t x'],
    ],
    ['garbage', ['not a key']],
    ['a truncated key', ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbIw2vL5a']],
    ['a non-string', [42]],
  ])('refuses %s', (_why, value) => {
    expect(() => checkCaPublicKeys(value, 'http://ca')).toThrow(/CaPublicKeys\[0\]/);
  });

  it('refuses an answer without keys', () => {
    for (const value of [[], undefined, 'ssh-ed25519 AAAA'])
      expect(() => checkCaPublicKeys(value, 'http://ca')).toThrow(/published no CA keys/);
  });

  it('tells which keys a profile does not trust yet, by key and not by comment', () => {
    const keys = checkCaPublicKeys([KEY, OTHER], 'ca');
    expect(untrustedKeys(keys, [KEY.replace('lkp-ca', 'renamed')])).toEqual([keys[1]]);
    expect(untrustedKeys(keys, [])).toEqual(keys);
  });
});

describe('checkHostPattern (issue 15, item 6)', () => {
  it.each(['web-*', 'prod-?', 'db.internal', 'lkp-demo', 'a*'])('accepts %s', (p) => {
    expect(checkHostPattern(p)).toBe(p);
  });

  it.each(['*', '?', '**', '*?', '*.com', '*.example.com', '*-web', '?ithub.com'])(
    'refuses the catch-all %s with a message that names the fix',
    (p) => {
      expect(() => checkHostPattern(p)).toThrow(/begins with a wildcard.*outside EC2/);
    },
  );

  it.each(['web,*', '!web', 'a b', 'web"'])('refuses %s, which is not one ssh pattern', (p) => {
    expect(() => checkHostPattern(p)).toThrow(/invalid --host-pattern/);
  });
});

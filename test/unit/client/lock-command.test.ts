import { describe, expect, it } from 'vitest';
import { expiryOf, lockSpecOf } from '../../../client/commands/lock.js';
import { CliError } from '../../../client/errors.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');

describe('lkp lock options', () => {
  it('takes exactly one target and a reason', () => {
    expect(lockSpecOf({ serial: ' 1234567890123456789 ', reason: 'leaked' }, NOW)).toEqual({
      Type: 'Serial',
      Value: '1234567890123456789',
      Reason: 'leaked',
    });
    expect(() => lockSpecOf({ reason: 'r' }, NOW)).toThrow(CliError);
    expect(() => lockSpecOf({ caller: 'arn:aws:iam::1:user/a', instance: 'i-1', reason: 'r' }, NOW)).toThrow(
      /exactly one/,
    );
    expect(() => lockSpecOf({ keyId: 'x' }, NOW)).toThrow(/reason/);
  });

  it('reads --expires as a duration or a time', () => {
    const now = NOW / 1000;
    expect(expiryOf('30m', NOW)).toBe(now + 1800);
    expect(expiryOf('12h', NOW)).toBe(now + 43200);
    expect(expiryOf('7d', NOW)).toBe(now + 7 * 86400);
    expect(expiryOf('2026-12-31T00:00:00Z', NOW)).toBe(Date.parse('2026-12-31T00:00:00Z') / 1000);
    expect(() => expiryOf('tomorrow', NOW)).toThrow(CliError);
    expect(() => expiryOf('12', NOW)).toThrow(CliError);
  });
});

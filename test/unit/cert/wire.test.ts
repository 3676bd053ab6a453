import { describe, expect, it } from 'vitest';
import { mpintFromUnsigned, sshString, SshReader, uint32, uint64 } from '../../../src/cert/wire.js';

const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');
const reader = (h: string) => new SshReader(hex(h), (problem) => new Error(problem));

describe('encoders', () => {
  it('write big-endian integers and length-prefixed strings', () => {
    expect(uint32(0x01020304).equals(hex('01020304'))).toBe(true);
    expect(uint64(0xfedcba9876543210n).equals(hex('fedcba9876543210'))).toBe(true);
    expect(sshString('ab').equals(hex('00000002 6162'))).toBe(true);
    expect(sshString(Buffer.alloc(0)).equals(hex('00000000'))).toBe(true);
  });

  it('refuse uint64 values out of range', () => {
    expect(() => uint64(-1n)).toThrow(RangeError);
    expect(() => uint64(1n << 64n)).toThrow(RangeError);
  });

  it.each([
    ['zero', '', '00000000'],
    ['zero with leading zeros', '0000', '00000000'],
    ['a small value', '7f', '00000001 7f'],
    ['the high bit set', '80', '00000002 0080'],
    ['leading zeros then the high bit', '000080ff', '00000003 0080ff'],
    ['leading zeros without the high bit', '00007fff', '00000002 7fff'],
  ])('mpintFromUnsigned: %s', (_name, input, expected) => {
    expect(mpintFromUnsigned(hex(input)).equals(hex(expected))).toBe(true);
  });
});

describe('SshReader', () => {
  it('reads values in order and checks the end', () => {
    const r = reader('00000001 fedcba9876543210 00000002 6869 00000002 0080');
    expect(r.uint32()).toBe(1);
    expect(r.uint64()).toBe(0xfedcba9876543210n);
    expect(r.ascii()).toBe('hi');
    expect(r.unsignedMpint().equals(hex('80'))).toBe(true);
    expect(() => r.end()).not.toThrow();
  });

  it('reports truncation, including a string length past the end', () => {
    expect(() => reader('000000').uint32()).toThrow('data is truncated');
    expect(() => reader('00000005 6869').string()).toThrow('data is truncated');
  });

  it('reports trailing data', () => {
    const r = reader('00000000 00');
    r.string();
    expect(() => r.end()).toThrow('unexpected trailing data');
  });

  it('refuses non-canonical and negative mpints', () => {
    expect(() => reader('00000002 007f').unsignedMpint()).toThrow('unnecessary leading zeros');
    expect(() => reader('00000001 00').unsignedMpint()).toThrow('unnecessary leading zeros');
    expect(() => reader('00000001 80').unsignedMpint()).toThrow('negative');
    expect(reader('00000000').unsignedMpint().length).toBe(0);
  });

  it('refuses non-printable names', () => {
    expect(() => reader('00000002 6100').ascii()).toThrow('non-printable');
    expect(() => reader('00000001 c3').ascii()).toThrow('non-printable');
  });

  it('slices what was read and returns the rest', () => {
    const r = reader('00000001 61 010203');
    r.string();
    expect(r.slice(0).equals(hex('00000001 61'))).toBe(true);
    expect(r.rest().equals(hex('010203'))).toBe(true);
    expect(() => r.end()).not.toThrow();
  });
});

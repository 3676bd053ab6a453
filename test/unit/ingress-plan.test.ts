import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  addressCidr,
  asLeaseRule,
  canonicalCidr,
  leaseDescription,
  ownerOf,
  planClose,
  planLease,
  planSweep,
  type IngressRule,
} from '../../src/ingress/plan.js';

const ALICE = ownerOf('arn:aws:iam::111122223333:user/alice');
const BOB = ownerOf('arn:aws:iam::111122223333:user/bob');
let ids = 0;
const rule = (
  cidr: string,
  port: number,
  description?: string,
  more: Partial<IngressRule> = {},
): IngressRule => ({
  ruleId: `sgr-${String(++ids).padStart(17, '0')}`,
  protocol: 'tcp',
  fromPort: port,
  toPort: port,
  cidr,
  description,
  ...more,
});
const want = (cidr: string, expiry: number, ports = [22], owner = ALICE) => ({ owner, cidr, ports, expiry });

describe('lease markers', () => {
  it('hash the caller ARN to 16 hex digits and carry the expiry in EC2’s description charset', () => {
    const arn = 'arn:aws:sts::111122223333:assumed-role/Dev/alice@example.com';
    const owner = ownerOf(arn);
    expect(owner).toBe(createHash('sha256').update(arn).digest('hex').slice(0, 16));
    const description = leaseDescription(owner, 1_700_000_000);
    expect(description).toBe(`lkp:v1:${owner}:1700000000`);
    expect(description).toMatch(/^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{1,255}$/);
    expect(description).not.toContain('alice');
  });

  it('recognise only single-address tcp single-port rules with a well-formed marker', () => {
    const marker = leaseDescription(ALICE, 100);
    expect(asLeaseRule(rule('203.0.113.7/32', 22, marker))).toMatchObject({ owner: ALICE, expiry: 100 });
    expect(asLeaseRule(rule('2001:DB8::7/128', 22, marker))).toMatchObject({ owner: ALICE });
    expect(asLeaseRule(rule('203.0.113.7/32', 22, 'lkp:v1:shared:100'))).toMatchObject({ owner: 'shared' });
    for (const foreign of [
      rule('203.0.113.7/32', 22, 'office'),
      rule('203.0.113.7/32', 22, undefined),
      rule('203.0.113.0/24', 22, marker),
      rule('2001:db8::/64', 22, marker),
      rule('203.0.113.7/32', 22, marker, { protocol: 'udp' }),
      rule('203.0.113.7/32', 22, marker, { toPort: 23 }),
      rule('203.0.113.7/32', 22, `${marker} `),
      rule('203.0.113.7/32', 22, `lkp:v2:${ALICE}:100`),
      rule('203.0.113.7/32', 22, `lkp:v1:${ALICE.toUpperCase()}:100`),
      rule('203.0.113.7/32', 22, `lkp:v1:${ALICE}:0100`),
      { ...rule('203.0.113.7/32', 22, marker), cidr: undefined },
    ])
      expect(asLeaseRule(foreign), JSON.stringify(foreign)).toBeUndefined();
  });
});

describe('addresses', () => {
  it('are /32 for IPv4 (also when mapped into IPv6) and canonical /128 for IPv6', () => {
    expect(addressCidr('127.0.0.1')).toBe('127.0.0.1/32');
    expect(addressCidr('::ffff:198.51.100.4')).toBe('198.51.100.4/32');
    expect(addressCidr('2001:DB8:0:0::0:1')).toBe('2001:db8::1/128');
    expect(addressCidr('::1')).toBe('::1/128');
  });

  it('are refused when they are not one address', () => {
    for (const bad of ['', 'localhost', '10.0.0.1/8', 'fe80::1%eth0', '1.2.3', '01.2.3.4'])
      expect(addressCidr(bad), bad).toBeUndefined();
  });

  it('compare equal however EC2 spells them', () => {
    expect(canonicalCidr('2001:0DB8::0001/128')).toBe('2001:db8::1/128');
    expect(canonicalCidr('10.0.0.0/08')).toBe('10.0.0.0/8');
    expect(canonicalCidr('10.0.0.0')).toBeUndefined();
  });
});

describe('planLease', () => {
  it('authorizes every port when the group has nothing for the address', () => {
    expect(planLease([], want('198.51.100.4/32', 500, [22, 443]))).toEqual({
      authorize: [22, 443],
      update: [],
      revoke: [],
    });
  });

  it('extends the caller’s own rule instead of duplicating it, and never shortens it', () => {
    const mine = rule('198.51.100.4/32', 22, leaseDescription(ALICE, 300));
    expect(planLease([mine], want('198.51.100.4/32', 500))).toEqual({
      authorize: [],
      update: [{ rule: mine, description: leaseDescription(ALICE, 500) }],
      revoke: [],
    });
    expect(planLease([mine], want('198.51.100.4/32', 200))).toEqual({
      authorize: [],
      update: [],
      revoke: [],
    });
  });

  it('revokes the caller’s rules for another address (the IP moved), not other callers’ or shared ones', () => {
    const old = rule('198.51.100.4/32', 22, leaseDescription(ALICE, 300));
    const oldV6 = rule('2001:db8::4/128', 443, leaseDescription(ALICE, 300));
    const bobs = rule('198.51.100.9/32', 22, leaseDescription(BOB, 300));
    const shared = rule('198.51.100.10/32', 22, 'lkp:v1:shared:300');
    const plan = planLease([old, oldV6, bobs, shared], want('203.0.113.7/32', 500));
    expect(plan.authorize).toEqual([22]);
    expect(plan.revoke).toEqual([old, oldV6]);
  });

  it('keeps the caller’s rule for the same address on another port (another lease may need it)', () => {
    const https = rule('198.51.100.4/32', 443, leaseDescription(ALICE, 300));
    expect(planLease([https], want('198.51.100.4/32', 500, [22])).revoke).toEqual([]);
  });

  it('shares another caller’s rule for the same address and port rather than taking it over', () => {
    const bobs = rule('198.51.100.4/32', 22, leaseDescription(BOB, 900));
    expect(planLease([bobs], want('198.51.100.4/32', 500)).update).toEqual([
      { rule: bobs, description: 'lkp:v1:shared:900' },
    ]);
  });

  it('leaves a rule lkp did not create alone, even when it admits the same address and port', () => {
    const office = rule('198.51.100.4/32', 22, 'office VPN');
    const wide = rule('0.0.0.0/0', 22, undefined);
    expect(planLease([office, wide], want('198.51.100.4/32', 500, [22, 443]))).toEqual({
      authorize: [443],
      update: [],
      revoke: [],
    });
  });

  it('matches IPv6 addresses by value, not spelling', () => {
    const mine = rule('2001:DB8:0::7/128', 22, leaseDescription(ALICE, 300));
    const plan = planLease([mine], want('2001:db8::7/128', 500));
    expect(plan.authorize).toEqual([]);
    expect(plan.revoke).toEqual([]);
    expect(plan.update).toHaveLength(1);
  });
});

describe('planClose and planSweep', () => {
  const mine = rule('198.51.100.4/32', 22, leaseDescription(ALICE, 300));
  const expired = rule('198.51.100.5/32', 22, leaseDescription(BOB, 100));
  const shared = rule('198.51.100.6/32', 22, 'lkp:v1:shared:100');
  const foreign = rule('198.51.100.7/32', 22, 'lkp lease, but not ours: 1');

  it('close takes only the caller’s own rules', () => {
    expect(planClose([mine, expired, shared, foreign], ALICE)).toEqual([mine]);
  });

  it('sweep takes every lkp rule expired at or before now, shared ones included, nothing else', () => {
    expect(planSweep([mine, expired, shared, foreign], 99)).toEqual([]);
    expect(planSweep([mine, expired, shared, foreign], 100)).toEqual([expired, shared]);
    expect(planSweep([mine, expired, shared, foreign], 300)).toEqual([mine, expired, shared]);
  });
});

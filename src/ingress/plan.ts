/**
 * Network access leases, the pure part: which security group rules are lkp's, whose they are, and
 * what to change for an open, a close or a sweep. No table beside the rule: the rule's description
 * is the whole state (docs/access-policy.md, "Network access leases").
 *
 * Description: `lkp:v1:<owner>:<expiry>` — owner is the first 16 hex digits of SHA-256(caller ARN),
 * or `shared` once two callers lease the same address and port (both behind one NAT); expiry is the
 * unix second after which the sweeper revokes it. Only characters EC2 allows in rule descriptions.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

export const SHARED_OWNER = 'shared';
const MARKER = /^lkp:v1:([0-9a-f]{16}|shared):([1-9][0-9]{0,11})$/;

/** An ingress rule as EC2 describes it (only the parts lkp reads). */
export interface IngressRule {
  ruleId: string;
  protocol: string;
  fromPort: number;
  toPort: number;
  /** IPv4 or IPv6 CIDR; undefined for rules that reference a group or prefix list. */
  cidr: string | undefined;
  description: string | undefined;
}

/** A rule lkp created: one address, one tcp port, an lkp marker. */
export interface LeaseRule {
  rule: IngressRule;
  owner: string;
  expiry: number;
}

export interface LeaseWanted {
  owner: string;
  /** Canonical /32 or /128. */
  cidr: string;
  ports: readonly number[];
  expiry: number;
}

export interface LeasePlan {
  /** Ports with no rule for the address yet. */
  authorize: number[];
  /** Existing rules for the address whose description must change (later expiry, or now shared). */
  update: Array<{ rule: IngressRule; description: string }>;
  /** The caller's rules for another address: its IP moved. */
  revoke: IngressRule[];
}

/** Hashed so that the group's rules do not list who uses it; 64 bits keep collisions out of reach. */
export function ownerOf(callerArn: string): string {
  return createHash('sha256').update(callerArn).digest('hex').slice(0, 16);
}

export function leaseDescription(owner: string, expiry: number): string {
  return `lkp:v1:${owner}:${expiry}`;
}

/** The lease a rule carries, or undefined for every rule lkp did not create (never touched). */
export function asLeaseRule(rule: IngressRule): LeaseRule | undefined {
  const m = MARKER.exec(rule.description ?? '');
  const cidr = rule.cidr === undefined ? undefined : canonicalCidr(rule.cidr);
  const single = cidr?.endsWith(cidr.includes(':') ? '/128' : '/32') ?? false;
  if (!m || !single || rule.protocol !== 'tcp' || rule.fromPort !== rule.toPort) return undefined;
  return { rule, owner: m[1] ?? '', expiry: Number(m[2]) };
}

/**
 * The CIDR of one address as the transport observed it: /32 or /128. IPv4-mapped IPv6 (a dual-stack
 * socket's view of an IPv4 client) is the IPv4 address. Undefined for anything that is not an address.
 */
export function addressCidr(sourceIp: string): string | undefined {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(sourceIp)?.[1];
  const ip = mapped ?? sourceIp;
  if (isIPv4(ip)) return `${ip}/32`;
  if (isIPv6(ip) && !ip.includes('%')) return `${canonicalIpv6(ip)}/128`;
  return undefined;
}

/** One spelling per network, so EC2's and ours compare equal (IPv6: lower case, compressed). */
export function canonicalCidr(cidr: string): string | undefined {
  const [address = '', prefix, extra] = cidr.split('/');
  if (prefix === undefined || extra !== undefined || !/^\d{1,3}$/.test(prefix)) return undefined;
  if (isIPv4(address)) return `${address}/${Number(prefix)}`;
  if (isIPv6(address) && !address.includes('%')) return `${canonicalIpv6(address)}/${Number(prefix)}`;
  return undefined;
}

const canonicalIpv6 = (address: string) => new URL(`http://[${address}]/`).hostname.slice(1, -1);

/**
 * Open or extend: one rule per (address, port). A rule that already admits the address on that
 * port is kept: lkp's own is extended (never shortened: another certificate may need it longer),
 * another caller's becomes shared (neither's move or close may cut the other off), anyone else's is
 * left alone. The caller's rules for other addresses are revoked: their IP moved.
 */
export function planLease(rules: readonly IngressRule[], want: LeaseWanted): LeasePlan {
  const plan: LeasePlan = { authorize: [], update: [], revoke: [] };
  for (const port of want.ports) {
    const existing = rules.find(
      (r) =>
        r.protocol === 'tcp' &&
        r.fromPort === port &&
        r.toPort === port &&
        r.cidr !== undefined &&
        canonicalCidr(r.cidr) === want.cidr,
    );
    if (existing === undefined) {
      plan.authorize.push(port);
      continue;
    }
    const lease = asLeaseRule(existing);
    if (lease === undefined) continue;
    const owner = lease.owner === want.owner ? want.owner : SHARED_OWNER;
    const expiry = Math.max(lease.expiry, want.expiry);
    if (owner !== lease.owner || expiry !== lease.expiry)
      plan.update.push({ rule: existing, description: leaseDescription(owner, expiry) });
  }
  plan.revoke = callersRules(rules, want.owner)
    .filter((l) => canonicalCidr(l.rule.cidr ?? '') !== want.cidr)
    .map((l) => l.rule);
  return plan;
}

/** `lkp close`: every rule the caller owns alone (shared ones stay until they expire). */
export function planClose(rules: readonly IngressRule[], owner: string): IngressRule[] {
  return callersRules(rules, owner).map((l) => l.rule);
}

/** The sweeper: every lkp rule whose expiry has passed. */
export function planSweep(rules: readonly IngressRule[], nowSeconds: number): IngressRule[] {
  return rules.flatMap((r) => {
    const lease = asLeaseRule(r);
    return lease !== undefined && lease.expiry <= nowSeconds ? [r] : [];
  });
}

function callersRules(rules: readonly IngressRule[], owner: string): LeaseRule[] {
  return rules.flatMap((r) => {
    const lease = asLeaseRule(r);
    return lease?.owner === owner ? [lease] : [];
  });
}

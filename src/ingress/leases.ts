/**
 * Network access leases: open a security group to the caller's observed address until the
 * certificate expires, revoke the caller's leases, sweep expired ones. Stateless: every decision
 * is made from the group's rules as EC2 describes them now (src/ingress/plan.ts).
 */
import type { Ec2QueryClient } from '../aws/ec2-query.js';
import type { IngressGrant } from '../authorize/grant.js';
import { forbidden, internal, policyError } from '../errors.js';
import { defaultEc2Client, ec2SecurityGroupRules, RuleConflict, type SecurityGroupRules } from './ec2.js';
import {
  addressCidr,
  leaseDescription,
  ownerOf,
  planClose,
  planLease,
  planSweep,
  type LeasePlan,
} from './plan.js';

export interface LeaseRequest {
  ingress: IngressGrant;
  callerArn: string;
  /** The address the transport observed (RequestMeta.sourceIp); never a client-supplied value. */
  sourceIp: string | undefined;
  transport: string;
  /** The certificate's ValidBefore (unix s): the lease ends with it. */
  validBefore: number;
}

export interface LeaseResult {
  securityGroupId: string;
  /** The caller's address as /32 or /128. */
  cidr: string;
  ports: number[];
  protocol: 'tcp';
  /** Unix seconds; the sweeper revokes the rules after it. */
  until: number;
  /** Earlier rules of the caller for another address, revoked by this call. */
  revoked: number;
}

export interface LeaseManager {
  open(o: LeaseRequest): Promise<LeaseResult>;
  /** Revokes every rule the caller owns alone in the configured groups; returns how many. */
  close(callerArn: string): Promise<number>;
  /** Revokes every lkp rule in the configured groups whose expiry is at or before `now`. */
  sweep(now: Date): Promise<number>;
}

/**
 * Transports that observe the caller's address themselves: a Function URL (Lambda's request
 * context) and `lkp-ca serve` (the socket). A direct Invoke carries no address, so no lease.
 */
const OBSERVING_TRANSPORTS = new Set(['function-url', 'http']);
/** Each attempt re-reads the group; a conflict means a concurrent request changed it in between. */
const MAX_ATTEMPTS = 4;

export function ec2LeaseManager(opts: {
  /** LKP_INGRESS_GROUPS: the only groups a policy may name, and the ones close and sweep visit. */
  allowedGroups: readonly string[];
  /** LKP_INGRESS_DEFAULT_PORTS, for a policy that names no ports. */
  defaultPorts: readonly number[];
  client?: Ec2QueryClient;
  /** For tests: the EC2 calls themselves. */
  rules?: SecurityGroupRules;
}): LeaseManager {
  const api = opts.rules ?? ec2SecurityGroupRules(opts.client ?? defaultEc2Client());
  const allowed = new Set(opts.allowedGroups);

  return {
    async open(o) {
      // The address must be one AWS (or our socket) saw: a lease for a client-supplied address
      // would let anyone with a certificate open the group to anyone.
      if (!OBSERVING_TRANSPORTS.has(o.transport) || o.sourceIp === undefined)
        throw forbidden(
          "this policy requires a network lease, which needs the caller's address: call the CA through its Function URL",
        );
      const group = o.ingress.securityGroupId;
      // The policy may only name groups the CA's configuration (and role) allow.
      if (!allowed.has(group))
        throw policyError(
          `policy answer: Ingress.SecurityGroupId ${group} is not one of the CA's LKP_INGRESS_GROUPS`,
        );
      const cidr = addressCidr(o.sourceIp);
      if (cidr === undefined)
        throw internal(`the ${o.transport} transport reported no usable source address`);
      const ports = [...(o.ingress.ports ?? opts.defaultPorts)];
      const want = { owner: ownerOf(o.callerArn), cidr, ports, expiry: o.validBefore };

      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const plan = planLease(await api.describe(group), want);
        try {
          if (plan.authorize.length > 0)
            await api.authorize(group, cidr, plan.authorize, leaseDescription(want.owner, want.expiry));
          for (const { rule, description } of plan.update) await api.setDescription(group, rule, description);
        } catch (e) {
          // Duplicate: a concurrent request for the same address authorized first; gone: a sweep or
          // move removed the rule we meant to extend. Either way: look again and converge.
          if (e instanceof RuleConflict) continue;
          throw e;
        }
        const revoked = await api.revoke(group, plan.revoke);
        // A sweep that read the group before our extension may have revoked the rule since: only
        // what the group holds now counts.
        if (!isCovered(planLease(await api.describe(group), want))) continue;
        return { securityGroupId: group, cidr, ports, protocol: 'tcp', until: want.expiry, revoked };
      }
      throw internal(
        `could not open network access in ${group}: its rules kept changing under concurrent requests; try again`,
      );
    },

    async close(callerArn) {
      const owner = ownerOf(callerArn);
      return eachGroup(allowed, async (group) =>
        api.revoke(group, planClose(await api.describe(group), owner)),
      );
    },

    async sweep(now) {
      const seconds = Math.floor(now.getTime() / 1000);
      return eachGroup(allowed, async (group) =>
        api.revoke(group, planSweep(await api.describe(group), seconds)),
      );
    },
  };
}

const isCovered = (plan: LeasePlan) => plan.authorize.length === 0 && plan.update.length === 0;

/** Every group is visited even when one fails (a deleted group must not stop the others' sweep). */
async function eachGroup(
  groups: Iterable<string>,
  revoke: (group: string) => Promise<number>,
): Promise<number> {
  let revoked = 0;
  let failure: unknown;
  for (const group of groups) {
    try {
      revoked += await revoke(group);
    } catch (e) {
      failure ??= e;
    }
  }
  if (failure !== undefined) throw failure;
  return revoked;
}

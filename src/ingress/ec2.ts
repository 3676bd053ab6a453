/**
 * The security group calls of network leases: the only module that calls
 * DescribeSecurityGroupRules, AuthorizeSecurityGroupIngress, ModifySecurityGroupRules and
 * RevokeSecurityGroupIngress. The client honours AWS_ENDPOINT_URL_EC2 (local stack, DESIGN §6).
 */
import { Ec2Error, ec2QueryClient, type Ec2QueryClient, type QueryParams } from '../aws/ec2-query.js';
import { internal } from '../errors.js';
import { childElement, childText } from '../xml.js';
import type { IngressRule } from './plan.js';

/** The rule is there already (another request won the race) or gone (swept, revoked, moved). */
export class RuleConflict extends Error {
  override readonly name = 'RuleConflict';
}

export interface SecurityGroupRules {
  describe(groupId: string): Promise<IngressRule[]>;
  /** One rule per port for the CIDR; RuleConflict when one of them exists already. */
  authorize(groupId: string, cidr: string, ports: readonly number[], description: string): Promise<void>;
  /** RuleConflict when the rule no longer exists. */
  setDescription(groupId: string, rule: IngressRule, description: string): Promise<void>;
  /** Rules already gone count as revoked. Returns how many this call removed. */
  revoke(groupId: string, rules: readonly IngressRule[]): Promise<number>;
}

const DUPLICATE = 'InvalidPermission.Duplicate';
const GONE = new Set(['InvalidSecurityGroupRuleId.NotFound', 'InvalidPermission.NotFound']);
const PAGE_SIZE = 1000;

/**
 * The CA's own region (AWS_REGION, set by Lambda and required by the CA's configuration).
 * Bounded by the client's defaults (3 s per attempt, 1 s to connect, 2 attempts): a hung EC2
 * connection must not hold a certificate request until the Lambda timeout.
 */
export const defaultEc2Client = () => ec2QueryClient({ region: process.env['AWS_REGION'] ?? '' });

export function ec2SecurityGroupRules(client: Ec2QueryClient): SecurityGroupRules {
  const call = async (action: string, groupId: string, params: QueryParams) => {
    try {
      return await client.call(action, params);
    } catch (e) {
      if (e instanceof Ec2Error && (e.code === DUPLICATE || GONE.has(e.code))) throw new RuleConflict(e.code);
      throw callFailed(action, groupId, e);
    }
  };

  return {
    async describe(groupId) {
      const rules: IngressRule[] = [];
      let token: string | undefined;
      do {
        const page = await call('DescribeSecurityGroupRules', groupId, {
          Filter: [{ Name: 'group-id', Value: [groupId] }],
          MaxResults: PAGE_SIZE,
          NextToken: token,
        });
        const found = childElement(page, 'securityGroupRuleSet')?.children ?? [];
        for (const r of found.filter((c) => c.name === 'item')) {
          const ruleId = childText(r, 'securityGroupRuleId');
          if (
            childText(r, 'isEgress') !== 'false' ||
            childText(r, 'groupId') !== groupId ||
            ruleId === undefined
          )
            continue;
          rules.push({
            ruleId,
            protocol: childText(r, 'ipProtocol') ?? '',
            fromPort: port(childText(r, 'fromPort')),
            toPort: port(childText(r, 'toPort')),
            cidr: childText(r, 'cidrIpv4') ?? childText(r, 'cidrIpv6'),
            description: childText(r, 'description'),
          });
        }
        token = childText(page, 'nextToken') || undefined;
      } while (token !== undefined);
      return rules;
    },

    async authorize(groupId, cidr, ports, description) {
      const range = cidr.includes(':')
        ? { Ipv6Ranges: [{ CidrIpv6: cidr, Description: description }] }
        : { IpRanges: [{ CidrIp: cidr, Description: description }] };
      const permissions = ports.map((port) => ({
        IpProtocol: 'tcp',
        FromPort: port,
        ToPort: port,
        ...range,
      }));
      await call('AuthorizeSecurityGroupIngress', groupId, { GroupId: groupId, IpPermissions: permissions });
    },

    async setDescription(groupId, rule, description) {
      const cidr = rule.cidr ?? '';
      await call('ModifySecurityGroupRules', groupId, {
        GroupId: groupId,
        SecurityGroupRule: [
          {
            SecurityGroupRuleId: rule.ruleId,
            // The whole rule, unchanged but for its description: EC2 replaces what it is given.
            SecurityGroupRule: {
              IpProtocol: rule.protocol,
              FromPort: rule.fromPort,
              ToPort: rule.toPort,
              ...(cidr.includes(':') ? { CidrIpv6: cidr } : { CidrIpv4: cidr }),
              Description: description,
            },
          },
        ],
      });
    },

    async revoke(groupId, rules) {
      if (rules.length === 0) return 0;
      const send = (ids: string[]) =>
        call('RevokeSecurityGroupIngress', groupId, { GroupId: groupId, SecurityGroupRuleId: ids });
      try {
        await send(rules.map((r) => r.ruleId));
        return rules.length;
      } catch (e) {
        if (!(e instanceof RuleConflict)) throw e;
      }
      // One of them went in the meantime (a concurrent sweep or move) and EC2 refused the batch: one by one.
      let revoked = 0;
      for (const rule of rules) {
        try {
          await send([rule.ruleId]);
          revoked += 1;
        } catch (e) {
          if (!(e instanceof RuleConflict)) throw e;
        }
      }
      return revoked;
    },
  };
}

/** EC2 leaves out the ports of an all-protocols rule; -1 stands for them, as in EC2. */
const port = (text: string | undefined) => (text === undefined ? -1 : Number(text));

/**
 * Internal: the CA cannot open what the policy asked for, so it denies (DESIGN §5). The message
 * names the call and EC2's error code, never its text (UnauthorizedOperation carries an encoded policy).
 */
function callFailed(what: string, groupId: string, e: unknown) {
  const code = e instanceof Ec2Error ? e.code : 'no answer';
  const hint =
    code === 'InvalidGroup.NotFound'
      ? `; security group ${groupId} does not exist in the CA's region`
      : code === 'RulesPerSecurityGroupLimitExceeded'
        ? `; security group ${groupId} has no room for more rules`
        : `; the role needs ec2:${what} on ${groupId} and a route to the EC2 endpoint`;
  return internal(`could not change network access (EC2 ${what}: ${code})${hint}`, e);
}

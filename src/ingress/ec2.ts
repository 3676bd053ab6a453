/**
 * The security group calls of network leases: the only module that calls
 * DescribeSecurityGroupRules, AuthorizeSecurityGroupIngress, ModifySecurityGroupRules and
 * RevokeSecurityGroupIngress. The SDK honours AWS_ENDPOINT_URL_EC2 (local stack, DESIGN §6).
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  EC2ServiceException,
  ModifySecurityGroupRulesCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { internal } from '../errors.js';
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

// Bounded: a hung EC2 connection must not hold a certificate request until the Lambda timeout.
export const defaultEc2Client = () =>
  new EC2Client({ maxAttempts: 2, requestHandler: { requestTimeout: 3000, connectionTimeout: 1000 } });

export function ec2SecurityGroupRules(client: EC2Client): SecurityGroupRules {
  const call = async <T>(what: string, groupId: string, send: () => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (e) {
      if (e instanceof EC2ServiceException && (e.name === DUPLICATE || GONE.has(e.name)))
        throw new RuleConflict(e.name);
      throw callFailed(what, groupId, e);
    }
  };

  return {
    async describe(groupId) {
      const rules: IngressRule[] = [];
      let token: string | undefined;
      do {
        const page = await call('DescribeSecurityGroupRules', groupId, () =>
          client.send(
            new DescribeSecurityGroupRulesCommand({
              Filters: [{ Name: 'group-id', Values: [groupId] }],
              MaxResults: PAGE_SIZE,
              ...(token !== undefined ? { NextToken: token } : {}),
            }),
          ),
        );
        for (const r of page.SecurityGroupRules ?? []) {
          if (r.IsEgress !== false || r.GroupId !== groupId || r.SecurityGroupRuleId === undefined) continue;
          rules.push({
            ruleId: r.SecurityGroupRuleId,
            protocol: r.IpProtocol ?? '',
            fromPort: r.FromPort ?? -1,
            toPort: r.ToPort ?? -1,
            cidr: r.CidrIpv4 ?? r.CidrIpv6,
            description: r.Description,
          });
        }
        token = page.NextToken || undefined;
      } while (token !== undefined);
      return rules;
    },

    async authorize(groupId, cidr, ports, description) {
      const range = cidr.includes(':')
        ? { Ipv6Ranges: [{ CidrIpv6: cidr, Description: description }] }
        : { IpRanges: [{ CidrIp: cidr, Description: description }] };
      const permissions: IpPermission[] = ports.map((port) => ({
        IpProtocol: 'tcp',
        FromPort: port,
        ToPort: port,
        ...range,
      }));
      await call('AuthorizeSecurityGroupIngress', groupId, () =>
        client.send(
          new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissions }),
        ),
      );
    },

    async setDescription(groupId, rule, description) {
      const cidr = rule.cidr ?? '';
      await call('ModifySecurityGroupRules', groupId, () =>
        client.send(
          new ModifySecurityGroupRulesCommand({
            GroupId: groupId,
            SecurityGroupRules: [
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
          }),
        ),
      );
    },

    async revoke(groupId, rules) {
      if (rules.length === 0) return 0;
      const send = (ids: string[]) =>
        call('RevokeSecurityGroupIngress', groupId, () =>
          client.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: ids })),
        );
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

/**
 * Internal: the CA cannot open what the policy asked for, so it denies (DESIGN §5). The message
 * names the call and EC2's error code, never its text (UnauthorizedOperation carries an encoded policy).
 */
function callFailed(what: string, groupId: string, e: unknown) {
  const code =
    e instanceof EC2ServiceException && /^[A-Za-z][A-Za-z0-9.]{0,63}$/.test(e.name) ? e.name : 'no answer';
  const hint =
    code === 'InvalidGroup.NotFound'
      ? `; security group ${groupId} does not exist in the CA's region`
      : code === 'RulesPerSecurityGroupLimitExceeded'
        ? `; security group ${groupId} has no room for more rules`
        : `; the role needs ec2:${what} on ${groupId} and a route to the EC2 endpoint`;
  return internal(`could not change network access (EC2 ${what}: ${code})${hint}`, e);
}

/**
 * Two people must vouch: a login to a sensitive instance needs vouchers from at least two other
 * identities for this caller, with Context = the instance ARN. Other instances are open to every
 * caller the CA accepts. The CA verifies vouchers before the policy sees them.
 *
 *   LKP_SENSITIVE_ARN_PREFIXES=arn:aws:ec2:us-east-1:111122223333:instance/i-0abc,arn:aws:ec2:eu-west-1:111122223333:
 *   LKP_MIN_VOUCHERS=2   (default)
 *
 * Prefixes match at ARN boundaries (see instanceArnStartsWith). Sensitivity is a prefix list for now;
 * ec2-tags.ts shows how to read a tag instead.
 */
import { instanceArnStartsWith, vouchersFor } from '../sdk/checks.js';
import { allowInstanceOwnSession, definePolicy, deny, type PolicyHandler } from '../sdk/define-policy.js';
import { fromEnv, listFromEnv, positiveIntegerFromEnv, type Env } from './lib/env.js';

export interface TwoPersonConfig {
  sensitivePrefixes: string[];
  minimumVouchers: number;
}

export function twoPersonPolicy(config: TwoPersonConfig): PolicyHandler {
  return definePolicy({
    user: (req) => {
      if (!config.sensitivePrefixes.some((prefix) => instanceArnStartsWith(req, prefix)))
        return { Authorized: true };
      const { count, satisfied, vouchers } = vouchersFor(req, { minimum: config.minimumVouchers });
      if (!satisfied)
        return deny(`${req.RemoteInstanceArn} is sensitive: ${count} of ${config.minimumVouchers} vouchers`);
      console.info(JSON.stringify({ lkpPolicy: 'allow', vouchers }));
      return { Authorized: true };
    },
    host: allowInstanceOwnSession,
  });
}

export function twoPersonConfig(env: Env): TwoPersonConfig {
  return {
    sensitivePrefixes: listFromEnv(
      env,
      'LKP_SENSITIVE_ARN_PREFIXES',
      'arn:aws:ec2:us-east-1:111122223333:instance/i-0abc',
    ),
    minimumVouchers: positiveIntegerFromEnv(env, 'LKP_MIN_VOUCHERS', 2),
  };
}

export const handler = fromEnv((env) => twoPersonPolicy(twoPersonConfig(env)));

/**
 * Work hours: callers from the configured accounts may log in only during the configured UTC hours.
 *
 *   LKP_POLICY_ACCOUNTS=111122223333,444455556666   who may log in
 *   LKP_WORK_HOURS=08-18                            08:00–17:59 UTC; 22-06 wraps midnight
 *
 * Hosts get their certificates at any hour, from their own role session (the CA insists on that anyway).
 */
import { inAccount, withinUtcHours } from '../sdk/checks.js';
import { allowInstanceOwnSession, definePolicy, deny, type PolicyHandler } from '../sdk/define-policy.js';
import { accountsFromEnv, fromEnv, hoursFromEnv, type Env } from './lib/env.js';

export interface WorkHoursConfig {
  accounts: string[];
  hours: { from: number; to: number };
  now?: () => Date;
}

export function workHoursPolicy(config: WorkHoursConfig): PolicyHandler {
  const now = config.now ?? (() => new Date());
  const { from, to } = config.hours;
  return definePolicy({
    user: (req) => {
      if (!inAccount(req, ...config.accounts)) return deny(`account ${req.From.Account} is not allowed`);
      if (!withinUtcHours(now(), from, to)) return deny(`outside work hours (${from}:00-${to}:00 UTC)`);
      return { Authorized: true };
    },
    host: allowInstanceOwnSession,
  });
}

export function workHoursConfig(env: Env): WorkHoursConfig {
  return {
    accounts: accountsFromEnv(env, 'LKP_POLICY_ACCOUNTS'),
    hours: hoursFromEnv(env, 'LKP_WORK_HOURS'),
  };
}

export const handler = fromEnv((env) => workHoursPolicy(workHoursConfig(env)));

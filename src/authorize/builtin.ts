/**
 * The built-in policy used when no AUTHORIZATION_LAMBDA is configured (DESIGN §3.4): it grants only
 * what the deployer named in LKP_ALLOW (which identities, which logins; src/authorize/allow.ts),
 * for instances in the allowed accounts, with the default principals. Nothing named, nothing granted.
 */
import { offeredGrant } from '../accounts/policy-answer.js';
import { forbidden } from '../errors.js';
import { personalAccountName } from '../posix-name.js';
import { INSTANCE_ARN } from '../request.js';
import { type AllowRule, allowingRules, globMatch, identityNamed, isInstanceRoleSession } from './allow.js';
import { DEFAULT_USER_EXTENSIONS, defaultUserPrincipal, type Grant } from './grant.js';
import type { Policy } from './policy.js';

export interface BuiltinPolicyOptions {
  allowedAccounts: readonly string[];
  /** LKP_ALLOW; empty: no user certificate for anyone. */
  allow: readonly AllowRule[];
  /** LKP_PERSONAL_ACCOUNTS: a caller may log in only as posixName(own user or role session name). */
  personalAccounts?: boolean;
  /** LKP_ADMINS: ARN patterns of the callers allowed admin actions (Lock, Unlock, Locks); none → nobody. */
  admins?: readonly string[];
}

export function builtinPolicy(opts: BuiltinPolicyOptions): Policy {
  const { allowedAccounts, allow } = opts;
  return {
    name: 'built-in',
    async authorizeUser(req): Promise<Grant> {
      const account = INSTANCE_ARN.exec(req.RemoteInstanceArn)?.[3];
      // Identity already checked the caller's account; the target must be one of ours too.
      if (account === undefined || !allowedAccounts.includes(account))
        throw forbidden(
          `instance ${req.RemoteInstanceArn} is in account ${account ?? '?'}, which this CA does not serve (allowed: ${allowedAccounts.join(', ')})`,
        );
      if (allow.length === 0)
        throw forbidden(
          'this CA grants no logins yet: its deployer has named no identities (LKP_ALLOW) and no policy function (AUTHORIZATION_LAMBDA)',
        );
      if (allowingRules(allow, req.From, req.SshUsername).length === 0)
        throw forbidden(denial(allow, req.From, req.SshUsername));
      if (opts.personalAccounts) {
        // Personal accounts (docs/access-policy.md): each person reaches only the account the host
        // created for them, so logs and files name who did what.
        const own = personalAccountName(req.From);
        if (req.SshUsername !== own)
          throw forbidden(
            own === undefined
              ? `${req.From.Arn} has no personal account name; this CA allows personal accounts only`
              : `this CA allows personal accounts only: log in as ${own}, not ${req.SshUsername}`,
          );
      }
      return {
        principals: [defaultUserPrincipal(req.SshUsername, req.RemoteInstanceArn)],
        criticalOptions: {},
        extensions: [...DEFAULT_USER_EXTENSIONS],
      };
    },
    async authorizeAdmin(req): Promise<void> {
      // DESIGN §8: admin actions only for identities the deployer named; nobody when none were.
      const admins = opts.admins ?? [];
      if (!admins.some((pattern) => globMatch(pattern, req.From.Arn)))
        throw forbidden(
          admins.length === 0
            ? `this CA names no admins (LKP_ADMINS), so nobody may ${req.Action.toLowerCase()}`
            : `${req.From.Arn} is not an lkp admin (LKP_ADMINS)`,
        );
    },
    async authorizeHost(req): Promise<Grant> {
      // Requested names are signed only once the CA can confirm them against EC2 (DESIGN §3.4);
      // until then a host certificate names the instance ARN alone. A host certificate opens no
      // login, so it needs no LKP_ALLOW rule: the CA's own checks (the instance's role session) decide.
      return { principals: [req.HostInstanceArn], criticalOptions: {}, extensions: [] };
    },
    async authorizeAccounts(req) {
      // The deployer named the IAM groups (LKP_ACCOUNT_GROUPS, LKP_SUDO_GROUPS): that is the decision.
      return offeredGrant(req);
    },
  };
}

/** Says which part failed — the identity or the login — without listing the rules themselves. */
function denial(
  allow: readonly AllowRule[],
  who: Parameters<typeof identityNamed>[1],
  login: string,
): string {
  if (!identityNamed(allow, who))
    return isInstanceRoleSession(who)
      ? `${who.Arn} is an instance's role session: LKP_ALLOW names it only with a pattern ending in /i-…`
      : `${who.Arn} is not named in this CA's LKP_ALLOW`;
  return login === 'root'
    ? `${who.Arn} may not log in as root: LKP_ALLOW grants root only where a rule lists root`
    : `${who.Arn} may not log in as ${login} (LKP_ALLOW)`;
}

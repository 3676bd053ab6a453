/**
 * The built-in policy used when no AUTHORIZATION_LAMBDA is configured (DESIGN §3.4): callers from
 * the allowed accounts may reach instances in the allowed accounts, with the default principals.
 */
import { offeredGrant } from '../accounts/policy-answer.js';
import { forbidden } from '../errors.js';
import { personalAccountName } from '../posix-name.js';
import { INSTANCE_ARN } from '../request.js';
import { DEFAULT_USER_EXTENSIONS, defaultUserPrincipal, type Grant } from './grant.js';
import type { Policy } from './policy.js';

export interface BuiltinPolicyOptions {
  /** LKP_PERSONAL_ACCOUNTS: a caller may log in only as posixName(own user or role session name). */
  personalAccounts?: boolean;
}

export function builtinPolicy(allowedAccounts: readonly string[], opts: BuiltinPolicyOptions = {}): Policy {
  return {
    name: 'built-in',
    async authorizeUser(req): Promise<Grant> {
      const account = INSTANCE_ARN.exec(req.RemoteInstanceArn)?.[3];
      // Identity already checked the caller's account; the target must be one of ours too.
      if (account === undefined || !allowedAccounts.includes(account))
        throw forbidden(
          `instance ${req.RemoteInstanceArn} is in account ${account ?? '?'}, which this CA does not serve (allowed: ${allowedAccounts.join(', ')})`,
        );
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
    async authorizeHost(req): Promise<Grant> {
      // Requested names are signed only once the CA can confirm them against EC2 (DESIGN §3.4);
      // until then a host certificate names the instance ARN alone.
      return { principals: [req.HostInstanceArn], criticalOptions: {}, extensions: [] };
    },
    async authorizeAccounts(req) {
      // The deployer named the IAM groups (LKP_ACCOUNT_GROUPS, LKP_SUDO_GROUPS): that is the decision.
      return offeredGrant(req);
    },
  };
}

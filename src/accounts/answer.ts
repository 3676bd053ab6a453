/**
 * The Accounts request (docs/architecture.md, "Unix accounts"): an instance, proved like for a host
 * certificate (DESIGN §3.4 host-caller rules), learns which unix accounts it should have. The CA
 * reads the configured IAM groups with its own role, the policy may narrow the offer, and the answer
 * is flat lists of POSIX names that the host agent (host/lib/accounts.sh) applies.
 */
import type { AuditRecord } from '../audit.js';
import { checkHostIdentity } from '../authorize/host-caller.js';
import type { CaDeps } from '../ca.js';
import { parsePublicKey } from '../cert/index.js';
import { badRequest } from '../errors.js';
import type { AccountsRequest, AccountsResponse, LkpAccount } from '../protocol.js';
import type { AccountsConfig } from './config.js';
import { desiredAccounts, type Desired } from './desired.js';
import type { AccountsGrant } from './policy-answer.js';

export async function answerAccounts(
  req: AccountsRequest,
  deps: CaDeps,
  record: AuditRecord,
  now: Date,
): Promise<AccountsResponse> {
  record.target = req.HostInstanceArn;
  const config = deps.config.accounts;
  if (config === undefined || deps.groupMembers === undefined)
    throw badRequest('this CA manages no unix accounts: LKP_ACCOUNT_GROUPS and LKP_SUDO_GROUPS are unset');
  const publicKey = parsePublicKey(req.PublicKey);
  record.keyFingerprint = publicKey.fingerprint;
  const who = await deps.verifyIdentity(req.Identity, publicKey.fingerprint, now);
  record.caller = who.Arn;
  // Only the instance itself may learn (and so shape) its accounts, like its host certificate.
  await checkHostIdentity(who, req.HostInstanceArn, deps.instances);

  const members = await deps.groupMembers([...config.iamGroups, ...config.sudoGroups]);
  const desired = desiredAccounts(members, config);
  if (desired.warnings.length > 0) record.detail = { warnings: desired.warnings.join('; ') };
  record.policy = deps.policy.name;
  const grant = await deps.policy.authorizeAccounts({
    Kind: 'LkpAccountsAuthorizationRequest',
    From: who,
    HostInstanceArn: req.HostInstanceArn,
    Accounts: offer(desired),
  });
  const response = accountsResponse(desired, grant, config);
  record.accounts = response.Users;
  record.sudo = response.Sudo;
  return response;
}

function offer(desired: Desired): LkpAccount[] {
  return [...desired.users]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([user, want]) => ({
      User: user,
      IamUser: want.iamUser,
      Groups: [...want.groups],
      Sudo: want.sudo,
    }));
}

/** The wire answer, keys in their documented order: hosts compare it with their own rendering. */
export function accountsResponse(
  desired: Desired,
  grant: AccountsGrant,
  config: Pick<AccountsConfig, 'removed'>,
): AccountsResponse {
  const members = grant.users.flatMap((user) =>
    (desired.users.get(user)?.groups ?? []).map((group) => `${group}:${user}`),
  );
  return {
    Kind: 'Accounts',
    Users: [...grant.users],
    Sudo: [...grant.sudo],
    Groups: [...desired.groups],
    Members: members.sort(),
    Removed: config.removed,
  };
}

/**
 * DESIGN §3.4: a host certificate request must come from that instance's own role session
 * (`assumed-role/<role>/<instance-id>`, the session EC2 gives an instance profile), whatever
 * the policy answers. Otherwise any role could obtain a certificate that impersonates any host.
 */
import { forbidden } from '../errors.js';
import type { InstanceDirectory, InstanceRole } from '../ec2.js';
import type { LkpIdentity } from '../protocol.js';
import { INSTANCE_ARN } from '../request.js';

export function checkHostCaller(who: LkpIdentity, hostInstanceArn: string): void {
  const match = INSTANCE_ARN.exec(hostInstanceArn);
  const [, partition, , account, instanceId] = match ?? [];
  const callerPartition = who.Arn.split(':')[1];
  if (
    who.Type !== 'AssumedRole' ||
    who.SessionName !== instanceId ||
    who.Account !== account ||
    callerPartition !== partition
  )
    throw forbidden(
      `host certificates for ${hostInstanceArn} are issued only to that instance's own role session ` +
        `(arn:${partition ?? 'aws'}:sts::${account ?? '?'}:assumed-role/<role>/${instanceId ?? 'i-…'}); the caller is ${who.Arn}`,
    );
}

/**
 * DESIGN §3.4, docs/security.md: a session name is chosen by whoever calls sts:AssumeRole, so for
 * an instance in the CA's account the session's role must also be the instance profile's role.
 * Compared by role id (AROA…, the caller's UserId before the colon) as well as by name: a role
 * deleted and re-created under the same name gets a new id. Other accounts: `unchecked`, the
 * session rule of checkHostCaller alone applies (docs/security.md).
 */
export function checkHostRole(who: LkpIdentity, hostInstanceArn: string, role: InstanceRole): void {
  if (role.kind === 'unchecked') return;
  const callerRoleId = who.Type === 'AssumedRole' ? who.Id.split(':')[0] : undefined;
  const caller = `the caller is ${who.Arn} (role ${who.RoleName ?? '-'}, id ${callerRoleId ?? '-'})`;
  if (role.kind === 'none')
    throw forbidden(
      `host certificates for ${hostInstanceArn} are issued only to the role of its instance profile, ` +
        `but ${role.reason}; ${caller}`,
    );
  if (callerRoleId !== role.roleId || who.RoleName !== role.roleName)
    throw forbidden(
      `host certificates for ${hostInstanceArn} are issued only to its instance profile role ` +
        `${role.roleName} (id ${role.roleId}); ${caller}`,
    );
}

/** Both host rules of DESIGN §3.4 for a request about `hostInstanceArn` (Host and Accounts requests). */
export async function checkHostIdentity(
  who: LkpIdentity,
  hostInstanceArn: string,
  instances: InstanceDirectory | undefined,
): Promise<void> {
  checkHostCaller(who, hostInstanceArn);
  // In the CA's account, the session's role must be the instance profile's role too.
  if (instances) checkHostRole(who, hostInstanceArn, await instances.instanceRole(hostInstanceArn));
}

/**
 * DESIGN §3.4: a host certificate request must come from that instance's own role session
 * (`assumed-role/<role>/<instance-id>`, the session EC2 gives an instance profile), whatever
 * the policy answers. Otherwise any role could obtain a certificate that impersonates any host.
 */
import { forbidden } from '../errors.js';
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

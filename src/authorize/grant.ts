/**
 * A Grant is what authorization hands to signing: the constraints of the certificate, never a
 * bare yes/no. Later stages apply it; they never widen it.
 */
export interface Grant {
  /** Never empty: an empty principal list means "any principal" to sshd. */
  principals: string[];
  /** Shortens the configured TTL; never lengthens it (DESIGN §3.4). */
  validForSeconds?: number;
  criticalOptions: Record<string, string>;
  extensions: string[];
  targetAddress?: string;
  /** Bastions to reach the target through; each gets its own port-forwarding-only certificate. */
  jumpboxes?: JumpboxGrant[];
  /** A network lease the CA opens for the caller's observed address (docs/access-policy.md, our addition). */
  ingress?: IngressGrant;
  /** An EC2 Instance Connect Endpoint the client reaches the target through (docs/eice.md, our addition). */
  instanceConnectEndpoint?: { id: string; dnsName?: string };
}

/** What a policy's `Ingress` asks for; the CA checks the group against LKP_INGRESS_GROUPS. */
export interface IngressGrant {
  securityGroupId: string;
  /** Unique, 1..65535; absent → the CA's LKP_INGRESS_DEFAULT_PORTS. */
  ports?: number[];
  protocol: 'tcp';
}

export interface JumpboxGrant {
  address: string;
  user: string;
  hostKeyAlias: string;
  /** Never empty; default `<user>@<hostKeyAlias>` (DESIGN §3.4). */
  principals: string[];
}

/** DESIGN §3.4: pty and port forwarding on, agent/X11 forwarding and user rc off. */
export const DEFAULT_USER_EXTENSIONS: readonly string[] = ['permit-port-forwarding', 'permit-pty'];

/** DESIGN §3.4: it names the instance AND the login, so a certificate for ec2-user is not one for root. */
export function defaultUserPrincipal(sshUsername: string, remoteInstanceArn: string): string {
  return `${sshUsername}@${remoteInstanceArn}`;
}

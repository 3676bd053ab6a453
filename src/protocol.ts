/**
 * Wire types of DESIGN §3, shared by the CA, the client and policies.
 * Field names are PascalCase, as in the access-policy types.
 */

export const STS_ACTION_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
export const HEADER_SERVER_ID = 'X-Lkp-Server-Id';
export const HEADER_KEY_FINGERPRINT = 'X-Lkp-Key-Fingerprint';
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Voucher proofs (DESIGN §3.2 Vouchers) bind whom they vouch for and in what context instead of a key. */
export const HEADER_VOUCHEE = 'X-Lkp-Vouchee';
export const HEADER_VOUCHER_CONTEXT = 'X-Lkp-Voucher-Context';
/** A voucher token is this prefix + base64url(JSON of an IdentityProof signed by the voucher). */
export const VOUCHER_PREFIX = 'lkpv1.';
export const MAX_VOUCHER_BYTES = 8 * 1024;
export const MAX_VOUCHERS = 8;

/** A signed, unsent STS GetCallerIdentity request (DESIGN §3.1). */
export interface IdentityProof {
  Method: string;
  Url: string;
  Body: string;
  /** Header name → value. Content-Length may arrive as a number (aws4 produces one). */
  Headers: Record<string, string | number>;
}

export interface UserCertRequest {
  Kind: 'User';
  Identity: IdentityProof;
  PublicKey: string;
  RemoteInstanceArn: string;
  SshUsername: string;
  Vouchers?: string[];
}

export interface HostCertRequest {
  Kind: 'Host';
  Identity: IdentityProof;
  PublicKey: string;
  HostInstanceArn: string;
  Principals: string[];
}

export interface InfoRequest {
  Kind: 'Info';
}

/**
 * Revoke the caller's network leases now (`lkp close`; our addition to DESIGN §3.2). The proof
 * binds a key like any other request; the key is otherwise unused.
 */
export interface CloseRequest {
  Kind: 'Close';
  Identity: IdentityProof;
  PublicKey: string;
}

/**
 * Which unix accounts the calling instance should have (our addition to DESIGN §3.2; docs/architecture.md,
 * "Unix accounts"). Authenticated like a Host request; PublicKey is the host key the proof binds.
 */
export interface AccountsRequest {
  Kind: 'Accounts';
  Identity: IdentityProof;
  PublicKey: string;
  HostInstanceArn: string;
}

export type CaRequest =
  | UserCertRequest
  | HostCertRequest
  | InfoRequest
  | CloseRequest
  | AccountsRequest
  | import('./locks/protocol.js').RevocationRequest;

/** The verified caller, as given to policies (DESIGN §3.1). */
export interface LkpIdentity {
  Arn: string;
  Account: string;
  Id: string;
  Type: 'User' | 'AssumedRole' | 'FederatedUser';
  /** IAM user name or federated user name; never set from caller input. */
  Name?: string;
  RoleName?: string;
  SessionName?: string;
}

export interface JumpboxCertificate {
  Address: string;
  User: string;
  HostKeyAlias: string;
  Certificate: string;
}

export interface CertResponse {
  Kind: 'User' | 'Host';
  Certificate: string;
  KeyId: string;
  Serial: string;
  Principals: string[];
  ValidAfter: number;
  ValidBefore: number;
  CaPublicKeys: string[];
  TargetAddress?: string;
  Jumpboxes?: JumpboxCertificate[];
  /** The network lease opened for the caller's address (docs/access-policy.md, our addition). */
  Ingress?: LeaseInfo;
  /** Reach the target through this EC2 Instance Connect Endpoint (docs/eice.md, our addition). */
  InstanceConnectEndpoint?: LkpInstanceConnectEndpoint;
}

/**
 * An EC2 Instance Connect Endpoint a policy routes a target through (our addition). Without
 * DnsName the client looks the endpoint up (DescribeInstanceConnectEndpoints).
 */
export interface LkpInstanceConnectEndpoint {
  Id: string;
  DnsName?: string;
}

/** EC2's ids for Instance Connect Endpoints: eice- and 17 lower-case hex digits. */
export const EICE_ID = /^eice-[0-9a-f]{17}$/;
/**
 * Where a client may send a presigned OpenTunnel URL (a bearer token for 60 s): a DNS name under
 * AWS's own domains, never a host taken on trust from anywhere else.
 */
export const EICE_DNS_NAME =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+amazonaws\.com(?:\.cn)?$/;

export interface LeaseInfo {
  SecurityGroupId: string;
  /** The caller's address as AWS observed it, as /32 or /128. */
  Cidr: string;
  Ports: number[];
  /** Unix seconds: the certificate's ValidBefore. */
  Until: number;
}

export interface InfoResponse {
  CaPublicKeys: string[];
  ServerId: string;
  StsEndpoint: string;
  /** The region the proof must be signed for; our addition to DESIGN §3.2 (an endpoint URL need not name it). */
  StsRegion: string;
}

export interface ErrorResponse {
  Error: { Code: import('./errors.js').ErrorCode; Message: string };
}

export interface CloseResponse {
  /** How many security group rules of the caller were revoked. */
  Closed: number;
}

/**
 * The answer to an Accounts request: flat, sorted lists of POSIX names, so a bash agent can parse
 * it strictly (docs/architecture.md, "Unix accounts"). Keys always in this order, all present.
 */
export interface AccountsResponse {
  Kind: 'Accounts';
  /** Every account the host should have. */
  Users: string[];
  /** The Users that get sudo. */
  Sudo: string[];
  /** Every local group lkp manages on the host, members or not. */
  Groups: string[];
  /** `<group>:<user>` for each member of each of Groups. */
  Members: string[];
  /** What the host does with an account lkp created that is no longer in Users. */
  Removed: 'lock' | 'delete';
}

export type CaResponse =
  | CertResponse
  | InfoResponse
  | CloseResponse
  | AccountsResponse
  | import('./locks/protocol.js').RevocationResponse
  | ErrorResponse;

/**
 * A voucher the CA has verified (DESIGN §3.4 seed types): the voucher's identity, proved like a
 * caller's, plus what the voucher signed: whom they vouch for and in what context.
 */
export type LkpVoucher = LkpIdentity & {
  Vouchee: string;
  Context: string;
};

/**
 * What the CA asks AUTHORIZATION_LAMBDA about a user certificate (the seed's type; SourceIp and
 * PublicKeyFingerprint are our additions, see docs/access-policy.md).
 */
export interface LkpUserCertAuthorizationRequest {
  Kind: 'LkpUserCertAuthorizationRequest';
  From: LkpIdentity;
  RemoteInstanceArn: string;
  SshUsername: string;
  Vouchers?: LkpVoucher[];
  /** The caller's address as the CA's transport observed it; absent when the transport cannot know it. */
  SourceIp?: string;
  PublicKeyFingerprint: string;
}

/** What the CA asks AUTHORIZATION_LAMBDA about a host certificate (the seed's type). */
export interface LkpHostCertAuthorizationRequest {
  Kind: 'LkpHostCertAuthorizationRequest';
  From: LkpIdentity;
  HostInstanceArn: string;
  Principals: string[];
}

/** One account the CA offers a host, from the IAM groups it is configured with (our addition). */
export interface LkpAccount {
  /** The POSIX name (posixName of IamUser). */
  User: string;
  IamUser: string;
  /** Local groups, sorted. */
  Groups: string[];
  Sudo: boolean;
}

/**
 * What the CA asks AUTHORIZATION_LAMBDA about an instance's unix accounts (our addition,
 * docs/access-policy.md): the policy may narrow the offer, never widen it.
 */
export interface LkpAccountsAuthorizationRequest {
  Kind: 'LkpAccountsAuthorizationRequest';
  From: LkpIdentity;
  HostInstanceArn: string;
  Accounts: LkpAccount[];
}

export type LkpAuthorizationRequest =
  LkpUserCertAuthorizationRequest | LkpHostCertAuthorizationRequest | LkpAccountsAuthorizationRequest;

/** Certificate options a policy may set (DESIGN §3.4); anything else is a PolicyError. */
export interface LkpCertificateOptions {
  ForceCommand?: string;
  /** Comma-separated CIDR list, as sshd's source-address option. */
  SourceAddress?: string;
  PermitPty?: boolean;
  PermitPortForwarding?: boolean;
  PermitAgentForwarding?: boolean;
  PermitX11Forwarding?: boolean;
  PermitUserRc?: boolean;
  /** Shortens the CA's TTL; never lengthens it. */
  ValidForSeconds?: number;
}

export interface LkpJumpbox {
  /** `host`, `host:port` or `[ipv6]:port` the client connects to (DESIGN §3.2); default port 22. */
  Address: string;
  /** Unix user on the jumpbox. */
  User: string;
  /** The name the jumpbox's host certificate carries; defaults to Address without its port. */
  HostKeyAlias?: string;
  /** Principals of the jumpbox certificate; default `<User>@<HostKeyAlias>`. */
  Principals?: string[];
}

export interface LkpUserCertAuthorizationResponse {
  Authorized: boolean;
  /** Default `<SshUsername>@<RemoteInstanceArn>` (our change to the seed default, DESIGN §3.4). */
  Principals?: string[];
  Jumpboxes?: LkpJumpbox[];
  /** Where the client connects (e.g. a private IP): `host`, `host:port` or `[ipv6]:port`; default port 22. */
  TargetAddress?: string;
  CertificateOptions?: LkpCertificateOptions;
  /** Open this security group to the caller's observed address while the certificate is valid (our addition). */
  Ingress?: { SecurityGroupId: string; Ports?: number[]; Protocol?: 'tcp' };
  /** Reach the target through this EC2 Instance Connect Endpoint (our addition, docs/eice.md). */
  InstanceConnectEndpoint?: LkpInstanceConnectEndpoint;
  /** Why not, for `Authorized: false` (our addition): shown to the caller and in the audit line, cleaned (docs/access-policy.md). */
  Reason?: string;
}

export interface LkpHostCertAuthorizationResponse {
  Authorized: boolean;
  /** Extra names for the host certificate, e.g. a bastion's DNS name. */
  Principals?: string[];
  /** Why not, for `Authorized: false` (our addition): shown to the caller and in the audit line, cleaned (docs/access-policy.md). */
  Reason?: string;
}

/**
 * `Authorized: false`: the host gets no accounts from lkp (those it has are locked or deleted).
 * Users / Sudo: the offered accounts (and sudo) to keep; absent → all that were offered.
 */
export interface LkpAccountsAuthorizationResponse {
  Authorized: boolean;
  Users?: string[];
  Sudo?: string[];
  /** Accepted so that a deny() rule works here too; a host has no one to show it to. */
  Reason?: string;
}

export type LkpAuthorizationResponse =
  LkpUserCertAuthorizationResponse | LkpHostCertAuthorizationResponse | LkpAccountsAuthorizationResponse;

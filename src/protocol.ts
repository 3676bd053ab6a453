/**
 * Wire types of DESIGN §3, shared by the CA, the client and policies.
 * Field names are PascalCase, as in the access-policy types.
 */

export const STS_ACTION_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
export const HEADER_SERVER_ID = 'X-Lkp-Server-Id';
export const HEADER_KEY_FINGERPRINT = 'X-Lkp-Key-Fingerprint';
export const MAX_REQUEST_BYTES = 64 * 1024;

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

export type CaRequest = UserCertRequest | HostCertRequest | InfoRequest;

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

export type CaResponse = CertResponse | InfoResponse | ErrorResponse;

/** What the CA asks a policy about a user certificate (DESIGN §3.4; SourceIp and PublicKeyFingerprint are our additions). */
export interface LkpUserCertAuthorizationRequest {
  Kind: 'User';
  From: LkpIdentity;
  RemoteInstanceArn: string;
  SshUsername: string;
  SourceIp?: string;
  PublicKeyFingerprint: string;
}

/** What the CA asks a policy about a host certificate (DESIGN §3.4). */
export interface LkpHostCertAuthorizationRequest {
  Kind: 'Host';
  From: LkpIdentity;
  HostInstanceArn: string;
  Principals: string[];
}

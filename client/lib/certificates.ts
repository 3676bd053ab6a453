/**
 * Asking the CA for a certificate: learn its STS endpoint and server id (Kind: Info), sign a
 * proof bound to our public key, send the request. The building block of `lkp ssh` and `lkp host`.
 */
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { parsePublicKey } from '../../src/cert/index.js';
import type { CertResponse, InfoResponse } from '../../src/protocol.js';
import { httpTransport, type CaTransport } from './ca-transport.js';

export type CertificateAsk =
  | { Kind: 'User'; PublicKey: string; RemoteInstanceArn: string; SshUsername: string; Vouchers?: string[] }
  | { Kind: 'Host'; PublicKey: string; HostInstanceArn: string; Principals: string[] };

/** The CA as a URL (plain HTTP) or any transport (IAM-signed URL, Lambda Invoke). */
export type CaTarget = string | CaTransport;

export const transportOf = (ca: CaTarget): CaTransport => (typeof ca === 'string' ? httpTransport(ca) : ca);

export function fetchCaInfo(ca: CaTarget): Promise<InfoResponse> {
  return transportOf(ca).call<InfoResponse>({ Kind: 'Info' });
}

export async function requestCertificate(
  ca: CaTarget,
  info: InfoResponse,
  credentials: AwsCredentialIdentity,
  ask: CertificateAsk,
): Promise<CertResponse> {
  // aws4 loads when a proof is signed: a cached `lkp ssh` imports this module and signs nothing.
  const { buildIdentityProof } = await import('./proof.js');
  const Identity = buildIdentityProof({
    stsEndpoint: info.StsEndpoint,
    region: info.StsRegion,
    serverId: info.ServerId,
    keyFingerprint: parsePublicKey(ask.PublicKey).fingerprint,
    credentials,
  });
  return transportOf(ca).call<CertResponse>({ ...ask, Identity });
}

/**
 * Asking the CA for a certificate: learn its STS endpoint and server id (Kind: Info), sign a
 * proof bound to our public key, send the request. The building block of `lkp ssh` and `lkp host`.
 */
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { parsePublicKey } from '../../src/cert/index.js';
import type { CertResponse, InfoResponse } from '../../src/protocol.js';
import { callCa } from './ca-client.js';
import { buildIdentityProof } from './proof.js';

export type CertificateAsk =
  | { Kind: 'User'; PublicKey: string; RemoteInstanceArn: string; SshUsername: string }
  | { Kind: 'Host'; PublicKey: string; HostInstanceArn: string; Principals: string[] };

export function fetchCaInfo(caUrl: string): Promise<InfoResponse> {
  return callCa<InfoResponse>(caUrl, { Kind: 'Info' });
}

export async function requestCertificate(
  caUrl: string,
  info: InfoResponse,
  credentials: AwsCredentialIdentity,
  ask: CertificateAsk,
): Promise<CertResponse> {
  const Identity = buildIdentityProof({
    stsEndpoint: info.StsEndpoint,
    region: info.StsRegion,
    serverId: info.ServerId,
    keyFingerprint: parsePublicKey(ask.PublicKey).fingerprint,
    credentials,
  });
  return callCa<CertResponse>(caUrl, { ...ask, Identity });
}

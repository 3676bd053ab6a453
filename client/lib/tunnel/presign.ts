/**
 * The presigned OpenTunnel URL of an EC2 Instance Connect Endpoint, as the AWS CLI builds it
 * (awscli/customizations/ec2instanceconnect): `wss://<endpoint DNS name>/openTunnel` with the
 * query instanceConnectEndpointId, remotePort, privateIpAddress and (optionally) maxTunnelDuration,
 * SigV4-presigned for the service `ec2-instance-connect` in the endpoint's region, GET, host the
 * only signed header, valid for 60 s. The IAM condition keys ec2-instance-connect:remotePort,
 * :privateIpAddress and :maxTunnelDuration are judged on exactly these parameters.
 */
import aws4 from 'aws4';
import type { AwsCredentialIdentity } from '@aws-sdk/types';

export const EICE_SIGNING_SERVICE = 'ec2-instance-connect';
/** Seconds the URL may be used to open the tunnel (what the AWS CLI asks for). */
export const PRESIGNED_URL_SECONDS = 60;
/** The longest tunnel EICE allows, and the default the AWS CLI documents. */
export const MAX_TUNNEL_SECONDS = 3600;

export interface TunnelRequest {
  /** `wss://<DnsName>` in AWS; `ws://127.0.0.1:<port>` for the local stand-in (LKP_EICE_URL). */
  endpointUrl: string;
  endpointId: string;
  privateIp: string;
  port: number;
  region: string;
  /** Seconds, 1..3600; absent leaves EICE's own maximum (3600). */
  maxTunnelDuration?: number;
}

export function presignOpenTunnel(
  req: TunnelRequest,
  credentials: AwsCredentialIdentity,
  now: Date = new Date(),
): string {
  const base = new URL(req.endpointUrl);
  const query: Record<string, string> = {
    instanceConnectEndpointId: req.endpointId,
    remotePort: String(req.port),
    privateIpAddress: req.privateIp,
    ...(req.maxTunnelDuration !== undefined ? { maxTunnelDuration: String(req.maxTunnelDuration) } : {}),
    'X-Amz-Expires': String(PRESIGNED_URL_SECONDS),
    'X-Amz-Date': now.toISOString().replace(/[:-]|\.\d{3}/g, ''),
  };
  const signed = aws4.sign(
    {
      host: base.host,
      path: `/openTunnel?${new URLSearchParams(query).toString()}`,
      method: 'GET',
      service: EICE_SIGNING_SERVICE,
      region: req.region,
      signQuery: true,
      // Host is the only signed header (aws4 adds it): the WebSocket client sends its own others.
      headers: {},
    },
    {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
  );
  return `${base.protocol}//${base.host}${signed.path ?? ''}`;
}

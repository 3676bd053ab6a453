/**
 * A loopback stand-in for the EC2 instance metadata service, IMDSv2 only: every GET must carry a
 * token obtained with PUT /latest/api/token and a TTL header, as on a hardened instance. It serves
 * what the host agent reads: the identity document, addresses, the partition and its domain, and
 * the instance profile role's credentials.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ImdsInstance {
  region: string;
  account: string;
  instanceId: string;
  localIpv4?: string;
  publicIpv4?: string;
  localHostname?: string;
  publicHostname?: string;
  /** The instance profile's role and its session credentials (iam/security-credentials/<role>). */
  role?: { name: string; accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Paths answered with these bodies as they are, for tests of malformed metadata. */
  overrides?: Record<string, string>;
  /** The session token PUT /latest/api/token hands out, as it is (default: a fresh random one). */
  token?: string;
}

export interface ImdsStandin {
  /** `http://127.0.0.1:PORT`, for AWS_EC2_METADATA_SERVICE_ENDPOINT. */
  url: string;
  /** Paths requested, in order, e.g. `PUT /latest/api/token`. */
  requests: string[];
  close(): Promise<void>;
}

export async function startImdsStandin(instance: ImdsInstance): Promise<ImdsStandin> {
  const tokens = new Set<string>();
  const requests: string[] = [];
  const values: Record<string, string | undefined> = {
    '/latest/dynamic/instance-identity/document': JSON.stringify({
      region: instance.region,
      accountId: instance.account,
      instanceId: instance.instanceId,
      availabilityZone: `${instance.region}a`,
      instanceType: 't4g.micro',
    }),
    '/latest/meta-data/instance-id': instance.instanceId,
    '/latest/meta-data/local-ipv4': instance.localIpv4,
    '/latest/meta-data/public-ipv4': instance.publicIpv4,
    '/latest/meta-data/local-hostname': instance.localHostname,
    '/latest/meta-data/public-hostname': instance.publicHostname,
    '/latest/meta-data/services/partition': partitionOf(instance.region),
    '/latest/meta-data/services/domain': instance.region.startsWith('cn-')
      ? 'amazonaws.com.cn'
      : 'amazonaws.com',
    ...(instance.role ? roleCredentials(instance.role) : {}),
    ...instance.overrides,
  };

  const server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push(`${req.method} ${path}`);
    if (path === '/latest/api/token') {
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (req.method !== 'PUT' || !Number.isInteger(ttl) || ttl < 1 || ttl > 21600) {
        res.writeHead(400).end();
        return;
      }
      const token = instance.token ?? randomBytes(16).toString('base64');
      tokens.add(token);
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(token);
      return;
    }
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (typeof token !== 'string' || !tokens.has(token)) {
      res.writeHead(401).end();
      return;
    }
    const value = req.method === 'GET' ? values[path] : undefined;
    if (value === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'Content-Type': 'text/plain' }).end(value);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  return region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
}

/** The two paths EC2 serves for an instance profile: the role's name, and its credentials as JSON. */
function roleCredentials(role: NonNullable<ImdsInstance['role']>): Record<string, string> {
  const document = {
    Code: 'Success',
    LastUpdated: new Date().toISOString(),
    Type: 'AWS-HMAC',
    AccessKeyId: role.accessKeyId,
    SecretAccessKey: role.secretAccessKey,
    Token: role.sessionToken ?? '',
    Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
  };
  return {
    '/latest/meta-data/iam/security-credentials/': role.name,
    [`/latest/meta-data/iam/security-credentials/${role.name}`]: JSON.stringify(document, null, 2),
  };
}

/**
 * Issue "network access leases", as done: through the Function URL transport, a policy's Ingress
 * opens the security group for the caller's observed address; a request from another address
 * moves the lease; the sweeper removes it after expiry. The CA code runs in-process (the Lambda
 * handler) with the local stack's configuration and stand-ins.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { ec2QueryClient, type Ec2QueryClient } from '../../src/aws/ec2-query.js';
import { parsePublicKey } from '../../src/cert/index.js';
import type { FunctionUrlResult } from '../../src/handler.js';
import { ec2SecurityGroupRules } from '../../src/ingress/ec2.js';
import { ec2LeaseManager } from '../../src/ingress/index.js';
import { generateKeyPair } from '../../src/local/openssh.js';
import {
  LOCAL_INSTANCE_ARN,
  LOCAL_REGION,
  LOCAL_SECURITY_GROUP,
  LOCAL_SERVER_ID,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';
import type { CertResponse } from '../../src/protocol.js';
import { functionUrlEvent } from '../helpers/lambda-events.js';

let dir: string;
let stack: LocalStack;
let publicKey: string;
let handler: (typeof import('../../src/handler.js'))['handler'];
let ec2: Ec2QueryClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-lease-'));
  const policy = join(dir, 'lease-policy.mjs');
  writeFileSync(
    policy,
    `export const handler = async () => ({ Authorized: true, Ingress: { SecurityGroupId: '${LOCAL_SECURITY_GROUP}' } });\n`,
  );
  stack = await startLocalStack({ policyModule: policy });
  publicKey = (await generateKeyPair(dir, 'user')).publicKey;
  for (const [name, value] of Object.entries(stack.caEnv)) vi.stubEnv(name, value);
  // The function serverless.yml gives the Function URL (DESIGN §3.6).
  vi.stubEnv('LKP_FUNCTION_URL', 'true');
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);

  vi.resetModules();
  ({ handler } = await import('../../src/handler.js'));
  ec2 = ec2QueryClient({ region: LOCAL_REGION, endpoint: stack.ec2.url, credentials: stack.kms.credentials });
});
afterAll(async () => {
  ec2?.destroy();
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

const context = {
  awsRequestId: 'r',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:lkp',
};

function proofFor(key: string) {
  return buildIdentityProof({
    stsEndpoint: stack.sts.url,
    region: LOCAL_REGION,
    serverId: LOCAL_SERVER_ID,
    keyFingerprint: parsePublicKey(key).fingerprint,
    credentials: stack.user.credentials,
  });
}

function userRequestBody(): string {
  return JSON.stringify({
    Kind: 'User',
    Identity: proofFor(publicKey),
    PublicKey: publicKey,
    RemoteInstanceArn: LOCAL_INSTANCE_ARN,
    SshUsername: 'ec2-user',
  });
}

async function requestFrom(sourceIp: string): Promise<CertResponse> {
  const body = userRequestBody();
  const result = (await handler(functionUrlEvent(body, { sourceIp }), context)) as FunctionUrlResult;
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body) as CertResponse;
}

async function leasedCidrs(): Promise<string[]> {
  const rules = await ec2SecurityGroupRules(ec2).describe(LOCAL_SECURITY_GROUP);
  return rules.map((r) => r.cidr ?? '?').sort();
}

describe('network access leases through the Function URL transport', () => {
  let first: CertResponse;

  it('opens the group for the address AWS observed, until the certificate expires', async () => {
    first = await requestFrom('127.0.0.1');
    expect(first.Ingress).toEqual({
      SecurityGroupId: LOCAL_SECURITY_GROUP,
      Cidr: '127.0.0.1/32',
      Ports: [22],
      Until: first.ValidBefore,
    });
    expect(await leasedCidrs()).toEqual(['127.0.0.1/32']);
  });

  it('moves the lease when the same caller comes from another address', async () => {
    const second = await requestFrom('127.0.0.2');
    expect(second.Ingress?.Cidr).toBe('127.0.0.2/32');
    expect(await leasedCidrs()).toEqual(['127.0.0.2/32']);
  });

  it("is revoked at once by the caller's Close request", async () => {
    await requestFrom('127.0.0.3');
    expect(await leasedCidrs()).toEqual(['127.0.0.3/32']);
    const body = JSON.stringify({ Kind: 'Close', Identity: proofFor(publicKey), PublicKey: publicKey });
    const result = (await handler(
      functionUrlEvent(body, { sourceIp: '127.0.0.3' }),
      context,
    )) as FunctionUrlResult;
    expect(JSON.parse(result.body)).toEqual({ Closed: 1 });
    expect(await leasedCidrs()).toEqual([]);
    await requestFrom('127.0.0.2');
  });

  it('is swept once it has expired, and not before', async () => {
    const leases = ec2LeaseManager({
      allowedGroups: [LOCAL_SECURITY_GROUP],
      defaultPorts: [22],
      client: ec2,
    });
    expect(await leases.sweep(new Date())).toBe(0);
    expect(await leasedCidrs()).toEqual(['127.0.0.2/32']);
    const afterExpiry = new Date(((first.Ingress?.Until ?? 0) + 3600) * 1000);
    expect(await leases.sweep(afterExpiry)).toBe(1);
    expect(await leasedCidrs()).toEqual([]);
  });
});

describe('a forged Function URL event sent by direct Invoke (issue 15, item 5)', () => {
  it('opens no lease for the address it claims: the Invoke function reads no URL events', async () => {
    vi.stubEnv('LKP_FUNCTION_URL', '');
    vi.resetModules();
    const { handler: invokeHandler } = await import('../../src/handler.js');
    const before = await leasedCidrs();
    const forged = functionUrlEvent(userRequestBody(), { sourceIp: '127.0.0.99' });
    const result = await invokeHandler(forged, context);
    expect(result).toMatchObject({ Error: { Code: 'BadRequest' } });
    expect(await leasedCidrs()).toEqual(before);
    expect(before).not.toContain('127.0.0.99/32');
  });
});

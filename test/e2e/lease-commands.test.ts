/** `lkp open` and `lkp close`, as built, against the local stack (whose HTTP transport observes 127.0.0.1). */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeSecurityGroupRulesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LOCAL_INSTANCE_ARN,
  LOCAL_REGION,
  LOCAL_SECURITY_GROUP,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';
import { LKP_CLI } from '../helpers/run-node.js';

const run = promisify(execFile);

let dir: string;
let stack: LocalStack;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkp-lease-cli-'));
  const policy = join(dir, 'policy.mjs');
  writeFileSync(
    policy,
    `export const handler = async () => ({ Authorized: true, Ingress: { SecurityGroupId: '${LOCAL_SECURITY_GROUP}', Ports: [22, 443] } });\n`,
  );
  stack = await startLocalStack({ policyModule: policy });
  const c = stack.user.credentials;
  env = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    AWS_EC2_METADATA_DISABLED: 'true',
    LKP_CA_URL: stack.caUrl,
    AWS_ACCESS_KEY_ID: c.accessKeyId,
    AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
  };
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function leasedRules(): Promise<string[]> {
  // The EC2 stand-in accepts the CA's keys, which the KMS stand-in shares.
  const ec2 = new EC2Client({
    region: LOCAL_REGION,
    endpoint: stack.ec2.url,
    credentials: stack.kms.credentials,
  });
  const { SecurityGroupRules = [] } = await ec2.send(
    new DescribeSecurityGroupRulesCommand({
      Filters: [{ Name: 'group-id', Values: [LOCAL_SECURITY_GROUP] }],
    }),
  );
  return SecurityGroupRules.map((r) => `${r.CidrIpv4 ?? r.CidrIpv6}:${r.FromPort}`).sort();
}

describe('lkp open / lkp close', () => {
  it('opens the policy’s ports for this machine’s address', async () => {
    const { stdout } = await run(
      process.execPath,
      [LKP_CLI, 'open', '--json', `ec2-user@${LOCAL_INSTANCE_ARN}`],
      { env },
    );
    expect(JSON.parse(stdout)).toMatchObject({
      SecurityGroupId: LOCAL_SECURITY_GROUP,
      Cidr: '127.0.0.1/32',
      Ports: [22, 443],
    });
    expect(await leasedRules()).toEqual(['127.0.0.1/32:22', '127.0.0.1/32:443']);
  });

  it('revokes them now', async () => {
    const { stdout } = await run(process.execPath, [LKP_CLI, 'close', '--json'], { env });
    expect(JSON.parse(stdout)).toEqual({ Closed: 2 });
    expect(await leasedRules()).toEqual([]);
  });
});

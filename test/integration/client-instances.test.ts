/**
 * The client's DescribeInstances (client/lib/instances.ts) against the EC2 stand-in, which checks
 * SigV4 like EC2: region and endpoint come from the profile as the SDK takes them, and the answer
 * reads the same as through the SDK's own EC2 client on the same stand-in.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeInstances } from '../../client/lib/instances.js';
import { startEc2Standin, type Ec2Standin, type LocalInstance } from '../../src/local/ec2-standin.js';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const CREDENTIALS = { accessKeyId: 'AKIDCLIENTLOOKUP', secretAccessKey: 'client-lookup-secret' };
const INSTANCES: LocalInstance[] = [
  {
    instanceId: 'i-0123456789abcdef0',
    privateIp: '10.0.0.5',
    publicIp: '203.0.113.10',
    tags: { Name: 'web', Team: 'a&b <ops>' },
  },
  { instanceId: 'i-0aaaaaaaaaaaaaaaa', state: 'stopped', privateIp: '10.0.0.6', tags: { Name: 'web' } },
  { instanceId: 'i-0bbbbbbbbbbbbbbbb', privateIp: '10.0.0.7', tags: { Name: 'db' } },
];

let ec2: Ec2Standin;
let dir: string;
beforeAll(async () => {
  ec2 = await startEc2Standin({
    region: REGION,
    account: ACCOUNT,
    instances: INSTANCES,
    credentials: CREDENTIALS,
  });
  dir = mkdtempSync(join(tmpdir(), 'lkp-client-instances-'));
});
afterAll(async () => {
  await ec2.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => vi.unstubAllEnvs());

/** A config file the SDK's loader reads, and no environment that would name a region or endpoint. */
function useConfig(text: string): void {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, text);
  vi.stubEnv('AWS_CONFIG_FILE', path);
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'no-credentials'));
  for (const name of [
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
    'AWS_PROFILE',
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_EC2',
  ])
    vi.stubEnv(name, undefined);
}

const lookups = (awsProfile: string, credentials = CREDENTIALS) =>
  describeInstances({ awsProfile, credentials: async () => credentials });

describe('client instance lookups', () => {
  it("take the region and endpoint_url from the profile and sign with the caller's credentials", async () => {
    useConfig(`[profile dev]\nregion = ${REGION}\nendpoint_url = ${ec2.url}\n`);
    const ec2s = lookups('dev');
    expect(await ec2s.region()).toBe(REGION);
    const found = await ec2s.describe({ instanceIds: ['i-0123456789abcdef0'] });
    expect(found).toEqual([
      {
        ownerId: ACCOUNT,
        instance: expect.objectContaining({
          InstanceId: 'i-0123456789abcdef0',
          PrivateIpAddress: '10.0.0.5',
          PublicIpAddress: '203.0.113.10',
          Tags: expect.arrayContaining([{ Key: 'Team', Value: 'a&b <ops>' }]),
        }),
      },
    ]);
  });

  it('read a services section as the SDK does, and AWS_ENDPOINT_URL_EC2 wins over the profile', async () => {
    useConfig(
      `[profile svc]\nregion = ${REGION}\nservices = local\n\n[services local]\nec2 =\n  endpoint_url = ${ec2.url}\n`,
    );
    expect(await lookups('svc').describe({ instanceIds: ['i-0bbbbbbbbbbbbbbbb'] })).toHaveLength(1);
    useConfig(`[profile env]\nregion = ${REGION}\nendpoint_url = http://127.0.0.1:1/\n`);
    vi.stubEnv('AWS_ENDPOINT_URL_EC2', ec2.url);
    expect(await lookups('env').describe({ instanceIds: ['i-0bbbbbbbbbbbbbbbb'] })).toHaveLength(1);
  });

  it('say when nothing names a region', async () => {
    useConfig('[profile bare]\n');
    expect(await lookups('bare').region()).toBeUndefined();
    await expect(lookups('bare').describe({ instanceIds: ['i-0bbbbbbbbbbbbbbbb'] })).rejects.toThrow(
      /no AWS region/,
    );
  });

  it('are refused when signed with a wrong secret', async () => {
    useConfig(`[profile dev]\nregion = ${REGION}\nendpoint_url = ${ec2.url}\n`);
    const wrong = lookups('dev', { ...CREDENTIALS, secretAccessKey: 'not-the-secret' });
    await expect(wrong.describe({ instanceIds: ['i-0bbbbbbbbbbbbbbbb'] })).rejects.toThrow(
      /SignatureDoesNotMatch|AuthFailure/,
    );
  });

  it('read filters and answers as the SDK does on the same stand-in', async () => {
    useConfig(`[profile dev]\nregion = ${REGION}\nendpoint_url = ${ec2.url}\n`);
    const filters = [
      { Name: 'tag:Name', Values: ['web'] },
      { Name: 'instance-state-name', Values: ['running', 'stopped'] },
    ];
    const ours = await lookups('dev').describe({ filters });
    const sdk = new EC2Client({ region: REGION, endpoint: ec2.url, credentials: CREDENTIALS });
    try {
      const theirs = await sdk.send(new DescribeInstancesCommand({ Filters: filters }));
      const view = (i: { InstanceId?: string; PrivateIpAddress?: string; PublicIpAddress?: string }) => ({
        id: i.InstanceId,
        privateIp: i.PrivateIpAddress,
        publicIp: i.PublicIpAddress,
      });
      expect(ours.map((o) => view(o.instance))).toEqual(
        (theirs.Reservations ?? []).flatMap((r) => r.Instances ?? []).map(view),
      );
      expect(ours).toHaveLength(2);
    } finally {
      sdk.destroy();
    }
  });
});

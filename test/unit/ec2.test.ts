import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ec2QueryClient, type Ec2QueryClient } from '../../src/aws/ec2-query.js';
import { ec2Directory, type InstanceDirectory } from '../../src/ec2.js';
import { LkpError } from '../../src/errors.js';
import { startEc2Standin, type Ec2Standin, type LocalInstance } from '../../src/local/ec2-standin.js';
import { rejectionOf } from '../helpers/rejection.js';
import { queryClientFor } from '../helpers/ec2-clients.js';

const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';
const WEB = 'i-0123456789abcdef0';
const DB = 'i-0aaaaaaaaaaaaaaaa';
const GONE = 'i-0bbbbbbbbbbbbbbbb';
const PARKED = 'i-0cccccccccccccccc';
const LOCKED = 'i-0dddddddddddddddd';
const UNKNOWN = 'i-0eeeeeeeeeeeeeeee';
const EAST_HOST = 'i-0ffffffffffffffff';
const LEAVING = 'i-01111111111111111';

const arn = (instanceId: string, region = 'eu-west-1', account = ACCOUNT) =>
  `arn:aws:ec2:${region}:${account}:instance/${instanceId}`;

const web: LocalInstance = {
  instanceId: WEB,
  privateIp: '10.0.0.5',
  publicIp: '203.0.113.10',
  privateDnsName: 'ip-10-0-0-5.eu-west-1.compute.internal',
  publicDnsName: 'ec2-203-0-113-10.eu-west-1.compute.amazonaws.com',
  ipv6: ['2001:db8::1', '2001:db8:0:0:1::7'],
  tags: { Name: 'web' },
};
const WEB_NAMES = [
  '10.0.0.5',
  '203.0.113.10',
  'ip-10-0-0-5.eu-west-1.compute.internal',
  'ec2-203-0-113-10.eu-west-1.compute.amazonaws.com',
  '2001:db8::1',
  '2001:db8::1:0:0:7',
];

let west: Ec2Standin;
let east: Ec2Standin;

beforeAll(async () => {
  west = await startEc2Standin({
    region: 'eu-west-1',
    account: ACCOUNT,
    instances: [
      web,
      { instanceId: DB, privateIp: '10.0.0.6', privateDnsName: 'ip-10-0-0-6.eu-west-1.compute.internal' },
      { instanceId: GONE, state: 'terminated', privateIp: '10.0.0.7' },
      { instanceId: PARKED, state: 'stopped', privateIp: '10.0.0.8' },
      { instanceId: LEAVING, state: 'shutting-down', privateIp: '10.0.0.10' },
      { instanceId: LOCKED, privateIp: '10.0.0.9' },
    ],
    failures: { [LOCKED]: 'UnauthorizedOperation' },
  });
  east = await startEc2Standin({
    region: 'us-east-1',
    account: ACCOUNT,
    instances: [{ instanceId: EAST_HOST, privateIp: '172.31.0.4' }],
  });
});
afterAll(async () => {
  await west.close();
  await east.close();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** A directory whose clients reach the stand-in of the ARN's region, counting the clients it creates. */
function directory(now?: () => number): {
  dir: InstanceDirectory;
  clientFor: ReturnType<typeof vi.fn<(region: string) => Ec2QueryClient>>;
} {
  const clientFor = vi.fn((region: string) => {
    const standin = region === 'us-east-1' ? east : west;
    return queryClientFor(standin, region);
  });
  return { dir: ec2Directory({ caAccount: ACCOUNT, clientFor, ...(now ? { now } : {}) }), clientFor };
}

const lkpError = (p: Promise<unknown>): Promise<LkpError> => rejectionOf(p, LkpError);

describe('confirmHostNames', () => {
  it('confirms every address and DNS name EC2 reports for the instance, in request order', async () => {
    const { dir } = directory();
    expect(await dir.confirmHostNames(arn(WEB), WEB_NAMES)).toEqual(WEB_NAMES);
  });

  it('does not confirm names of another instance or names that merely contain an instance name', async () => {
    const { dir } = directory();
    const names = [
      '10.0.0.6',
      'ip-10-0-0-6.eu-west-1.compute.internal',
      'ip-10-0-0-5.eu-west-1.compute.internal.evil.example',
      'x.ip-10-0-0-5.eu-west-1.compute.internal',
      'ip-10-0-0-5',
      '10.0.0.50',
      '10.0.0.05',
      '2001:db8::10',
      'web',
    ];
    expect(await dir.confirmHostNames(arn(WEB), names)).toEqual([]);
    expect(await dir.confirmHostNames(arn(DB), ['10.0.0.5', '10.0.0.6'])).toEqual(['10.0.0.6']);
  });

  it('compares IPv6 addresses in canonical form and returns them as requested', async () => {
    const { dir } = directory();
    const requested = ['2001:DB8:0:0:0:0:0:1', '2001:0db8::0001:0:0:7', '2001:db8::1%eth0'];
    expect(await dir.confirmHostNames(arn(WEB), requested)).toEqual(requested.slice(0, 2));
  });

  it('compares DNS names without regard to case', async () => {
    const { dir } = directory();
    const upper = [
      'IP-10-0-0-5.EU-WEST-1.COMPUTE.INTERNAL',
      'Ec2-203-0-113-10.eu-west-1.compute.AmazonAWS.com',
    ];
    expect(await dir.confirmHostNames(arn(WEB), upper)).toEqual(upper);
  });

  it('confirms nothing for an unknown, terminated or shutting-down instance', async () => {
    const { dir } = directory();
    expect(await dir.confirmHostNames(arn(UNKNOWN), ['10.0.0.5'])).toEqual([]);
    expect(await dir.confirmHostNames(arn(GONE), ['10.0.0.7'])).toEqual([]);
    // Its addresses are about to be released and may soon name another instance.
    expect(await dir.confirmHostNames(arn(LEAVING), ['10.0.0.10'])).toEqual([]);
  });

  it('does not ask EC2 about an instance in another account', async () => {
    const { dir, clientFor } = directory();
    const before = west.requestCount();
    expect(await dir.confirmHostNames(arn(WEB, 'eu-west-1', OTHER_ACCOUNT), ['10.0.0.5'])).toEqual([]);
    expect(west.requestCount()).toBe(before);
    expect(clientFor).not.toHaveBeenCalled();
  });

  it('does not ask EC2 when no name is requested', async () => {
    const { dir } = directory();
    const before = west.requestCount();
    expect(await dir.confirmHostNames(arn(WEB), [])).toEqual([]);
    expect(west.requestCount()).toBe(before);
  });
});

describe('checkTargetExists', () => {
  it('accepts running, stopped and shutting-down instances', async () => {
    const { dir } = directory();
    await expect(dir.checkTargetExists(arn(LEAVING))).resolves.toBeUndefined();
    await expect(dir.checkTargetExists(arn(WEB))).resolves.toBeUndefined();
    await expect(dir.checkTargetExists(arn(PARKED))).resolves.toBeUndefined();
  });

  it('refuses an unknown instance as Forbidden, naming it and its region', async () => {
    const { dir } = directory();
    const e = await lkpError(dir.checkTargetExists(arn(UNKNOWN)));
    expect(e.code).toBe('Forbidden');
    expect(e.message).toBe(`instance ${UNKNOWN} does not exist in eu-west-1`);
  });

  it('treats a terminated instance as not existing', async () => {
    const { dir } = directory();
    expect((await lkpError(dir.checkTargetExists(arn(GONE)))).code).toBe('Forbidden');
  });

  it('looks in the region the ARN names', async () => {
    const { dir } = directory();
    await expect(dir.checkTargetExists(arn(EAST_HOST, 'us-east-1'))).resolves.toBeUndefined();
    expect((await lkpError(dir.checkTargetExists(arn(EAST_HOST)))).code).toBe('Forbidden');
  });

  it('does not check targets in another account (no request is made)', async () => {
    const { dir } = directory();
    const before = west.requestCount();
    await expect(dir.checkTargetExists(arn(UNKNOWN, 'eu-west-1', OTHER_ACCOUNT))).resolves.toBeUndefined();
    expect(west.requestCount()).toBe(before);
  });

  it('remembers an instance it found for 5 minutes, then asks EC2 again', async () => {
    let clock = 1_000_000;
    const { dir } = directory(() => clock);
    const before = west.requestCount();
    await dir.checkTargetExists(arn(WEB));
    clock += 5 * 60_000 - 1;
    await dir.checkTargetExists(arn(WEB));
    expect(west.requestCount() - before).toBe(1);
    clock += 1;
    await dir.checkTargetExists(arn(WEB));
    expect(west.requestCount() - before).toBe(2);
  });

  it('remembers only what it found: a refusal is asked again (after the 2 s an answer is kept), per instance and region', async () => {
    let clock = 1_000_000;
    const { dir } = directory(() => clock);
    const before = west.requestCount();
    for (let i = 0; i < 2; i++) {
      expect((await lkpError(dir.checkTargetExists(arn(UNKNOWN)))).code).toBe('Forbidden');
      expect((await lkpError(dir.checkTargetExists(arn(GONE)))).code).toBe('Forbidden');
      clock += 2_000;
    }
    expect(west.requestCount() - before).toBe(4);
    await dir.checkTargetExists(arn(EAST_HOST, 'us-east-1'));
    expect((await lkpError(dir.checkTargetExists(arn(EAST_HOST)))).code).toBe('Forbidden');
  });

  it('makes one lookup for concurrent checks of one instance, and shares a refusal too', async () => {
    const { dir } = directory();
    const before = west.requestCount();
    await Promise.all(Array.from({ length: 8 }, () => dir.checkTargetExists(arn(DB))));
    expect(west.requestCount() - before).toBe(1);
    const refusals = await Promise.all(
      Array.from({ length: 3 }, () => lkpError(dir.checkTargetExists(arn(UNKNOWN)))),
    );
    expect(refusals.map((e) => e.code)).toEqual(['Forbidden', 'Forbidden', 'Forbidden']);
    expect(west.requestCount() - before).toBe(2);
  });

  it('refuses an ARN that is not an EC2 instance ARN as BadRequest', async () => {
    const { dir } = directory();
    const e = await lkpError(dir.checkTargetExists(`arn:aws:iam::${ACCOUNT}:user/alice`));
    expect(e.code).toBe('BadRequest');
  });
});

describe('one description for a host request', () => {
  it('checks the role and confirms the names with one DescribeInstances, and asks again after 2 s', async () => {
    let clock = 1_000_000;
    const { dir } = directory(() => clock);
    const before = west.requestCount();
    await dir.instanceRole(arn(WEB)).catch(() => undefined);
    expect(await dir.confirmHostNames(arn(WEB), ['10.0.0.5'])).toEqual(['10.0.0.5']);
    expect(west.requestCount() - before).toBe(1);
    clock += 2_000;
    await dir.confirmHostNames(arn(WEB), ['10.0.0.5']);
    expect(west.requestCount() - before).toBe(2);
  });

  it('does not keep a failed lookup', async () => {
    const { dir } = directory();
    const before = west.requestCount();
    await lkpError(dir.confirmHostNames(arn(LOCKED), ['10.0.0.9']));
    await lkpError(dir.confirmHostNames(arn(LOCKED), ['10.0.0.9']));
    expect(west.requestCount() - before).toBe(2);
  });
});

describe('EC2 failures', () => {
  it('turns an authorization failure into Internal, naming the missing permission', async () => {
    const { dir } = directory();
    for (const lookup of [
      dir.checkTargetExists(arn(LOCKED)),
      dir.confirmHostNames(arn(LOCKED), ['10.0.0.9']),
    ]) {
      const e = await lkpError(lookup);
      expect(e.code).toBe('Internal');
      expect(e.message).toContain('UnauthorizedOperation');
      expect(e.message).toContain('the CA role needs ec2:DescribeInstances');
      expect(e.message).not.toContain('told to fail'); // EC2's text stays in the cause
    }
  });

  it('turns an unreachable endpoint into Internal and does not keep that client', async () => {
    const port = await closedPort();
    const destroyed = vi.fn();
    const clientFor = vi.fn((region: string) => {
      const client = ec2QueryClient({
        region,
        endpoint: `http://127.0.0.1:${port}`,
        credentials: west.credentials,
        maxAttempts: 1,
      });
      client.destroy = destroyed;
      return client;
    });
    const dir = ec2Directory({ caAccount: ACCOUNT, clientFor });
    const e = await lkpError(dir.checkTargetExists(arn(WEB)));
    expect(e.code).toBe('Internal');
    expect(e.message).toContain('no answer');
    await lkpError(dir.checkTargetExists(arn(WEB)));
    expect(clientFor).toHaveBeenCalledTimes(2);
    expect(destroyed).toHaveBeenCalledTimes(2);
  });
});

describe('EC2 clients', () => {
  it('creates one client per region on first use and reuses it', async () => {
    const { dir, clientFor } = directory();
    expect(clientFor).not.toHaveBeenCalled();
    await dir.checkTargetExists(arn(WEB));
    await dir.confirmHostNames(arn(DB), ['10.0.0.6']);
    await dir.checkTargetExists(arn(UNKNOWN)).catch(() => undefined);
    expect(clientFor.mock.calls).toEqual([['eu-west-1']]);
    await dir.checkTargetExists(arn(EAST_HOST, 'us-east-1'));
    await dir.checkTargetExists(arn(EAST_HOST, 'us-east-1'));
    expect(clientFor.mock.calls).toEqual([['eu-west-1'], ['us-east-1']]);
  });

  it('by default builds a client that honours AWS_ENDPOINT_URL_EC2 and the environment credentials', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_EC2', west.url);
    vi.stubEnv('AWS_ACCESS_KEY_ID', west.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', west.credentials.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', undefined);
    const dir = ec2Directory({ caAccount: ACCOUNT });
    const before = west.requestCount();
    expect(await dir.confirmHostNames(arn(WEB), ['10.0.0.5', '10.0.0.6'])).toEqual(['10.0.0.5']);
    expect(west.requestCount()).toBe(before + 1);
  });
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

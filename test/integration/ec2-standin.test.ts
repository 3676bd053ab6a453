import { request } from 'node:http';
import aws4 from 'aws4';
import {
  DescribeInstancesCommand,
  EC2Client,
  type DescribeInstancesCommandInput,
  type Instance,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCredentials } from '../../src/local/credentials.js';
import { startEc2Standin, type Ec2Standin, type LocalInstance } from '../../src/local/ec2-standin.js';
import type { SigningCredentials } from '../../src/local/sigv4-verify.js';
import { sendRaw } from '../helpers/raw-http.js';
import { sdkClientFor } from '../helpers/ec2-clients.js';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const WEB = 'i-0123456789abcdef0';
const WEB2 = 'i-0aaaaaaaaaaaaaaaa';
const DB = 'i-0bbbbbbbbbbbbbbbb';
const GONE = 'i-0cccccccccccccccc';
const LOCKED = 'i-0dddddddddddddddd';

const INSTANCES: LocalInstance[] = [
  {
    instanceId: WEB,
    privateIp: '10.0.0.5',
    publicIp: '203.0.113.10',
    privateDnsName: 'ip-10-0-0-5.eu-west-1.compute.internal',
    publicDnsName: 'ec2-203-0-113-10.eu-west-1.compute.amazonaws.com',
    ipv6: ['2001:db8::1', '2001:db8::2'],
    tags: { Name: 'web', Team: 'a&b <ops>' },
  },
  { instanceId: WEB2, state: 'stopped', privateIp: '10.0.0.6', tags: { Name: 'web-2' } },
  { instanceId: DB, privateIp: '10.0.0.7', tags: { Name: 'db' } },
  { instanceId: GONE, state: 'terminated', privateIp: '10.0.0.8', tags: { Name: 'web' } },
  { instanceId: LOCKED },
];

let ec2: Ec2Standin;
let sdk: EC2Client;
beforeAll(async () => {
  ec2 = await startEc2Standin({
    region: REGION,
    account: ACCOUNT,
    instances: INSTANCES,
    failures: { [LOCKED]: 'UnauthorizedOperation' },
  });
  sdk = sdkClientFor(ec2);
});
afterAll(async () => {
  sdk.destroy();
  await ec2.close();
});

interface Reply {
  status: number;
  contentType: string;
  body: string;
}

/** POSTs a form body signed with aws4 (independent of the SDK) for `ec2` in `region`. */
async function post(
  body: string,
  opts: { credentials?: SigningCredentials; region?: string; unsigned?: boolean } = {},
): Promise<Reply> {
  const url = new URL(ec2.url);
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
  };
  const signed = opts.unsigned
    ? { headers }
    : aws4.sign(
        {
          host: url.host,
          path: '/',
          method: 'POST',
          service: 'ec2',
          region: opts.region ?? REGION,
          body,
          headers,
        },
        opts.credentials ?? ec2.credentials,
      );
  const reply = await sendRaw(ec2.url, { method: 'POST', headers: signed.headers }, body);
  return { status: reply.status, contentType: reply.headers['content-type'] ?? '', body: reply.body };
}

const describeBody = (...params: string[]) =>
  ['Action=DescribeInstances', 'Version=2016-11-15', ...params].join('&');
const errorCode = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
const ids = (instances: Instance[]) => instances.map((i) => i.InstanceId);

async function sdkDescribe(input: DescribeInstancesCommandInput): Promise<Instance[]> {
  const out = await sdk.send(new DescribeInstancesCommand(input));
  return out.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
}

describe('EC2 stand-in: wire format', () => {
  it('answers DescribeInstances in the EC2 XML shape', async () => {
    const reply = await post(describeBody(`InstanceId.1=${WEB}`));
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^text\/xml/);
    expect(reply.body).toContain(
      '<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">',
    );
    expect(reply.body).toMatch(
      new RegExp(
        `<requestId>[0-9a-f-]{36}</requestId><reservationSet><item><reservationId>r-[0-9a-f]{17}</reservationId>` +
          `<ownerId>${ACCOUNT}</ownerId><groupSet></groupSet><instancesSet><item><instanceId>${WEB}</instanceId>` +
          '<instanceState><code>16</code><name>running</name></instanceState>',
      ),
    );
    expect(reply.body).toContain('<ipAddress>203.0.113.10</ipAddress>');
    expect(reply.body).toContain('<key>Team</key><value>a&amp;b &lt;ops&gt;</value>');
  });

  it('is parsed by the AWS SDK into Reservations[].Instances[] with every field the CA reads', async () => {
    const out = await sdk.send(new DescribeInstancesCommand({ InstanceIds: [WEB] }));
    expect(out.Reservations).toHaveLength(1);
    expect(out.Reservations?.[0]?.OwnerId).toBe(ACCOUNT);
    const [instance] = out.Reservations?.[0]?.Instances ?? [];
    expect(instance).toMatchObject({
      InstanceId: WEB,
      State: { Code: 16, Name: 'running' },
      PrivateIpAddress: '10.0.0.5',
      PublicIpAddress: '203.0.113.10',
      PrivateDnsName: 'ip-10-0-0-5.eu-west-1.compute.internal',
      PublicDnsName: 'ec2-203-0-113-10.eu-west-1.compute.amazonaws.com',
      Ipv6Address: '2001:db8::1',
      Tags: [
        { Key: 'Name', Value: 'web' },
        { Key: 'Team', Value: 'a&b <ops>' },
      ],
    });
    const [nic] = instance?.NetworkInterfaces ?? [];
    expect(nic).toMatchObject({
      PrivateIpAddress: '10.0.0.5',
      PrivateDnsName: 'ip-10-0-0-5.eu-west-1.compute.internal',
      Association: {
        PublicIp: '203.0.113.10',
        PublicDnsName: 'ec2-203-0-113-10.eu-west-1.compute.amazonaws.com',
      },
      PrivateIpAddresses: [
        { PrivateIpAddress: '10.0.0.5', Primary: true, Association: { PublicIp: '203.0.113.10' } },
      ],
      Ipv6Addresses: [{ Ipv6Address: '2001:db8::1' }, { Ipv6Address: '2001:db8::2' }],
    });
  });

  it('reports a terminated instance without addresses or network interfaces, as EC2 does', async () => {
    const [gone] = await sdkDescribe({ InstanceIds: [GONE] });
    expect(gone?.State).toEqual({ Code: 48, Name: 'terminated' });
    expect(gone?.PrivateIpAddress).toBeUndefined();
    expect(gone?.PrivateDnsName).toBe('');
    expect(gone?.NetworkInterfaces).toEqual([]);
  });

  it('answers several InstanceId.N in one response', async () => {
    expect(ids(await sdkDescribe({ InstanceIds: [DB, WEB] }))).toEqual([WEB, DB]);
    expect(ids(await sdkDescribe({}))).toEqual(INSTANCES.map((i) => i.instanceId));
  });

  it('answers unknown and malformed ids with EC2 error XML and status 400', async () => {
    const reply = await post(describeBody('InstanceId.1=i-0eeeeeeeeeeeeeeee'));
    expect(reply.status).toBe(400);
    expect(reply.body).toMatch(
      /^<\?xml[^>]*>\n<Response><Errors><Error><Code>InvalidInstanceID\.NotFound<\/Code><Message>The instance ID 'i-0eeeeeeeeeeeeeeee' does not exist<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>/,
    );
    const two = await post(
      describeBody(
        `InstanceId.1=${WEB}`,
        'InstanceId.2=i-0eeeeeeeeeeeeeeee',
        'InstanceId.3=i-0ffffffffffffffff',
      ),
    );
    expect(two.body).toContain("The instance IDs 'i-0eeeeeeeeeeeeeeee, i-0ffffffffffffffff' do not exist");
    const malformed = await post(describeBody('InstanceId.1=web'));
    expect([malformed.status, errorCode(malformed.body)]).toEqual([400, 'InvalidInstanceID.Malformed']);
    await expect(sdkDescribe({ InstanceIds: ['i-0eeeeeeeeeeeeeeee'] })).rejects.toMatchObject({
      name: 'InvalidInstanceID.NotFound',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('answers a configured failure for an instance id', async () => {
    await expect(sdkDescribe({ InstanceIds: [LOCKED] })).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('refuses other actions, versions, unknown or repeated parameters and other paths', async () => {
    const cases: Array<[string, number, string]> = [
      ['Action=RunInstances&Version=2016-11-15', 400, 'InvalidAction'],
      ['Action=DescribeInstances&Version=2014-01-01', 400, 'InvalidParameterValue'],
      [describeBody('MaxResults=5'), 400, 'UnknownParameter'],
      [describeBody('Filter.1.Nam=tag:Name'), 400, 'UnknownParameter'],
      [describeBody(`InstanceId.1=${WEB}`, `InstanceId.1=${DB}`), 400, 'InvalidParameterValue'],
    ];
    for (const [body, status, code] of cases) {
      const reply = await post(body);
      expect([body, reply.status, errorCode(reply.body)]).toEqual([body, status, code]);
    }
    const reply = await new Promise<number>((resolve, reject) =>
      request(`${ec2.url}/other`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end(),
    );
    expect(reply).toBe(400);
  });

  it('serves the list given by setInstances and counts every request', async () => {
    const before = ec2.requestCount();
    ec2.setInstances([{ instanceId: DB, privateIp: '10.0.0.70' }]);
    try {
      const [db] = await sdkDescribe({ InstanceIds: [DB] });
      expect(db?.PrivateIpAddress).toBe('10.0.0.70');
      await expect(sdkDescribe({ InstanceIds: [WEB] })).rejects.toMatchObject({
        name: 'InvalidInstanceID.NotFound',
      });
      expect(ec2.requestCount()).toBe(before + 2);
      expect(() => ec2.setInstances([{ instanceId: 'web' }])).toThrow(/i-0123456789abcdef0/);
    } finally {
      ec2.setInstances(INSTANCES);
    }
  });
});

describe('EC2 stand-in: filters', () => {
  it('filters on tag:Name, with several values meaning any of them', async () => {
    expect(ids(await sdkDescribe({ Filters: [{ Name: 'tag:Name', Values: ['db'] }] }))).toEqual([DB]);
    expect(ids(await sdkDescribe({ Filters: [{ Name: 'tag:Name', Values: ['db', 'web-2'] }] }))).toEqual([
      WEB2,
      DB,
    ]);
    expect(ids(await sdkDescribe({ Filters: [{ Name: 'tag:Name', Values: ['we'] }] }))).toEqual([]);
  });

  it('supports the * and ? wildcards in filter values', async () => {
    expect(ids(await sdkDescribe({ Filters: [{ Name: 'tag:Name', Values: ['web*'] }] }))).toEqual([
      WEB,
      WEB2,
      GONE,
    ]);
    expect(ids(await sdkDescribe({ Filters: [{ Name: 'tag:Name', Values: ['we?'] }] }))).toEqual([WEB, GONE]);
    expect(ids(await sdkDescribe({ Filters: [{ Name: 'tag:Team', Values: ['a&b*'] }] }))).toEqual([WEB]);
  });

  it('filters on instance-state-name and combines filters with AND', async () => {
    expect(
      ids(await sdkDescribe({ Filters: [{ Name: 'instance-state-name', Values: ['stopped'] }] })),
    ).toEqual([WEB2]);
    const live = await sdkDescribe({
      Filters: [
        { Name: 'tag:Name', Values: ['web'] },
        { Name: 'instance-state-name', Values: ['running', 'stopped'] },
      ],
    });
    expect(ids(live)).toEqual([WEB]);
  });

  it('combines filters with InstanceId.N', async () => {
    const found = await sdkDescribe({
      InstanceIds: [WEB, DB],
      Filters: [{ Name: 'tag:Name', Values: ['db'] }],
    });
    expect(ids(found)).toEqual([DB]);
  });

  it('refuses unsupported filters and filters without values', async () => {
    await expect(sdkDescribe({ Filters: [{ Name: 'vpc-id', Values: ['vpc-1'] }] })).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    for (const params of [['Filter.1.Name=tag:Name'], ['Filter.1.Name=tag:Name', 'Filter.2.Value.1=web']]) {
      const reply = await post(describeBody(...params));
      expect([reply.status, errorCode(reply.body)]).toEqual([400, 'InvalidParameterValue']);
    }
  });
});

describe('EC2 stand-in: SigV4', () => {
  it('refuses a request signed with the wrong secret as 401 AuthFailure', async () => {
    const wrong = { ...ec2.credentials, secretAccessKey: 'not-the-secret' };
    const reply = await post(describeBody(), { credentials: wrong });
    expect([reply.status, errorCode(reply.body)]).toEqual([401, 'AuthFailure']);
    expect(reply.body).not.toContain(ec2.credentials.secretAccessKey);
    const client = new EC2Client({ region: REGION, endpoint: ec2.url, credentials: wrong, maxAttempts: 1 });
    await expect(client.send(new DescribeInstancesCommand({}))).rejects.toMatchObject({
      name: 'AuthFailure',
    });
    client.destroy();
  });

  it("accepts a caller it was told about (the local user's lkp), and only with that caller's secret", async () => {
    const alice = localCredentials();
    const withCaller = await startEc2Standin({
      region: REGION,
      account: ACCOUNT,
      instances: INSTANCES,
      callers: [alice],
    });
    try {
      const client = (credentials: SigningCredentials) =>
        new EC2Client({ region: REGION, endpoint: withCaller.url, credentials, maxAttempts: 1 });
      const asAlice = client(alice);
      const out = await asAlice.send(new DescribeInstancesCommand({ InstanceIds: [DB] }));
      expect(out.Reservations?.[0]?.Instances?.[0]?.PrivateIpAddress).toBe('10.0.0.7');
      const forged = client({ ...alice, secretAccessKey: withCaller.credentials.secretAccessKey });
      await expect(forged.send(new DescribeInstancesCommand({}))).rejects.toMatchObject({
        name: 'AuthFailure',
      });
      const own = client(withCaller.credentials);
      expect((await own.send(new DescribeInstancesCommand({ InstanceIds: [DB] }))).Reservations).toHaveLength(
        1,
      );
      for (const c of [asAlice, forged, own]) c.destroy();
    } finally {
      await withCaller.close();
    }
    // The suite's stand-in was told about no caller: alice's key is a stranger there.
    expect(errorCode((await post(describeBody(), { credentials: alice })).body)).toBe('AuthFailure');
  });

  it('refuses an unknown access key, another region and another service', async () => {
    const stranger = {
      accessKeyId: 'AKIAAAAAAAAAAAAAAAAA',
      secretAccessKey: ec2.credentials.secretAccessKey,
    };
    expect(errorCode((await post(describeBody(), { credentials: stranger })).body)).toBe('AuthFailure');
    expect((await post(describeBody(), { region: 'us-east-1' })).status).toBe(401);
    const url = new URL(ec2.url);
    const body = describeBody();
    const sts = aws4.sign(
      { host: url.host, path: '/', method: 'POST', service: 'sts', region: REGION, body },
      ec2.credentials,
    );
    const status = await new Promise<number>((resolve, reject) =>
      request(ec2.url, { method: 'POST', headers: sts.headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end(body),
    );
    expect(status).toBe(401);
  });

  it('refuses an unsigned request', async () => {
    const reply = await post(describeBody(), { unsigned: true });
    expect([reply.status, errorCode(reply.body)]).toEqual([401, 'MissingAuthenticationToken']);
  });
});

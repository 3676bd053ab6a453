import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ec2Error, ec2QueryClient, encodeQuery, type Ec2ClientOptions } from '../../src/aws/ec2-query.js';
import { startEc2Standin, type Ec2Standin } from '../../src/local/ec2-standin.js';
import { childElement, childText } from '../../src/xml.js';
import { rejectionOf } from '../helpers/rejection.js';

const REGION = 'eu-west-1';
const INSTANCE = 'i-0123456789abcdef0';
const LOCKED = 'i-0dddddddddddddddd';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const OK_XML =
  '<?xml version="1.0"?><DescribeInstancesResponse xmlns="x"><requestId>1</requestId></DescribeInstancesResponse>';
const errorXml = (code: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>told to fail</Message></Error></Errors><RequestID>r</RequestID></Response>`;

let standin: Ec2Standin;
beforeAll(async () => {
  standin = await startEc2Standin({
    region: REGION,
    account: '111122223333',
    instances: [
      { instanceId: INSTANCE, privateIp: '10.0.0.5' },
      { instanceId: LOCKED, privateIp: '10.0.0.9' },
    ],
    failures: { [LOCKED]: 'UnauthorizedOperation' },
  });
});
afterAll(() => standin.close());

/** A loopback server that answers each request with the next of `answers`, recording what it got. */
interface FakeEc2 {
  url: string;
  requests: Array<{ headers: IncomingMessage['headers']; body: string }>;
}
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function fakeEc2(...answers: Array<(res: ServerResponse) => void>): Promise<FakeEc2> {
  const fake: FakeEc2 = { url: '', requests: [] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      fake.requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = answers[fake.requests.length - 1];
      if (answer) answer(res);
      else res.writeHead(500).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

const xml =
  (status: number, body: string, headers: Record<string, string> = {}) =>
  (res: ServerResponse) =>
    res.writeHead(status, { 'Content-Type': 'text/xml', ...headers }).end(body);

const client = (endpoint: string, o: Partial<Ec2ClientOptions> = {}) =>
  ec2QueryClient({ region: REGION, endpoint, credentials: CREDENTIALS, ...o });

const failure = (p: Promise<unknown>): Promise<Error> => rejectionOf(p, Error);

describe('encodeQuery', () => {
  it('flattens lists and structures the Query API way, after Action and Version', () => {
    const body = encodeQuery('AuthorizeSecurityGroupIngress', {
      GroupId: 'sg-1',
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          IpRanges: [{ CidrIp: '10.0.0.1/32', Description: 'a b' }],
        },
        { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Ipv6Ranges: [{ CidrIpv6: '::1/128' }] },
      ],
      Skipped: undefined,
    });
    expect([...new URLSearchParams(body)]).toEqual([
      ['Action', 'AuthorizeSecurityGroupIngress'],
      ['Version', '2016-11-15'],
      ['GroupId', 'sg-1'],
      ['IpPermissions.1.IpProtocol', 'tcp'],
      ['IpPermissions.1.FromPort', '22'],
      ['IpPermissions.1.ToPort', '22'],
      ['IpPermissions.1.IpRanges.1.CidrIp', '10.0.0.1/32'],
      ['IpPermissions.1.IpRanges.1.Description', 'a b'],
      ['IpPermissions.2.IpProtocol', 'tcp'],
      ['IpPermissions.2.FromPort', '443'],
      ['IpPermissions.2.ToPort', '443'],
      ['IpPermissions.2.Ipv6Ranges.1.CidrIpv6', '::1/128'],
    ]);
    // RFC 3986 percent-encoding: no '+' for spaces, reserved characters escaped.
    expect(body).toContain('IpRanges.1.CidrIp=10.0.0.1%2F32&IpPermissions.1.IpRanges.1.Description=a%20b');
  });

  it('numbers lists of values, filters and nested rule structures', () => {
    const params = (body: string) => [...new URLSearchParams(body)].slice(2);
    expect(params(encodeQuery('DescribeInstances', { InstanceId: ['i-1', 'i-2'] }))).toEqual([
      ['InstanceId.1', 'i-1'],
      ['InstanceId.2', 'i-2'],
    ]);
    expect(
      params(
        encodeQuery('X', {
          Filter: [{ Name: 'group-id', Value: ['sg-1'] }],
          MaxResults: 1000,
          NextToken: 't',
        }),
      ),
    ).toEqual([
      ['Filter.1.Name', 'group-id'],
      ['Filter.1.Value.1', 'sg-1'],
      ['MaxResults', '1000'],
      ['NextToken', 't'],
    ]);
    expect(params(encodeQuery('X', { SecurityGroupRuleId: ['sgr-1'] }))).toEqual([
      ['SecurityGroupRuleId.1', 'sgr-1'],
    ]);
    expect(
      params(
        encodeQuery('X', {
          SecurityGroupRule: [
            { SecurityGroupRuleId: 'sgr-1', SecurityGroupRule: { Description: 'd', FromPort: 22 } },
          ],
        }),
      ),
    ).toEqual([
      ['SecurityGroupRule.1.SecurityGroupRuleId', 'sgr-1'],
      ['SecurityGroupRule.1.SecurityGroupRule.Description', 'd'],
      ['SecurityGroupRule.1.SecurityGroupRule.FromPort', '22'],
    ]);
  });
});

describe('ec2QueryClient', () => {
  it('refuses a region that is not a region name (it becomes part of a host name)', () => {
    expect(() => ec2QueryClient({ region: 'evil.example/x', credentials: CREDENTIALS })).toThrow(
      /cannot call EC2: "evil.example\/x" is not a region of any AWS partition/,
    );
  });
});

describe('against the EC2 stand-in (which verifies SigV4 for service ec2)', () => {
  it('signs requests the stand-in accepts and returns the answer’s root element', async () => {
    const ec2 = client(standin.url, { credentials: standin.credentials });
    const root = await ec2.call('DescribeInstances', { InstanceId: [INSTANCE] });
    ec2.destroy();
    expect(root.name).toBe('DescribeInstancesResponse');
    const reservation = childElement(childElement(root, 'reservationSet'), 'item');
    const instance = childElement(childElement(reservation, 'instancesSet'), 'item');
    expect(childText(instance, 'instanceId')).toBe(INSTANCE);
    expect(childText(instance, 'privateIpAddress')).toBe('10.0.0.5');
  });

  it('takes credentials from a provider function', async () => {
    const ec2 = client(standin.url, { credentials: () => Promise.resolve(standin.credentials) });
    await expect(ec2.call('DescribeInstances', { InstanceId: [INSTANCE] })).resolves.toMatchObject({
      name: 'DescribeInstancesResponse',
    });
    ec2.destroy();
  });

  it('a wrong secret fails the stand-in’s signature check: Ec2Error AuthFailure, not retried', async () => {
    const before = standin.requestCount();
    const ec2 = client(standin.url, { credentials: { ...standin.credentials, secretAccessKey: 'wrong' } });
    const e = await failure(ec2.call('DescribeInstances', { InstanceId: [INSTANCE] }));
    ec2.destroy();
    expect(e).toBeInstanceOf(Ec2Error);
    expect(e).toMatchObject({ code: 'AuthFailure', status: 401 });
    expect(standin.requestCount()).toBe(before + 1);
  });

  it('turns EC2’s error document into an Ec2Error with EC2’s code', async () => {
    const ec2 = client(standin.url, { credentials: standin.credentials });
    const e = await failure(ec2.call('DescribeInstances', { InstanceId: [LOCKED] }));
    ec2.destroy();
    expect(e).toMatchObject({ name: 'Ec2Error', code: 'UnauthorizedOperation', status: 403 });
  });
});

describe('the wire', () => {
  it('POSTs a form body signed with SigV4 for ec2 in the region, with the session token', async () => {
    const fake = await fakeEc2(xml(200, OK_XML));
    const ec2 = client(fake.url, { credentials: { ...CREDENTIALS, sessionToken: 'token' } });
    await ec2.call('DescribeInstances', { InstanceId: [INSTANCE] });
    ec2.destroy();
    const [request] = fake.requests;
    expect(request?.body).toBe(encodeQuery('DescribeInstances', { InstanceId: [INSTANCE] }));
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
    expect(request?.headers['x-amz-security-token']).toBe('token');
    expect(request?.headers.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\\d{8}/${REGION}/ec2/aws4_request, SignedHeaders=`,
      ),
    );
  });

  it('refuses a 200 answer for another action', async () => {
    const fake = await fakeEc2(xml(200, OK_XML));
    const e = await failure(client(fake.url).call('DescribeSecurityGroupRules', {}));
    expect(e).not.toBeInstanceOf(Ec2Error);
    expect(e.message).toMatch(/no usable error code/);
  });
});

describe('retries, as the SDK standard strategy (issue 17, item 7)', () => {
  it('tries a throttled call again (RequestLimitExceeded is throttling, whatever the status)', async () => {
    const fake = await fakeEc2(xml(503, errorXml('RequestLimitExceeded')), xml(200, OK_XML));
    await expect(client(fake.url).call('DescribeInstances', {})).resolves.toMatchObject({
      name: 'DescribeInstancesResponse',
    });
    expect(fake.requests).toHaveLength(2);
  });

  it('tries 500, 502, 503 and 504 again, and gives up after three attempts', async () => {
    const fake = await fakeEc2(
      xml(500, errorXml('InternalError')),
      xml(502, 'not xml'),
      xml(504, 'not xml'),
      xml(200, OK_XML),
    );
    const e = await failure(client(fake.url).call('DescribeInstances', {}));
    expect(e.message).toMatch(/HTTP 504 with no usable error code/);
    expect(fake.requests).toHaveLength(3);
  });

  it('tries a connection the server reset again (the request got no answer)', async () => {
    const fake = await fakeEc2((res) => res.socket?.destroy(), xml(200, OK_XML));
    await expect(client(fake.url).call('DescribeInstances', {})).resolves.toMatchObject({
      name: 'DescribeInstancesResponse',
    });
    expect(fake.requests).toHaveLength(2);
  });

  it('tries a timed-out attempt again, within the whole call’s deadline', async () => {
    const fake = await fakeEc2(() => undefined, xml(200, OK_XML));
    const answer = client(fake.url, { requestTimeoutMs: 200, totalTimeoutMs: 5000 }).call(
      'DescribeInstances',
      {},
    );
    await expect(answer).resolves.toMatchObject({ name: 'DescribeInstancesResponse' });
    expect(fake.requests).toHaveLength(2);
  });

  it('does not retry a client error, a 501, nor anything with maxAttempts 1', async () => {
    const refused = await fakeEc2(xml(400, errorXml('InvalidInstanceID.Malformed')), xml(200, OK_XML));
    expect(await failure(client(refused.url).call('DescribeInstances', {}))).toMatchObject({
      code: 'InvalidInstanceID.Malformed',
      status: 400,
    });
    expect(refused.requests).toHaveLength(1);
    const unsupported = await fakeEc2(xml(501, errorXml('NotImplemented')), xml(200, OK_XML));
    expect(await failure(client(unsupported.url).call('DescribeInstances', {}))).toMatchObject({
      status: 501,
    });
    expect(unsupported.requests).toHaveLength(1);
    const throttled = await fakeEc2(xml(503, errorXml('RequestLimitExceeded')), xml(200, OK_XML));
    const e = await failure(client(throttled.url, { maxAttempts: 1 }).call('DescribeInstances', {}));
    expect(e).toMatchObject({ code: 'RequestLimitExceeded' });
    expect(throttled.requests).toHaveLength(1);
  });
});

describe('bounds', () => {
  it('gives up on a server that does not answer within the request timeout', async () => {
    const fake = await fakeEc2(() => undefined);
    const started = Date.now();
    const e = await failure(
      client(fake.url, { requestTimeoutMs: 200, maxAttempts: 1 }).call('DescribeInstances', {}),
    );
    expect(e.message).toBe('EC2 did not answer within 200 ms');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('gives up on a server that drips its answer past the request timeout', async () => {
    const fake = await fakeEc2((res) => {
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.write('<DescribeInstancesResponse>');
    });
    const e = await failure(
      client(fake.url, { requestTimeoutMs: 200, maxAttempts: 1 }).call('DescribeInstances', {}),
    );
    expect(e.message).toMatch(/did not answer within 200 ms/);
  });

  it('refuses an answer larger than the cap, announced or streamed', async () => {
    const big = `<DescribeInstancesResponse>${'x'.repeat(5000)}</DescribeInstancesResponse>`;
    const announced = await fakeEc2(xml(200, big));
    const e1 = await failure(client(announced.url, { maxResponseBytes: 4096 }).call('DescribeInstances', {}));
    expect(e1.message).toBe('EC2 answer is larger than 4096 bytes');
    const streamed = await fakeEc2((res) => {
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.write(big.slice(0, 3000));
      setTimeout(() => res.end(big.slice(3000)), 20);
    });
    const e2 = await failure(client(streamed.url, { maxResponseBytes: 4096 }).call('DescribeInstances', {}));
    expect(e2.message).toBe('EC2 answer is larger than 4096 bytes');
  });
});

describe('hostile XML', () => {
  it.each([
    [
      'a DOCTYPE with an entity',
      `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><DescribeInstancesResponse>&x;</DescribeInstancesResponse>`,
      /DOCTYPE, ENTITY/,
    ],
    [
      'an undeclared entity',
      '<DescribeInstancesResponse><requestId>&x;</requestId></DescribeInstancesResponse>',
      /entity other than the predefined/,
    ],
    [
      'a processing instruction',
      '<DescribeInstancesResponse><?php x?></DescribeInstancesResponse>',
      /processing/,
    ],
    ['unclosed elements', '<DescribeInstancesResponse><requestId>', /not well-formed/],
  ])('refuses a 200 answer with %s', async (_what, body, message) => {
    const fake = await fakeEc2(xml(200, body));
    const e = await failure(client(fake.url).call('DescribeInstances', {}));
    expect(e).not.toBeInstanceOf(Ec2Error);
    expect(e.message).toMatch(message);
  });

  it('reads no code from a hostile error document', async () => {
    const body = `<!DOCTYPE r [<!ENTITY c "InvalidInstanceID.NotFound">]>${errorXml('&c;')}`;
    const fake = await fakeEc2(xml(400, body));
    const e = await failure(client(fake.url).call('DescribeInstances', {}));
    expect(e).not.toBeInstanceOf(Ec2Error);
  });

  it('refuses an error code that is not a plain EC2 code', async () => {
    const fake = await fakeEc2(xml(400, errorXml('Bad code; rm -rf')));
    const e = await failure(client(fake.url).call('DescribeInstances', {}));
    expect(e).not.toBeInstanceOf(Ec2Error);
  });
});

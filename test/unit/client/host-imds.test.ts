import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  imdsEndpoint,
  instanceArn,
  parseIdentityDocument,
  readInstanceMetadata,
} from '../../../client/lib/host/imds.js';
import { startImdsStandin, type ImdsStandin } from '../../../src/local/imds-standin.js';

let imds: ImdsStandin;
beforeEach(async () => {
  imds = await startImdsStandin({
    region: 'eu-west-1',
    account: '111122223333',
    instanceId: 'i-0123456789abcdef0',
    localIpv4: '10.0.0.5',
    localHostname: 'ip-10-0-0-5.eu-west-1.compute.internal',
  });
});
afterEach(() => imds.close());

describe('readInstanceMetadata', () => {
  it('reads the identity document and addresses with an IMDSv2 token', async () => {
    const metadata = await readInstanceMetadata(imds.url);
    expect(metadata).toEqual({
      region: 'eu-west-1',
      account: '111122223333',
      instanceId: 'i-0123456789abcdef0',
      instanceArn: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0',
      localIpv4: '10.0.0.5',
      localHostname: 'ip-10-0-0-5.eu-west-1.compute.internal',
    });
    expect(imds.requests[0]).toBe('PUT /latest/api/token');
    expect(imds.requests.slice(1).every((r) => r.startsWith('GET /latest/'))).toBe(true);
  });

  it('says what to do when no IMDS answers', async () => {
    const gone = await startImdsStandin({
      region: 'eu-west-1',
      account: '111122223333',
      instanceId: 'i-0123456789abcdef0',
    });
    await gone.close();
    await expect(readInstanceMetadata(gone.url)).rejects.toThrow(/AWS_EC2_METADATA_SERVICE_ENDPOINT/);
  });

  it('the stand-in refuses reads without a token, as IMDSv2-only instances do', async () => {
    const response = await fetch(`${imds.url}/latest/meta-data/local-ipv4`);
    expect(response.status).toBe(401);
  });
});

describe('imdsEndpoint', () => {
  it('honours the SDK variable and defaults to the link-local address', () => {
    expect(imdsEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9/' })).toBe(
      'http://127.0.0.1:9',
    );
    expect(imdsEndpoint({})).toBe('http://169.254.169.254');
  });
});

describe('parseIdentityDocument and instanceArn', () => {
  it.each([
    [{ region: 'us-east-1', accountId: '1234', instanceId: 'i-0123456789abcdef0' }, /accountId/],
    [{ region: "us-east-1'", accountId: '111122223333', instanceId: 'i-0123456789abcdef0' }, /region/],
    [{ region: 'us-east-1', accountId: '111122223333', instanceId: 'i-0123;id' }, /instanceId/],
  ])('rejects %j', (doc, message) => {
    expect(() => parseIdentityDocument(JSON.stringify(doc))).toThrow(message);
  });

  it('names the partition from the region', () => {
    const ids = { account: '111122223333', instanceId: 'i-0123456789abcdef0' };
    expect(instanceArn({ ...ids, region: 'cn-north-1' })).toMatch(/^arn:aws-cn:ec2:cn-north-1:/);
    expect(instanceArn({ ...ids, region: 'us-gov-west-1' })).toMatch(/^arn:aws-us-gov:/);
  });
});

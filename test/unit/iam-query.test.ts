import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IamError, iamEndpoint, iamQueryClient } from '../../src/aws/iam-query.js';
import { QueryError } from '../../src/aws/query-client.js';
import { startIamStandin, type IamStandin } from '../../src/local/iam-standin.js';
import { childElement, childText } from '../../src/xml.js';
import { rejectionOf } from '../helpers/rejection.js';

const ROLE = { roleName: 'web', roleId: 'AROAWEBROLE0000000001' };

let iam: IamStandin;
beforeAll(async () => {
  iam = await startIamStandin({ account: '111122223333', instanceProfiles: { 'web-profile': [ROLE] } });
});
afterAll(() => iam.close());

const client = (o: { partition?: string; maxAttempts?: number } = {}) =>
  iamQueryClient({ endpoint: iam.url, credentials: iam.credentials, maxAttempts: 1, ...o });

describe('iamEndpoint', () => {
  it("is the partition's global endpoint unless an endpoint URL is configured", () => {
    const url = (partition: string, env: NodeJS.ProcessEnv) => iamEndpoint(partition, undefined, env).url;
    expect(iamEndpoint('aws', undefined, {})).toEqual({
      url: 'https://iam.amazonaws.com',
      signingRegion: 'us-east-1',
    });
    expect(iamEndpoint('aws-cn', undefined, {})).toEqual({
      url: 'https://iam.cn-north-1.amazonaws.com.cn',
      signingRegion: 'cn-north-1',
    });
    expect(url('aws-us-gov', {})).toBe('https://iam.us-gov.amazonaws.com');
    expect(url('aws', { AWS_ENDPOINT_URL: 'http://all' })).toBe('http://all');
    expect(url('aws', { AWS_ENDPOINT_URL: 'http://all', AWS_ENDPOINT_URL_IAM: 'http://iam' })).toBe(
      'http://iam',
    );
    expect(
      url('aws', { AWS_ENDPOINT_URL_IAM: 'http://iam', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }),
    ).toBe('https://iam.amazonaws.com');
  });

  it('refuses a partition lkp does not support, or one that does not exist, rather than guess a host', () => {
    expect(() => iamEndpoint('aws-iso', undefined, {})).toThrow(
      /cannot call IAM: region us-iso-east-1 is in partition aws-iso, which lkp does not support/,
    );
    expect(() => iamEndpoint('aws-moon', undefined, {})).toThrow('"aws-moon" is not an AWS partition');
  });
});

describe('iamQueryClient', () => {
  it('reads GetInstanceProfile from a server that checks the signature for iam in us-east-1', async () => {
    const out = await client().call('GetInstanceProfile', { InstanceProfileName: 'web-profile' });
    const profile = childElement(childElement(out, 'GetInstanceProfileResult'), 'InstanceProfile');
    const role = childElement(childElement(profile, 'Roles'), 'member');
    expect(childText(role, 'RoleId')).toBe(ROLE.roleId);
    expect(childText(role, 'RoleName')).toBe(ROLE.roleName);
  });

  it('is refused when signed for another region (aws-cn signs in cn-north-1)', async () => {
    const e = await rejectionOf(
      client({ partition: 'aws-cn' }).call('GetInstanceProfile', { InstanceProfileName: 'web-profile' }),
      IamError,
    );
    expect(e.status).toBe(403);
  });

  it('turns an IAM error document into an IamError with its code', async () => {
    const e = await rejectionOf(
      client().call('GetInstanceProfile', { InstanceProfileName: 'nope' }),
      IamError,
    );
    expect(e).toBeInstanceOf(QueryError);
    expect(e).toMatchObject({ name: 'IamError', code: 'NoSuchEntity', status: 404 });
    expect(e.message).toMatch(/^IAM GetInstanceProfile: NoSuchEntity: /);
  });

  it('tries a throttled request once more', async () => {
    iam.throttleNext(1);
    const before = iam.actions().length;
    await client({ maxAttempts: 2 }).call('GetInstanceProfile', { InstanceProfileName: 'web-profile' });
    expect(iam.actions().length - before).toBe(2);
  });
});

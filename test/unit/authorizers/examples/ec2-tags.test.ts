import { describe, expect, it } from 'vitest';
import { ec2TagsPolicy, groupsOf, userGroupsFromEnv } from '../../../../authorizers/examples/ec2-tags.js';
import { ec2InstanceLookup } from '../../../../authorizers/examples/lib/instances.js';
import { ACCOUNT, DENIED, INSTANCE_ID, hostRequest, roleArn, userArn, userRequest } from '../fixtures.js';
import { fakeEc2 } from './fake-ec2.js';

const SSO_ROLE = 'AWSReservedSSO_Developers_0123456789abcdef';
const lookup = ec2InstanceLookup(
  fakeEc2({
    [INSTANCE_ID]: { owner: ACCOUNT, tags: { 'lkp:allow-groups': 'dev, Developers ,ops' } },
    'i-0fffffffffffffff0': { owner: ACCOUNT, tags: { Name: 'untagged' } },
  }),
);
const policy = ec2TagsPolicy({
  userGroups: { alice: ['dev'], [`${ACCOUNT}:bob`]: ['ops'], carol: ['qa'] },
  lookup,
});
const UNTAGGED = `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0fffffffffffffff0`;
const MISSING = `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0eeeeeeeeeeeeeee0`;

describe('ec2-tags policy', () => {
  it.each([
    ['an IAM user in an allowed group', userArn('alice'), true],
    ['an IAM user mapped with an account prefix', userArn('bob'), true],
    [
      'the same name in another account, when the mapping pins the account',
      userArn('bob', '444455556666'),
      false,
    ],
    ['an IAM user in no allowed group', userArn('carol'), false],
    ['an unmapped IAM user', userArn('dave'), false],
    ['a role named like an allowed group', roleArn('ops', 'olga'), true],
    ['an SSO role whose permission set is allowed', roleArn(SSO_ROLE, 'erin@example.com'), true],
    ['another role', roleArn('Finance', 'fred'), false],
    ['a federated user', `arn:aws:sts::${ACCOUNT}:federated-user/alice`, false],
  ])('%s → %s', async (_, from, allowed) => {
    await expect(policy(userRequest(from))).resolves.toEqual(allowed ? { Authorized: true } : DENIED);
  });

  it('denies an instance without the tag, and one that is not found', async () => {
    await expect(policy(userRequest(userArn('alice'), { RemoteInstanceArn: UNTAGGED }))).resolves.toEqual(
      DENIED,
    );
    await expect(policy(userRequest(userArn('alice'), { RemoteInstanceArn: MISSING }))).resolves.toEqual({
      Authorized: false,
      Reason: `instance ${MISSING} not found`,
    });
  });

  it("allows hosts from the instance's own session", async () => {
    await expect(policy(hostRequest(roleArn('web', INSTANCE_ID)))).resolves.toEqual({ Authorized: true });
  });

  it('derives groups from SSO role names', () => {
    const from = userRequest(roleArn(SSO_ROLE, 'erin')).From;
    expect(groupsOf(from, {})).toEqual([SSO_ROLE, 'Developers']);
  });

  it('reads LKP_USER_GROUPS', () => {
    expect(userGroupsFromEnv({})).toEqual({});
    expect(userGroupsFromEnv({ LKP_USER_GROUPS: '{"alice":["dev"]}' })).toEqual({ alice: ['dev'] });
    expect(() => userGroupsFromEnv({ LKP_USER_GROUPS: '{alice}' })).toThrow(/not valid JSON/);
    expect(() => userGroupsFromEnv({ LKP_USER_GROUPS: '{"alice":"dev"}' })).toThrow(
      /must map user names to lists/,
    );
  });
});

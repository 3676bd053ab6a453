import { describe, expect, it } from 'vitest';
import { jumpboxConfig, jumpboxPolicy } from '../../../../authorizers/examples/jumpbox.js';
import { ec2InstanceLookup } from '../../../../authorizers/examples/lib/instances.js';
import { judgeAnswer } from '../../../../authorizers/sdk/answer.js';
import {
  ACCOUNT,
  INSTANCE_ARN,
  INSTANCE_ID,
  hostRequest,
  roleArn,
  userArn,
  userRequest,
} from '../fixtures.js';
import { fakeEc2 } from './fake-ec2.js';

const BASTION = { Address: 'bastion.example.com', User: 'ec2-user', HostKeyAlias: 'bastion.example.com' };
const TAGGED_ID = 'i-0aaaaaaaaaaaaaaa0';
const PUBLIC_ID = 'i-0bbbbbbbbbbbbbbb0';
const arnOf = (id: string, region = 'eu-west-1') => `arn:aws:ec2:${region}:${ACCOUNT}:instance/${id}`;
const lookup = ec2InstanceLookup(
  fakeEc2({
    [INSTANCE_ID]: { owner: ACCOUNT, privateIp: '10.0.0.5' },
    [TAGGED_ID]: { owner: ACCOUNT, privateIp: '10.1.0.9', tags: { 'lkp:private': 'true' } },
    [PUBLIC_ID]: { owner: ACCOUNT, privateIp: '10.1.0.10' },
  }),
);
const policy = jumpboxPolicy({
  jumpboxes: [BASTION],
  privatePrefixes: [`arn:aws:ec2:us-east-1:${ACCOUNT}:`],
  privateTag: 'lkp:private',
  lookup,
});
const alice = (target: string) => userRequest(userArn('alice'), { RemoteInstanceArn: target });

describe('jumpbox policy', () => {
  it('routes a target under a private prefix through the bastion to its private IP', async () => {
    const req = alice(INSTANCE_ARN);
    const answer = await policy(req);
    expect(answer).toEqual({ Authorized: true, Jumpboxes: [BASTION], TargetAddress: '10.0.0.5' });
    // What the CA signs: a port-forwarding-only certificate for ec2-user@bastion.example.com.
    expect(judgeAnswer(answer, req)).toMatchObject({
      allowed: true,
      grant: {
        targetAddress: '10.0.0.5',
        jumpboxes: [
          { address: 'bastion.example.com', user: 'ec2-user', principals: ['ec2-user@bastion.example.com'] },
        ],
      },
    });
  });

  it('routes a target tagged private through the bastion', async () => {
    await expect(policy(alice(arnOf(TAGGED_ID)))).resolves.toMatchObject({ TargetAddress: '10.1.0.9' });
  });

  it('lets other targets be reached directly', async () => {
    await expect(policy(alice(arnOf(PUBLIC_ID)))).resolves.toEqual({ Authorized: true });
    const prefixOnly = jumpboxPolicy({
      jumpboxes: [BASTION],
      privatePrefixes: ['arn:aws:ec2:us-east-1:'],
      lookup,
    });
    await expect(prefixOnly(alice(arnOf('i-0eeeeeeeeeeeeeee0')))).resolves.toEqual({ Authorized: true });
  });

  it('denies a private target it cannot find', async () => {
    await expect(
      policy(alice(`arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0eeeeeeeeeeeeeee0`)),
    ).resolves.toEqual({
      Authorized: false,
      Reason: `instance arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0eeeeeeeeeeeeeee0 not found`,
    });
  });

  it("allows hosts from the instance's own session", async () => {
    await expect(policy(hostRequest(roleArn('web', INSTANCE_ID)))).resolves.toEqual({ Authorized: true });
  });

  it('reads its configuration, a single jumpbox or a list', () => {
    const env = { LKP_JUMPBOXES: JSON.stringify(BASTION), LKP_PRIVATE_TAG: 'lkp:private' };
    expect(jumpboxConfig(env, lookup)).toEqual({
      jumpboxes: [BASTION],
      privatePrefixes: [],
      privateTag: 'lkp:private',
      lookup,
    });
    expect(
      jumpboxConfig({ ...env, LKP_JUMPBOXES: JSON.stringify([BASTION, BASTION]) }, lookup).jumpboxes,
    ).toHaveLength(2);
  });

  it.each([
    [{ LKP_JUMPBOXES: JSON.stringify(BASTION) }, /set LKP_PRIVATE_ARN_PREFIXES or LKP_PRIVATE_TAG/],
    [{ LKP_PRIVATE_TAG: 'x' }, /LKP_JUMPBOXES is required/],
    [{ LKP_PRIVATE_TAG: 'x', LKP_JUMPBOXES: '[]' }, /each with Address and User/],
    [{ LKP_PRIVATE_TAG: 'x', LKP_JUMPBOXES: '{"Address":"b"}' }, /each with Address and User/],
  ])('refuses the configuration %j', (env, message) => {
    expect(() => jumpboxConfig(env, lookup)).toThrow(message);
  });

  it('fails closed when a configured jumpbox would make a malformed answer', async () => {
    const bad = jumpboxPolicy({
      jumpboxes: [{ Address: '-oProxyCommand=x', User: 'ec2-user' }],
      privatePrefixes: [INSTANCE_ARN],
      lookup,
    });
    await expect(bad(alice(INSTANCE_ARN))).rejects.toThrow(/Jumpboxes\[0\].Address must be host, host:port/);
  });
});

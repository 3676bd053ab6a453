/**
 * The stand-ins' instance profiles through the real SDK clients: EC2 DescribeInstances reports an
 * instance's IamInstanceProfile, IAM GetInstanceProfile lists its role (DESIGN §3.4, §6).
 */
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEc2Standin, type Ec2Standin } from '../../src/local/ec2-standin.js';
import { startIamStandin, type IamStandin } from '../../src/local/iam-standin.js';
import { sdkClientFor } from '../helpers/ec2-clients.js';
import { rejectionOf } from '../helpers/rejection.js';

const ACCOUNT = '111122223333';
const PROFILE_ARN = `arn:aws:iam::${ACCOUNT}:instance-profile/web-profile`;
const ROLE = { roleName: 'web', roleId: 'AROAWEBROLE0000000001' };

let ec2: Ec2Standin;
let iam: IamStandin;
beforeAll(async () => {
  ec2 = await startEc2Standin({
    region: 'us-east-1',
    account: ACCOUNT,
    instances: [
      { instanceId: 'i-0123456789abcdef0', privateIp: '10.0.0.5', instanceProfileArn: PROFILE_ARN },
      { instanceId: 'i-0aaaaaaaaaaaaaaaa', privateIp: '10.0.0.6' },
      { instanceId: 'i-0bbbbbbbbbbbbbbbb', state: 'terminated', instanceProfileArn: PROFILE_ARN },
    ],
  });
  iam = await startIamStandin({ account: ACCOUNT, instanceProfiles: { 'web-profile': [ROLE] } });
});
afterAll(async () => {
  await ec2.close();
  await iam.close();
});

const iamClient = () =>
  new IAMClient({ region: iam.region, endpoint: iam.url, credentials: iam.credentials, maxAttempts: 1 });

describe('EC2 stand-in: IamInstanceProfile', () => {
  it('reports the instance profile of running instances only, with an AIPA id', async () => {
    const out = await sdkClientFor(ec2).send(new DescribeInstancesCommand({}));
    const profiles = Object.fromEntries(
      (out.Reservations ?? [])
        .flatMap((r) => r.Instances ?? [])
        .map((i) => [i.InstanceId, i.IamInstanceProfile]),
    );
    expect(profiles['i-0123456789abcdef0']?.Arn).toBe(PROFILE_ARN);
    expect(profiles['i-0123456789abcdef0']?.Id).toMatch(/^AIPA[0-9A-F]{17}$/);
    expect(profiles['i-0aaaaaaaaaaaaaaaa']).toBeUndefined();
    // EC2 disassociates the profile of a terminated instance.
    expect(profiles['i-0bbbbbbbbbbbbbbbb']).toBeUndefined();
  });
});

describe('IAM stand-in: GetInstanceProfile', () => {
  it('lists the profile and its role in the IAM shape the SDK parses', async () => {
    const out = await iamClient().send(new GetInstanceProfileCommand({ InstanceProfileName: 'web-profile' }));
    expect(out.InstanceProfile).toMatchObject({ InstanceProfileName: 'web-profile', Arn: PROFILE_ARN });
    expect(out.InstanceProfile?.Roles?.map((r) => [r.RoleName, r.RoleId, r.Arn])).toEqual([
      [ROLE.roleName, ROLE.roleId, `arn:aws:iam::${ACCOUNT}:role/${ROLE.roleName}`],
    ]);
  });

  it('answers NoSuchEntity for an unknown profile', async () => {
    const e = await rejectionOf(
      iamClient().send(new GetInstanceProfileCommand({ InstanceProfileName: 'nope' })),
      NoSuchEntityException,
    );
    expect(e.$metadata.httpStatusCode).toBe(404);
  });

  it('refuses a bad role id in its configuration', async () => {
    await expect(
      startIamStandin({ account: ACCOUNT, instanceProfiles: { p: [{ roleName: 'r', roleId: 'AIDA1' }] } }),
    ).rejects.toThrow(/role id 'AIDA1'/);
  });
});

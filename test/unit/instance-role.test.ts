/** ec2Directory.instanceRole (DESIGN §3.4): DescribeInstances → instance profile → GetInstanceProfile. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { iamQueryClient, type IamQueryClient } from '../../src/aws/iam-query.js';
import { ec2Directory } from '../../src/ec2.js';
import { LkpError } from '../../src/errors.js';
import { startEc2Standin, type Ec2Standin } from '../../src/local/ec2-standin.js';
import { startIamStandin, type IamStandin } from '../../src/local/iam-standin.js';
import { queryClientFor } from '../helpers/ec2-clients.js';
import { rejectionOf } from '../helpers/rejection.js';

const ACCOUNT = '111122223333';
const WEB = 'i-0123456789abcdef0';
const BARE = 'i-0aaaaaaaaaaaaaaaa';
const GONE = 'i-0bbbbbbbbbbbbbbbb';
const ORPHAN = 'i-0cccccccccccccccc';
const EMPTY = 'i-0dddddddddddddddd';
const PATHED = 'i-0eeeeeeeeeeeeeeee';
const WEB_ROLE = { roleName: 'web', roleId: 'AROAWEBROLE0000000001' };
const profileArn = (name: string, path = '/') => `arn:aws:iam::${ACCOUNT}:instance-profile${path}${name}`;
const arn = (instanceId: string, account = ACCOUNT) =>
  `arn:aws:ec2:eu-west-1:${account}:instance/${instanceId}`;

let ec2: Ec2Standin;
let iam: IamStandin;
beforeAll(async () => {
  ec2 = await startEc2Standin({
    region: 'eu-west-1',
    account: ACCOUNT,
    instances: [
      { instanceId: WEB, privateIp: '10.0.0.5', instanceProfileArn: profileArn('web-profile') },
      { instanceId: BARE, privateIp: '10.0.0.6' },
      { instanceId: GONE, state: 'terminated', instanceProfileArn: profileArn('web-profile') },
      { instanceId: ORPHAN, instanceProfileArn: profileArn('deleted-profile') },
      { instanceId: EMPTY, instanceProfileArn: profileArn('empty-profile') },
      { instanceId: PATHED, instanceProfileArn: profileArn('web-profile', '/team/a/') },
    ],
  });
  iam = await startIamStandin({
    account: ACCOUNT,
    instanceProfiles: { 'web-profile': [WEB_ROLE], 'empty-profile': [] },
  });
});
afterAll(async () => {
  await ec2.close();
  await iam.close();
});

function directory(iamClient?: (partition: string) => IamQueryClient) {
  const iamClientFor = vi.fn(
    iamClient ??
      ((_partition: string) =>
        iamQueryClient({ endpoint: iam.url, credentials: iam.credentials, maxAttempts: 1 })),
  );
  const dir = ec2Directory({
    caAccount: ACCOUNT,
    clientFor: (region) => queryClientFor(ec2, region),
    iamClientFor,
  });
  return { dir, iamClientFor };
}

describe('instanceRole', () => {
  it("returns the role of the instance's instance profile, by id and name", async () => {
    const { dir } = directory();
    expect(await dir.instanceRole(arn(WEB))).toEqual({ kind: 'role', ...WEB_ROLE });
  });

  it('reads the profile name after an instance profile path', async () => {
    const { dir } = directory();
    expect(await dir.instanceRole(arn(PATHED))).toEqual({ kind: 'role', ...WEB_ROLE });
  });

  it.each([
    [BARE, `instance ${BARE} has no instance profile`],
    [GONE, `instance ${GONE} is not running in eu-west-1`],
    ['i-0123123123123123a', 'instance i-0123123123123123a is not running in eu-west-1'],
    [ORPHAN, 'its instance profile deleted-profile does not exist'],
    [EMPTY, 'its instance profile empty-profile holds no role'],
  ])('finds no role for %s', async (instanceId, reason) => {
    const { dir } = directory();
    expect(await dir.instanceRole(arn(instanceId))).toEqual({ kind: 'none', reason });
  });

  it('does not look up instances of another account', async () => {
    const { dir, iamClientFor } = directory();
    const before = ec2.requestCount();
    expect(await dir.instanceRole(arn(WEB, '444455556666'))).toEqual({ kind: 'unchecked' });
    expect(ec2.requestCount()).toBe(before);
    expect(iamClientFor).not.toHaveBeenCalled();
  });

  it('turns an IAM refusal into Internal, naming the missing permission and not IAM text', async () => {
    const { dir } = directory(() =>
      iamQueryClient({
        endpoint: iam.url,
        credentials: { accessKeyId: 'AKIAOTHER', secretAccessKey: 'nope' },
        maxAttempts: 1,
      }),
    );
    const e = await rejectionOf(dir.instanceRole(arn(WEB)), LkpError);
    expect(e.code).toBe('Internal');
    expect(e.message).toContain('the CA role needs iam:GetInstanceProfile');
    expect(e.message).toContain('(IAM GetInstanceProfile: ');
  });

  it('keeps one IAM client per partition', async () => {
    const { dir, iamClientFor } = directory();
    await dir.instanceRole(arn(WEB));
    await dir.instanceRole(arn(PATHED));
    await dir.instanceRole(arn(ORPHAN));
    expect(iamClientFor.mock.calls).toEqual([['aws']]);
  });
});

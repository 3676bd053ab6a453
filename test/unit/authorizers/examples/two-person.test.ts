import { describe, expect, it } from 'vitest';
import { twoPersonConfig, twoPersonPolicy } from '../../../../authorizers/examples/two-person.js';
import { sampleRequest } from '../../../../authorizers/sdk/sample-request.js';
import { ACCOUNT, DENIED, INSTANCE_ARN, INSTANCE_ID, hostRequest, roleArn, userArn } from '../fixtures.js';

const SENSITIVE = `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/${INSTANCE_ID}`;
const OTHER = `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0fffffffffffffff0`;
const policy = twoPersonPolicy({ sensitivePrefixes: [SENSITIVE], minimumVouchers: 2 });

function request(target: string, vouchers: [string, string, string?][]) {
  return sampleRequest({
    From: userArn('alice'),
    RemoteInstanceArn: target,
    SshUsername: 'ec2-user',
    Vouchers: vouchers.map(([from, vouchee, context]) => ({
      From: from,
      Vouchee: vouchee,
      Context: context ?? target,
    })),
  });
}

describe('two-person policy', () => {
  it('allows instances that are not sensitive without vouchers', async () => {
    await expect(policy(request(OTHER, []))).resolves.toEqual({ Authorized: true });
  });

  it('allows a sensitive instance with two distinct vouchers', async () => {
    const req = request(SENSITIVE, [
      [userArn('bob'), 'alice'],
      [roleArn('Ops', 'olga'), userArn('alice')],
    ]);
    await expect(policy(req)).resolves.toEqual({ Authorized: true });
  });

  it.each([
    ['no vouchers', []],
    ['one voucher', [[userArn('bob'), 'alice']]],
    [
      'the same person twice',
      [
        [userArn('bob'), 'alice'],
        [userArn('bob'), userArn('alice')],
      ],
    ],
    [
      'the caller vouching for themselves',
      [
        [userArn('bob'), 'alice'],
        [userArn('alice'), 'alice'],
      ],
    ],
    [
      'a voucher for another instance',
      [
        [userArn('bob'), 'alice'],
        [userArn('carol'), 'alice', OTHER],
      ],
    ],
    [
      'a voucher for someone else',
      [
        [userArn('bob'), 'alice'],
        [userArn('carol'), 'mallory'],
      ],
    ],
  ] as [string, [string, string, string?][]][])(
    'denies a sensitive instance with %s',
    async (_, vouchers) => {
      await expect(policy(request(SENSITIVE, vouchers))).resolves.toEqual(DENIED);
    },
  );

  it('matches sensitive prefixes at ARN boundaries only', async () => {
    const byPrefix = twoPersonPolicy({
      sensitivePrefixes: [`${INSTANCE_ARN.slice(0, -1)}`],
      minimumVouchers: 2,
    });
    await expect(byPrefix(request(INSTANCE_ARN, []))).resolves.toEqual({ Authorized: true });
  });

  it("allows hosts from the instance's own session", async () => {
    await expect(policy(hostRequest(roleArn('web', INSTANCE_ID)))).resolves.toEqual({ Authorized: true });
  });

  it('reads its configuration', () => {
    expect(
      twoPersonConfig({ LKP_SENSITIVE_ARN_PREFIXES: `${SENSITIVE},arn:aws:ec2:eu-west-1:${ACCOUNT}:` }),
    ).toEqual({
      sensitivePrefixes: [SENSITIVE, `arn:aws:ec2:eu-west-1:${ACCOUNT}:`],
      minimumVouchers: 2,
    });
    expect(
      twoPersonConfig({ LKP_SENSITIVE_ARN_PREFIXES: SENSITIVE, LKP_MIN_VOUCHERS: '3' }).minimumVouchers,
    ).toBe(3);
    expect(() => twoPersonConfig({})).toThrow(/LKP_SENSITIVE_ARN_PREFIXES is required/);
    expect(() => twoPersonConfig({ LKP_SENSITIVE_ARN_PREFIXES: `${SENSITIVE},` })).toThrow(/empty entry/);
    expect(() => twoPersonConfig({ LKP_SENSITIVE_ARN_PREFIXES: SENSITIVE, LKP_MIN_VOUCHERS: '0' })).toThrow(
      /LKP_MIN_VOUCHERS must be a positive whole number/,
    );
  });
});

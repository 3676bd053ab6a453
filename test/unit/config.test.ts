import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = {
  LKP_CA_KEY: 'file:/etc/lkp/ca_key',
  LKP_SERVER_ID: 'lkp.example.com',
  LKP_ALLOWED_ACCOUNTS: '111122223333',
  AWS_REGION: 'us-east-1',
};

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const cfg = loadConfig(base);
    expect(cfg).toMatchObject({
      caKey: { kind: 'file', path: '/etc/lkp/ca_key' },
      serverId: 'lkp.example.com',
      authorizationLambda: undefined,
      allowedAccounts: ['111122223333'],
      region: 'us-east-1',
      partition: 'aws',
      stsEndpoint: 'https://sts.us-east-1.amazonaws.com',
      userCertTtlSeconds: 3600,
      hostCertTtlSeconds: 2592000,
      clockSkewSeconds: 300,
      voucherMaxAgeSeconds: 900,
      policyTimeoutMs: 5000,
    });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.allowedAccounts)).toBe(true);
  });

  it('reads every variable', () => {
    const cfg = loadConfig({
      ...base,
      LKP_CA_KEY: 'kms:alias/lkp-ca',
      AUTHORIZATION_LAMBDA: 'lkp-policy',
      LKP_ALLOWED_ACCOUNTS: '111122223333, 444455556666,111122223333',
      AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:4566/',
      LKP_USER_CERT_TTL: '900',
      LKP_HOST_CERT_TTL: '86400',
      LKP_CLOCK_SKEW: '60',
      LKP_VOUCHER_MAX_AGE: '600',
      LKP_POLICY_TIMEOUT_MS: '2000',
    });
    expect(cfg).toMatchObject({
      caKey: { kind: 'kms', keyId: 'alias/lkp-ca' },
      authorizationLambda: 'lkp-policy',
      allowedAccounts: ['111122223333', '444455556666'],
      stsEndpoint: 'http://127.0.0.1:4566',
      userCertTtlSeconds: 900,
      hostCertTtlSeconds: 86400,
      clockSkewSeconds: 60,
      voucherMaxAgeSeconds: 600,
      policyTimeoutMs: 2000,
    });
  });

  it('derives the China and GovCloud partitions and STS hosts', () => {
    expect(loadConfig({ ...base, AWS_REGION: 'cn-north-1' })).toMatchObject({
      partition: 'aws-cn',
      stsEndpoint: 'https://sts.cn-north-1.amazonaws.com.cn',
    });
    expect(loadConfig({ ...base, AWS_REGION: 'us-gov-west-1' }).partition).toBe('aws-us-gov');
  });

  it('signs proofs for the region STS needs at the configured endpoint (issue 17, item 1)', () => {
    // The global endpoint takes only us-east-1 signatures, whatever the CA's own region.
    expect(
      loadConfig({ ...base, AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_STS: 'https://sts.amazonaws.com' }),
    ).toMatchObject({
      region: 'eu-west-1',
      stsEndpoint: 'https://sts.amazonaws.com',
      stsRegion: 'us-east-1',
    });
    expect(
      loadConfig({
        ...base,
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL_STS: 'https://sts.eu-central-1.amazonaws.com',
      }).stsRegion,
    ).toBe('eu-central-1');
    expect(loadConfig({ ...base, AWS_REGION: 'eu-west-1' })).toMatchObject({
      stsEndpoint: 'https://sts.eu-west-1.amazonaws.com',
      stsRegion: 'eu-west-1',
    });
    // A stand-in or a VPC endpoint: AWS_REGION.
    expect(
      loadConfig({ ...base, AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:4566' })
        .stsRegion,
    ).toBe('eu-west-1');
  });

  it.each([
    ['us-iso-east-1', 'aws-iso'],
    ['us-isob-east-1', 'aws-iso-b'],
    ['eu-isoe-west-1', 'aws-iso-e'],
    ['us-isof-south-1', 'aws-iso-f'],
    ['eusc-de-east-1', 'aws-eusc'],
  ])('refuses %s at start-up: partition %s is not supported (issue 17, item 2)', (region, partition) => {
    expect(problemsOf({ ...base, AWS_REGION: region })).toEqual([
      `AWS_REGION: region ${region} is in partition ${partition}, which lkp does not support (only aws, aws-cn, aws-us-gov): its identities and endpoints are outside what lkp checks`,
    ]);
  });

  it('takes a region the SDK data does not list yet when it matches a supported partition', () => {
    expect(loadConfig({ ...base, AWS_REGION: 'ap-southeast-9' })).toMatchObject({
      partition: 'aws',
      stsEndpoint: 'https://sts.ap-southeast-9.amazonaws.com',
    });
  });

  it('follows AWS_USE_FIPS_ENDPOINT and AWS_USE_DUALSTACK_ENDPOINT as the SDK does (issue 17, item 5)', () => {
    const sts = (env: Record<string, string>) => loadConfig({ ...base, ...env }).stsEndpoint;
    expect(sts({ AWS_USE_FIPS_ENDPOINT: 'true' })).toBe('https://sts-fips.us-east-1.amazonaws.com');
    expect(sts({ AWS_USE_DUALSTACK_ENDPOINT: 'true' })).toBe('https://sts.us-east-1.api.aws');
    expect(sts({ AWS_USE_FIPS_ENDPOINT: 'true', AWS_USE_DUALSTACK_ENDPOINT: 'true' })).toBe(
      'https://sts-fips.us-east-1.api.aws',
    );
    // GovCloud's STS endpoints are FIPS endpoints already.
    expect(sts({ AWS_REGION: 'us-gov-west-1', AWS_USE_FIPS_ENDPOINT: 'true' })).toBe(
      'https://sts.us-gov-west-1.amazonaws.com',
    );
    expect(sts({ AWS_USE_FIPS_ENDPOINT: 'false' })).toBe('https://sts.us-east-1.amazonaws.com');
  });

  it('refuses FIPS or dual-stack with a configured endpoint, as the SDK does, instead of ignoring either', () => {
    expect(
      problemsOf({
        ...base,
        AWS_USE_FIPS_ENDPOINT: 'true',
        AWS_ENDPOINT_URL_STS: 'https://sts.us-east-1.amazonaws.com',
      }),
    ).toEqual([
      expect.stringMatching(/^AWS_ENDPOINT_URL_STS cannot be combined with AWS_USE_FIPS_ENDPOINT=true/),
    ]);
    expect(
      problemsOf({
        ...base,
        AWS_USE_DUALSTACK_ENDPOINT: 'true',
        AWS_ENDPOINT_URL_KMS: 'https://kms.example.com',
      }),
    ).toEqual([
      'AWS_USE_DUALSTACK_ENDPOINT=true cannot be combined with a configured KMS endpoint (https://kms.example.com); unset one of them',
    ]);
  });

  it('refuses a policy function or KMS key in a partition the CA cannot reach', () => {
    expect(
      problemsOf({
        ...base,
        AUTHORIZATION_LAMBDA: 'arn:aws-cn:lambda:cn-north-1:111122223333:function:policy',
      }),
    ).toEqual([expect.stringMatching(/its region cn-north-1 is in partition aws-cn.*the CA runs in aws;/)]);
    expect(
      problemsOf({ ...base, LKP_CA_KEY: 'kms:arn:aws-iso:kms:us-iso-east-1:111122223333:key/abc' }),
    ).toEqual([expect.stringMatching(/partition aws-iso, which lkp does not support/)]);
    expect(
      loadConfig({ ...base, AUTHORIZATION_LAMBDA: 'arn:aws:lambda:eu-west-1:111122223333:function:policy' })
        .authorizationLambda,
    ).toBe('arn:aws:lambda:eu-west-1:111122223333:function:policy');
  });

  it('defaults the allowed accounts to the CA’s own account when it is known (Lambda)', () => {
    const { LKP_ALLOWED_ACCOUNTS: _, ...env } = base;
    expect(loadConfig(env, { ownAccount: '999988887777' }).allowedAccounts).toEqual(['999988887777']);
    expect(problemsOf(env).join()).toMatch(/LKP_ALLOWED_ACCOUNTS is required outside Lambda/);
  });

  it('lists every problem at once', () => {
    const problems = problemsOf({ LKP_USER_CERT_TTL: '3600000' });
    expect(problems.join('\n')).toMatch(/LKP_CA_KEY is required/);
    expect(problems.join('\n')).toMatch(/LKP_SERVER_ID is required/);
    expect(problems.join('\n')).toMatch(/LKP_ALLOWED_ACCOUNTS is required/);
    expect(problems.join('\n')).toMatch(/AWS_REGION is required/);
    expect(problems.join('\n')).toMatch(/LKP_USER_CERT_TTL must be a whole number from 60 to 604800/);
    expect(problems).toHaveLength(5);
  });

  it.each([
    ['LKP_CA_KEY', 'ca_key', /LKP_CA_KEY must be kms:/],
    ['LKP_CA_KEY', 'kms:', /LKP_CA_KEY must be kms:/],
    ['LKP_CA_KEY', 'file:', /LKP_CA_KEY must be kms:/],
    ['LKP_SERVER_ID', 'has space', /LKP_SERVER_ID may use only/],
    ['LKP_ALLOWED_ACCOUNTS', '1234', /not 12-digit account ids: 1234/],
    ['LKP_ALLOWED_ACCOUNTS', '111122223333,abc', /not 12-digit account ids: abc/],
    ['AWS_REGION', 'US-EAST-1', /not a region of any AWS partition/],
    ['AWS_REGION', 'aws-global', /"aws-global" is not a region name/],
    ['AWS_USE_FIPS_ENDPOINT', 'yes', /AWS_USE_FIPS_ENDPOINT must be "true" or "false" \(got "yes"\)/],
    ['AWS_USE_DUALSTACK_ENDPOINT', '1', /AWS_USE_DUALSTACK_ENDPOINT must be "true" or "false"/],
    ['AUTHORIZATION_LAMBDA', 'bad name!', /AUTHORIZATION_LAMBDA must be a Lambda function name or ARN/],
    ['AWS_ENDPOINT_URL_STS', 'not a url', /AWS_ENDPOINT_URL_STS is not a URL/],
    ['AWS_ENDPOINT_URL_STS', 'http://sts.example.com', /must use https/],
    ['AWS_ENDPOINT_URL_STS', 'https://sts.example.com/prefix', /bare origin/],
    ['AWS_ENDPOINT_URL_STS', 'https://user@sts.example.com', /bare origin/],
    ['AWS_ENDPOINT_URL_STS', 'https://sts.example.com/?x=1', /bare origin/],
    ['LKP_USER_CERT_TTL', '59', /LKP_USER_CERT_TTL must be a whole number/],
    ['LKP_USER_CERT_TTL', '1h', /LKP_USER_CERT_TTL must be a whole number/],
    ['LKP_HOST_CERT_TTL', '99999999', /LKP_HOST_CERT_TTL must be a whole number/],
    ['LKP_CLOCK_SKEW', '-1', /LKP_CLOCK_SKEW must be a whole number/],
    ['LKP_VOUCHER_MAX_AGE', '59', /LKP_VOUCHER_MAX_AGE must be a whole number from 60 to 3600/],
    ['LKP_VOUCHER_MAX_AGE', '3601', /LKP_VOUCHER_MAX_AGE must be a whole number from 60 to 3600/],
    ['LKP_POLICY_TIMEOUT_MS', '5', /LKP_POLICY_TIMEOUT_MS must be a whole number/],
  ])('refuses %s=%s', (name, value, message) => {
    const problems = problemsOf({ ...base, [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('puts every problem in the error message an admin sees', () => {
    expect(() => loadConfig({})).toThrow(/invalid lkp CA configuration:\n {2}- LKP_CA_KEY is required/);
  });
});

describe('loadConfig: the CA account and target checks', () => {
  it('takes the CA account from LKP_CA_ACCOUNT before the Lambda context, and defaults the allow-list to it', () => {
    const { LKP_ALLOWED_ACCOUNTS: _, ...env } = base;
    const cfg = loadConfig({ ...env, LKP_CA_ACCOUNT: '123456789012' }, { ownAccount: '999988887777' });
    expect(cfg.caAccount).toBe('123456789012');
    expect(cfg.allowedAccounts).toEqual(['123456789012']);
  });

  it('checks targets in its own account by default and can be told not to', () => {
    expect(loadConfig(base).verifyTargets).toBe('own');
    expect(loadConfig({ ...base, LKP_VERIFY_TARGETS: 'off' }).verifyTargets).toBe('off');
    expect(problemsOf({ ...base, LKP_VERIFY_TARGETS: 'all' })[0]).toMatch(
      /LKP_VERIFY_TARGETS must be "own" or "off"/,
    );
    expect(problemsOf({ ...base, LKP_CA_ACCOUNT: '12' })[0]).toMatch(
      /LKP_CA_ACCOUNT must be a 12-digit account id/,
    );
  });
});

describe('loadConfig: personal accounts', () => {
  it('is off by default and turned on by LKP_PERSONAL_ACCOUNTS=true', () => {
    expect(loadConfig(base).personalAccounts).toBe(false);
    expect(loadConfig({ ...base, LKP_PERSONAL_ACCOUNTS: 'true' }).personalAccounts).toBe(true);
    expect(loadConfig({ ...base, LKP_PERSONAL_ACCOUNTS: 'false' }).personalAccounts).toBe(false);
  });

  it('refuses values other than true and false', () => {
    expect(problemsOf({ ...base, LKP_PERSONAL_ACCOUNTS: 'yes' })).toEqual([
      'LKP_PERSONAL_ACCOUNTS must be "true" or "false" (got "yes")',
    ]);
  });

  it('refuses it together with a policy Lambda, where it would be silently ignored', () => {
    expect(
      problemsOf({ ...base, LKP_PERSONAL_ACCOUNTS: 'true', AUTHORIZATION_LAMBDA: 'lkp-policy' })[0],
    ).toMatch(/built-in policy only.*ownsAccount/);
  });
});

describe('LKP_ALLOW (the built-in policy, DESIGN §3.4)', () => {
  it('is empty by default: the built-in policy then grants nothing, and the start-up line says so', async () => {
    const cfg = loadConfig(base);
    expect(cfg.allow).toEqual([]);
    const { builtinPolicyLine } = await import('../../src/bootstrap.js');
    expect(builtinPolicyLine(cfg)).toMatch(/grants NO user certificates/);
  });

  it('reads whitespace-separated rules and names them at start-up', async () => {
    const cfg = loadConfig({
      ...base,
      LKP_ALLOW:
        ' arn:aws:sts::*:assumed-role/AWSReservedSSO_Admin_*/*=ec2-user,ubuntu\n arn:aws:iam::111122223333:user/alice=* ',
    });
    expect(cfg.allow).toEqual([
      { pattern: 'arn:aws:sts::*:assumed-role/AWSReservedSSO_Admin_*/*', logins: ['ec2-user', 'ubuntu'] },
      { pattern: 'arn:aws:iam::111122223333:user/alice', logins: ['*'] },
    ]);
    expect(Object.isFrozen(cfg.allow[0])).toBe(true);
    const { builtinPolicyLine } = await import('../../src/bootstrap.js');
    expect(builtinPolicyLine(cfg)).toMatch(/lets only .*AWSReservedSSO_Admin_\*\/\* as ec2-user,ubuntu/);
  });

  it('refuses malformed rules, and rules next to a policy Lambda, where they would be ignored', () => {
    expect(problemsOf({ ...base, LKP_ALLOW: 'alice=ec2-user' })[0]).toMatch(
      /LKP_ALLOW rule "alice=ec2-user"/,
    );
    expect(
      problemsOf({ ...base, LKP_ALLOW: 'arn:aws:iam::1:user/a=x', AUTHORIZATION_LAMBDA: 'lkp-policy' })[0],
    ).toMatch(/LKP_ALLOW applies to the built-in policy only/);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ownsAccount, personalAccountName, posixName } from '../../authorizers/sdk/index.js';
import { parseAllowRules } from '../../src/authorize/allow.js';
import { builtinPolicy } from '../../src/authorize/builtin.js';
import type { LkpIdentity } from '../../src/protocol.js';
import { SSH_USERNAME } from '../../src/request.js';
import { INSTANCE_ARN, roleArn, userArn, userRequest } from './authorizers/fixtures.js';

const AWS_CHARS = [...'abcxyzABZ019_+=,.@-'];
/** Characters that build and break the spelled-out tokens, to provoke ambiguity. */
const TRICKY_CHARS = ['a', 't', '.', '@', '+', 'p', 'l', 'u', 's'];
const awsName = (chars: string[], maxLength: number) =>
  fc.array(fc.constantFrom(...chars), { minLength: 1, maxLength }).map((cs) => cs.join(''));

describe('posixName: the aws-ec2-ssh convention', () => {
  it.each([
    ['jane.doe@example.com', 'jane.doe.at.example.com'],
    ['a+b=c,d@e', 'a.plus.b.equal.c.comma.d.at.e'],
    ['bob', 'bob'],
    ['Jane.Doe', 'Jane.Doe'],
    ['_svc-deploy', '_svc-deploy'],
    ['x'.repeat(32), 'x'.repeat(32)],
  ])('%s → %s', (aws, posix) => {
    expect(posixName(aws)).toBe(posix);
  });

  it.each([
    // too long after spelling out: a 20-character head, '--', 10 hash characters
    ['john.smith+ops@really-long-company-domain.example.com', /^john\.smith\.plus\.ops\.--[a-z2-7]{10}$/],
    ['x'.repeat(33), /^x{20}--[a-z2-7]{10}$/],
    // a first character the CA's SshUsername rule refuses
    ['1password', /^_1password--[a-z2-7]{10}$/],
    ['-x', /^_-x--[a-z2-7]{10}$/],
    ['@home', /^_\.at\.home--[a-z2-7]{10}$/],
    // a literal token would share an account with the spelled-out character (a.at.b vs a@b)
    ['a.at.b', /^a\.at\.b--[a-z2-7]{10}$/],
    // already of the hashed shape: hashed again, so plain and hashed names never meet
    ['ab--abcdefghij', /^ab--abcdefghij--[a-z2-7]{10}$/],
  ])('%s gets a hash suffix', (aws, shape) => {
    expect(posixName(aws)).toMatch(shape);
    expect(posixName(aws).length).toBeLessThanOrEqual(32);
  });

  it('keeps names apart whose spelled-out forms would be equal', () => {
    expect(posixName('a@b')).not.toBe(posixName('a.at.b'));
    expect(posixName('@at.')).not.toBe(posixName('.at@'));
  });

  it('keeps long names apart that differ only after the cut', () => {
    const names = Array.from({ length: 2000 }, (_, i) => `team.member.number.${i}@example.com`);
    expect(new Set(names.map(posixName)).size).toBe(names.length);
  });

  it.each(['', 'jane doe', 'jane/doe', 'ünïcode', 'a:b', 'x'.repeat(129)])(
    'refuses %j, which cannot be an AWS name',
    (bad) => {
      expect(() => posixName(bad)).toThrow(RangeError);
    },
  );
});

describe('posixName: properties', () => {
  it('always gives a valid SshUsername of at most 32 characters, the same each time', () => {
    fc.assert(
      fc.property(awsName(AWS_CHARS, 128), (name) => {
        const posix = posixName(name);
        expect(posix).toMatch(SSH_USERNAME);
        expect(posix.length).toBeLessThanOrEqual(32);
        expect(posixName(name)).toBe(posix);
      }),
      { numRuns: 2000 },
    );
  });

  it('is injective on random samples of AWS names', () => {
    fc.assert(
      fc.property(fc.uniqueArray(awsName(AWS_CHARS, 64), { minLength: 50, maxLength: 300 }), (names) => {
        expect(new Set(names.map(posixName)).size).toBe(names.length);
      }),
      { numRuns: 200 },
    );
  });

  it('is injective on every name of up to 5 token-building characters', () => {
    let names = [''];
    const all: string[] = [];
    for (let length = 1; length <= 5; length++) {
      names = names.flatMap((prefix) => TRICKY_CHARS.map((c) => prefix + c));
      all.push(...names);
    }
    const seen = new Map<string, string>();
    for (const name of all) {
      const posix = posixName(name);
      expect(seen.get(posix), `${name} and ${seen.get(posix)} → ${posix}`).toBeUndefined();
      seen.set(posix, name);
    }
    expect(seen.size).toBe(all.length);
  });
});

describe('personalAccountName and ownsAccount', () => {
  const base = { Account: '111122223333', Id: 'AIDA' };
  it.each<[string, LkpIdentity, string | undefined]>([
    [
      'an IAM user',
      { ...base, Arn: userArn('jane.doe@example.com'), Type: 'User', Name: 'jane.doe@example.com' },
      'jane.doe.at.example.com',
    ],
    [
      'an Identity Center session',
      {
        ...base,
        Arn: roleArn('AWSReservedSSO_Dev', 'jane@example.com'),
        Id: 'AROA:jane@example.com',
        Type: 'AssumedRole',
        RoleName: 'AWSReservedSSO_Dev',
        SessionName: 'jane@example.com',
      },
      'jane.at.example.com',
    ],
    [
      'a role session named only in Id',
      { ...base, Arn: roleArn('r', 'bob'), Id: 'AROA:bob', Type: 'AssumedRole' },
      'bob',
    ],
    [
      'a federated user',
      {
        ...base,
        Arn: 'arn:aws:sts::111122223333:federated-user/carol',
        Type: 'FederatedUser',
        Name: 'carol',
      },
      'carol',
    ],
    [
      'a role session without a name',
      { ...base, Arn: roleArn('r', 's'), Id: 'AROA', Type: 'AssumedRole' },
      undefined,
    ],
  ])('%s', (_, who, expected) => {
    expect(personalAccountName(who)).toBe(expected);
  });

  it('ownsAccount holds only for the caller’s own mapped name', () => {
    const jane = userArn('jane.doe@example.com');
    expect(ownsAccount(userRequest(jane, { SshUsername: 'jane.doe.at.example.com' }))).toBe(true);
    expect(ownsAccount(userRequest(jane, { SshUsername: 'ec2-user' }))).toBe(false);
    expect(ownsAccount(userRequest(userArn('bob'), { SshUsername: 'jane.doe.at.example.com' }))).toBe(false);
  });
});

const EVERY_USER = parseAllowRules('arn:aws:iam::111122223333:user/*=*', []);

describe('builtinPolicy with personal accounts (LKP_PERSONAL_ACCOUNTS)', () => {
  const policy = builtinPolicy({
    allowedAccounts: ['111122223333'],
    allow: EVERY_USER,
    personalAccounts: true,
  });
  const jane = userArn('jane.doe@example.com');

  it('signs for the caller’s own account', async () => {
    const grant = await policy.authorizeUser(userRequest(jane, { SshUsername: 'jane.doe.at.example.com' }));
    expect(grant.principals).toEqual([`jane.doe.at.example.com@${INSTANCE_ARN}`]);
  });

  it('refuses any other account and names the right one', async () => {
    await expect(policy.authorizeUser(userRequest(jane, { SshUsername: 'ec2-user' }))).rejects.toMatchObject({
      code: 'Forbidden',
      message: 'this CA allows personal accounts only: log in as jane.doe.at.example.com, not ec2-user',
    });
  });

  it('leaves the login free without the option', async () => {
    const grant = await builtinPolicy({ allowedAccounts: ['111122223333'], allow: EVERY_USER }).authorizeUser(
      userRequest(jane, { SshUsername: 'ec2-user' }),
    );
    expect(grant.principals).toEqual([`ec2-user@${INSTANCE_ARN}`]);
  });
});

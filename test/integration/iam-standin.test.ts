/**
 * The IAM stand-in through the real @aws-sdk/client-iam, and the CA's group listing for Accounts
 * requests (src/aws/iam-query.ts getGroupMembers) against it: paging, errors in the IAM shape,
 * SigV4 checks, throttling and the client's retries.
 */
import { GetGroupCommand, IAMClient, ListGroupsForUserCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getGroupMembers, IamError, iamQueryClient } from '../../src/aws/iam-query.js';
import { localCredentials } from '../../src/local/credentials.js';
import { startIamStandin, type IamStandin } from '../../src/local/iam-standin.js';

const ACCOUNT = '111122223333';
const many = (n: number) =>
  Array.from({ length: n }, (_, i) => `user${String(i).padStart(4, '0')}@example.com`);

let iam: IamStandin;
const client = (overrides: { maxAttempts?: number } = {}) =>
  new IAMClient({ region: iam.region, endpoint: iam.url, credentials: iam.credentials, ...overrides });
/** The CA's own client, as src/accounts/iam-groups.ts builds it. */
const caClient = (overrides: { maxAttempts?: number } = {}) =>
  iamQueryClient({ endpoint: iam.url, credentials: iam.credentials, ...overrides });
const listGroupMembers = async (c: ReturnType<typeof caClient>, groups: string[]) =>
  new Map(await Promise.all(groups.map(async (g) => [g, await getGroupMembers(c, g)] as const)));

beforeAll(async () => {
  iam = await startIamStandin({ account: ACCOUNT, groups: {} });
});
afterAll(async () => {
  await iam?.close();
});
beforeEach(() => {
  iam.throttleNext(0);
  iam.setGroups({ developers: ['jane.doe@example.com', 'bob'], admins: ['bob'], big: many(2500) });
});

describe('IAM stand-in: GetGroup', () => {
  it('answers in the IAM shape the SDK parses', async () => {
    const out = await client().send(new GetGroupCommand({ GroupName: 'developers' }));
    expect(out.Group).toMatchObject({
      GroupName: 'developers',
      Arn: `arn:aws:iam::${ACCOUNT}:group/developers`,
    });
    expect(out.Users?.map((u) => [u.UserName, u.Arn])).toEqual([
      ['jane.doe@example.com', `arn:aws:iam::${ACCOUNT}:user/jane.doe@example.com`],
      ['bob', `arn:aws:iam::${ACCOUNT}:user/bob`],
    ]);
    expect(out.Users?.[0]?.UserId).toMatch(/^AIDA[0-9A-F]{17}$/);
    expect(out.IsTruncated).toBe(false);
  });

  it('pages with MaxItems, IsTruncated and Marker', async () => {
    const first = await client().send(new GetGroupCommand({ GroupName: 'big', MaxItems: 1000 }));
    expect(first.Users).toHaveLength(1000);
    expect(first.IsTruncated).toBe(true);
    const second = await client().send(
      new GetGroupCommand({ GroupName: 'big', MaxItems: 1000, Marker: first.Marker }),
    );
    expect(second.Users?.[0]?.UserName).toBe('user1000@example.com');
  });

  it('refuses a marker from another group', async () => {
    const first = await client().send(new GetGroupCommand({ GroupName: 'big', MaxItems: 1 }));
    await expect(
      client().send(new GetGroupCommand({ GroupName: 'developers', Marker: first.Marker })),
    ).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('says NoSuchEntity for an unknown group', async () => {
    await expect(client().send(new GetGroupCommand({ GroupName: 'nobody' }))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('refuses requests signed with other credentials', async () => {
    const stranger = new IAMClient({
      region: 'us-east-1',
      endpoint: iam.url,
      credentials: localCredentials(),
      maxAttempts: 1,
    });
    await expect(stranger.send(new GetGroupCommand({ GroupName: 'developers' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('lists a user’s groups', async () => {
    const out = await client().send(new ListGroupsForUserCommand({ UserName: 'bob' }));
    expect(out.Groups?.map((g) => g.GroupName)).toEqual(['developers', 'admins']);
  });

  it('serves membership changed at run time', async () => {
    iam.setGroups({ developers: ['carol'] });
    const out = await client().send(new GetGroupCommand({ GroupName: 'developers' }));
    expect(out.Users?.map((u) => u.UserName)).toEqual(['carol']);
  });
});

describe('getGroupMembers (the CA reading groups for Accounts requests)', () => {
  it('reads every page of every group, 1,000 members per call', async () => {
    const before = iam.actions().length;
    const members = await listGroupMembers(caClient(), ['developers', 'big']);
    expect(members.get('developers')).toEqual(['jane.doe@example.com', 'bob']);
    expect(members.get('big')).toEqual(many(2500));
    expect(iam.actions().slice(before)).toEqual(['GetGroup', 'GetGroup', 'GetGroup', 'GetGroup']);
  });

  it('retries when IAM throttles', async () => {
    iam.throttleNext(1);
    const before = iam.actions().length;
    const members = await listGroupMembers(caClient({ maxAttempts: 2 }), ['developers']);
    expect(members.get('developers')).toEqual(['jane.doe@example.com', 'bob']);
    expect(iam.actions().length - before).toBe(2);
  });

  it('gives up after its attempts, with IAM’s Throttling error', async () => {
    iam.throttleNext(10);
    await expect(listGroupMembers(caClient({ maxAttempts: 2 }), ['developers'])).rejects.toMatchObject({
      code: 'Throttling',
    });
  });

  it('fails on a missing group rather than treating it as empty', async () => {
    const e = await listGroupMembers(caClient(), ['developers', 'typo']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IamError);
    expect(e).toMatchObject({ code: 'NoSuchEntity' });
  });
});

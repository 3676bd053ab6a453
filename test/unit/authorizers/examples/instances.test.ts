import { describe, expect, it } from 'vitest';
import { ec2InstanceLookup } from '../../../../authorizers/examples/lib/instances.js';
import { ACCOUNT, INSTANCE_ARN, INSTANCE_ID } from '../fixtures.js';
import { fakeEc2 } from './fake-ec2.js';

describe('ec2InstanceLookup', () => {
  it("asks the instance's region for its private IP and tags", async () => {
    const calls: { region: string; ids: string[] }[] = [];
    const lookup = ec2InstanceLookup(
      fakeEc2({ [INSTANCE_ID]: { owner: ACCOUNT, privateIp: '10.0.0.5', tags: { a: 'b' } } }, calls),
    );
    await expect(lookup(INSTANCE_ARN)).resolves.toEqual({ privateIp: '10.0.0.5', tags: { a: 'b' } });
    expect(calls).toEqual([{ region: 'us-east-1', ids: [INSTANCE_ID] }]);
  });

  it.each([
    ['an unknown instance', {}],
    ['an instance of another account', { [INSTANCE_ID]: { owner: '444455556666' } }],
    ['a terminated instance', { [INSTANCE_ID]: { owner: ACCOUNT, state: 'terminated' } }],
  ])('finds nothing for %s', async (_, instances) => {
    await expect(ec2InstanceLookup(fakeEc2(instances))(INSTANCE_ARN)).resolves.toBeUndefined();
  });

  it('lets other EC2 errors through: a broken policy, not a denial', async () => {
    const failing = () => ({
      send: () => Promise.reject(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' })),
    });
    await expect(ec2InstanceLookup(failing)(INSTANCE_ARN)).rejects.toThrow('not allowed');
  });
});

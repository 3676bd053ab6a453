import { describe, expect, it } from 'vitest';
import { leaseOf, openCommand } from '../../client/commands/open.js';

describe('lkp open', () => {
  it('reads the lease from the CA answer’s Ingress field', () => {
    const Ingress = {
      SecurityGroupId: 'sg-0123456789abcdef0',
      Cidr: '127.0.0.1/32',
      Ports: [22],
      Until: 1_800_000_000,
    };
    expect(leaseOf({ Kind: 'User', Ingress })).toEqual(Ingress);
  });

  it('treats a missing or malformed Ingress as no lease', () => {
    const good = { SecurityGroupId: 'sg-0123456789abcdef0', Cidr: '127.0.0.1/32', Ports: [22], Until: 1 };
    for (const answer of [
      { Kind: 'User' },
      { Ingress: null },
      { Ingress: { ...good, Ports: ['22'] } },
      { Ingress: { ...good, Until: '1' } },
      { Ingress: { ...good, Cidr: undefined } },
    ])
      expect(leaseOf(answer), JSON.stringify(answer)).toBeUndefined();
  });

  it('refuses a target that is not [user@]<instance ARN> before any network call', async () => {
    const cmd = openCommand.exitOverride();
    await expect(
      cmd.parseAsync(['--ca', 'http://127.0.0.1:9', 'root@i-0123456789abcdef0'], { from: 'user' }),
    ).rejects.toThrow(/is not \[user@\]<instance ARN>/);
  });
});

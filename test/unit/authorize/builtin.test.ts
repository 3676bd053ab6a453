import { describe, expect, it } from 'vitest';
import { builtinPolicy } from '../../../src/authorize/builtin.js';
import { LkpError } from '../../../src/errors.js';
import { ALICE, INSTANCE_ARN } from '../../helpers/identities.js';

const alice = ALICE;
const ARN = INSTANCE_ARN;
const policy = builtinPolicy(['111122223333']);

const userRequest = (RemoteInstanceArn: string, SshUsername = 'ec2-user') =>
  ({
    Kind: 'LkpUserCertAuthorizationRequest',
    From: alice,
    RemoteInstanceArn,
    SshUsername,
    PublicKeyFingerprint: 'SHA256:x',
  }) as const;

describe('builtinPolicy', () => {
  it('grants <user>@<instance ARN> with pty and port forwarding only (DESIGN §3.4)', async () => {
    await expect(policy.authorizeUser(userRequest(ARN))).resolves.toEqual({
      principals: [`ec2-user@${ARN}`],
      criticalOptions: {},
      extensions: ['permit-port-forwarding', 'permit-pty'],
    });
  });

  it('names the login in the principal, so ec2-user and root get different certificates', async () => {
    const ec2 = await policy.authorizeUser(userRequest(ARN, 'ec2-user'));
    const root = await policy.authorizeUser(userRequest(ARN, 'root'));
    expect(ec2.principals).not.toEqual(root.principals);
    expect(root.principals).toEqual([`root@${ARN}`]);
  });

  it('refuses instances in accounts this CA does not serve', async () => {
    const foreign = 'arn:aws:ec2:us-east-1:444455556666:instance/i-0123456789abcdef0';
    const denial = policy.authorizeUser(userRequest(foreign));
    await expect(denial).rejects.toBeInstanceOf(LkpError);
    await expect(denial).rejects.toMatchObject({
      code: 'Forbidden',
      message: expect.stringMatching(/account 444455556666/),
    });
  });

  it('gives a host certificate the instance ARN alone, never names it cannot confirm', async () => {
    const grant = await policy.authorizeHost({
      Kind: 'LkpHostCertAuthorizationRequest',
      From: alice,
      HostInstanceArn: ARN,
      Principals: ['evil.example.com'],
    });
    expect(grant).toEqual({ principals: [ARN], criticalOptions: {}, extensions: [] });
  });
});

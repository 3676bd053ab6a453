import { describe, expect, it } from 'vitest';
import { checkHostCaller } from '../../../src/authorize/host-caller.js';
import type { LkpIdentity } from '../../../src/protocol.js';
import { INSTANCE_ARN, INSTANCE_SESSION } from '../../helpers/identities.js';

const ARN = INSTANCE_ARN;
const instanceSession = INSTANCE_SESSION;

describe('checkHostCaller (DESIGN §3.4)', () => {
  it("accepts the instance's own role session", () => {
    expect(() => checkHostCaller(instanceSession, ARN)).not.toThrow();
  });

  it.each<[string, LkpIdentity]>([
    [
      'an IAM user',
      {
        Arn: 'arn:aws:iam::111122223333:user/i-0123456789abcdef0',
        Account: '111122223333',
        Id: 'AIDA',
        Type: 'User',
        Name: 'i-0123456789abcdef0',
      },
    ],
    [
      'a federated user named like the instance',
      {
        ...instanceSession,
        Arn: 'arn:aws:sts::111122223333:federated-user/i-0123456789abcdef0',
        Type: 'FederatedUser',
        Name: 'i-0123456789abcdef0',
        SessionName: undefined,
        RoleName: undefined,
      },
    ],
    ['another instance', { ...instanceSession, SessionName: 'i-0fedcba9876543210' }],
    [
      'a session name that only starts with the id',
      { ...instanceSession, SessionName: 'i-0123456789abcdef0x' },
    ],
    [
      'the same role session in another account',
      {
        ...instanceSession,
        Account: '444455556666',
        Arn: 'arn:aws:sts::444455556666:assumed-role/web/i-0123456789abcdef0',
      },
    ],
    [
      'the same session in another partition',
      { ...instanceSession, Arn: 'arn:aws-cn:sts::111122223333:assumed-role/web/i-0123456789abcdef0' },
    ],
  ])('refuses %s', (_, who) => {
    expect(() => checkHostCaller(who, ARN)).toThrow(
      expect.objectContaining({
        code: 'Forbidden',
        message: expect.stringMatching(/only to that instance's own role session/),
      }),
    );
  });
});

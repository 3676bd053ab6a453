import { describe, expect, it } from 'vitest';
import { checkHostRole } from '../../../src/authorize/host-caller.js';
import type { InstanceRole } from '../../../src/ec2.js';
import { LkpError } from '../../../src/errors.js';
import type { LkpIdentity } from '../../../src/protocol.js';
import { INSTANCE_ARN, INSTANCE_ID } from '../../helpers/identities.js';

const ROLE_ID = 'AROAWEBROLE0000000001';
const WEB_ROLE: InstanceRole = { kind: 'role', roleId: ROLE_ID, roleName: 'web' };
const session = (roleName: string, roleId: string): LkpIdentity => ({
  Arn: `arn:aws:sts::111122223333:assumed-role/${roleName}/${INSTANCE_ID}`,
  Account: '111122223333',
  Id: `${roleId}:${INSTANCE_ID}`,
  Type: 'AssumedRole',
  RoleName: roleName,
  SessionName: INSTANCE_ID,
});

function refusal(who: LkpIdentity, role: InstanceRole): LkpError {
  try {
    checkHostRole(who, INSTANCE_ARN, role);
  } catch (e) {
    expect(e).toBeInstanceOf(LkpError);
    return e as LkpError;
  }
  throw new Error('checkHostRole accepted the caller');
}

describe('checkHostRole (DESIGN §3.4: the instance profile role)', () => {
  it("accepts a session of the instance profile's role, by id and name", () => {
    expect(() => checkHostRole(session('web', ROLE_ID), INSTANCE_ARN, WEB_ROLE)).not.toThrow();
  });

  it('refuses another role whose session is named after the instance, naming both roles', () => {
    const e = refusal(session('developer', 'AROADEVELOPER00000001'), WEB_ROLE);
    expect(e.code).toBe('Forbidden');
    expect(e.message).toContain(`instance profile role web (id ${ROLE_ID})`);
    expect(e.message).toContain('role developer, id AROADEVELOPER00000001');
  });

  it('refuses a re-created role of the same name (another role id)', () => {
    expect(refusal(session('web', 'AROAWEBROLE0000000002'), WEB_ROLE).code).toBe('Forbidden');
  });

  it('refuses a role with the same id but another name (it cannot be that role)', () => {
    expect(refusal(session('web2', ROLE_ID), WEB_ROLE).code).toBe('Forbidden');
  });

  it('refuses a caller that is not an assumed role, even with a matching-looking Id', () => {
    const user: LkpIdentity = {
      Arn: 'arn:aws:iam::111122223333:user/web',
      Account: '111122223333',
      Id: ROLE_ID,
      Type: 'User',
      Name: 'web',
      RoleName: 'web',
    };
    expect(refusal(user, WEB_ROLE).code).toBe('Forbidden');
  });

  it('refuses every caller when the instance has no role, saying why', () => {
    const e = refusal(session('web', ROLE_ID), {
      kind: 'none',
      reason: `instance ${INSTANCE_ID} has no instance profile`,
    });
    expect(e.code).toBe('Forbidden');
    expect(e.message).toContain(`instance ${INSTANCE_ID} has no instance profile`);
    expect(e.message).toContain('role web');
  });

  it('leaves instances of other accounts to the session rule alone', () => {
    expect(() =>
      checkHostRole(session('developer', 'AROADEVELOPER00000001'), INSTANCE_ARN, { kind: 'unchecked' }),
    ).not.toThrow();
  });
});

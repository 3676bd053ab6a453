import { describe, expect, it } from 'vitest';
import { parseUserPolicyResponse } from '../../src/authorize/response.js';
import { LkpError } from '../../src/errors.js';
import type { LkpUserCertAuthorizationRequest } from '../../src/protocol.js';
import { ALICE, INSTANCE_ARN } from '../helpers/identities.js';

const request: LkpUserCertAuthorizationRequest = {
  Kind: 'LkpUserCertAuthorizationRequest',
  From: ALICE,
  RemoteInstanceArn: INSTANCE_ARN,
  SshUsername: 'ec2-user',
  PublicKeyFingerprint: 'SHA256:x',
};
const GROUP = 'sg-0123456789abcdef0';

const parse = (Ingress: unknown) => parseUserPolicyResponse({ Authorized: true, Ingress }, request);

function refusal(Ingress: unknown): LkpError {
  try {
    parse(Ingress);
  } catch (e) {
    expect(e).toBeInstanceOf(LkpError);
    return e as LkpError;
  }
  throw new Error('expected the answer to be refused');
}

describe('the Ingress field of a policy answer', () => {
  it('becomes the grant’s lease: group, tcp, ports sorted; no ports means the CA default', () => {
    expect(parse({ SecurityGroupId: GROUP, Ports: [443, 22], Protocol: 'tcp' }).ingress).toEqual({
      securityGroupId: GROUP,
      protocol: 'tcp',
      ports: [22, 443],
    });
    expect(parse({ SecurityGroupId: 'sg-01234567' }).ingress).toEqual({
      securityGroupId: 'sg-01234567',
      protocol: 'tcp',
    });
    expect(parseUserPolicyResponse({ Authorized: true }, request).ingress).toBeUndefined();
  });

  it('accepts camelCase keys, as for the other fields', () => {
    const grant = parseUserPolicyResponse(
      { authorized: true, ingress: { securityGroupId: GROUP, ports: [22] } },
      request,
    );
    expect(grant.ingress).toEqual({ securityGroupId: GROUP, protocol: 'tcp', ports: [22] });
  });

  it.each([
    ['not an object', 'sg-0123456789abcdef0', /Ingress must be a JSON object/],
    ['no group', { Ports: [22] }, /Ingress.SecurityGroupId is missing/],
    ['a group name', { SecurityGroupId: 'default' }, /security group id/],
    ['upper-case hex', { SecurityGroupId: 'sg-0123456789ABCDEF0' }, /security group id/],
    ['a short id', { SecurityGroupId: 'sg-0123456' }, /security group id/],
    // A RegExp test would read a one-element array as its string (issue 15, mutation testing).
    ['a group id in an array', { SecurityGroupId: [GROUP] }, /security group id/],
    ['a group id with a prefix', { SecurityGroupId: `x${GROUP}` }, /security group id/],
    ['a group id with a suffix', { SecurityGroupId: `${GROUP}0` }, /security group id/],
    ['udp', { SecurityGroupId: GROUP, Protocol: 'udp' }, /Protocol must be "tcp"/],
    ['protocol -1', { SecurityGroupId: GROUP, Protocol: '-1' }, /Protocol must be "tcp"/],
    ['port 0', { SecurityGroupId: GROUP, Ports: [0] }, /Ports\[0\] must be a whole number from 1 to 65535/],
    ['port 65536', { SecurityGroupId: GROUP, Ports: [22, 65536] }, /Ports\[1\]/],
    ['a fractional port', { SecurityGroupId: GROUP, Ports: [22.5] }, /Ports\[0\]/],
    ['a port as string', { SecurityGroupId: GROUP, Ports: ['22'] }, /Ports\[0\]/],
    ['no ports', { SecurityGroupId: GROUP, Ports: [] }, /1 to 8 port numbers/],
    ['nine ports', { SecurityGroupId: GROUP, Ports: [1, 2, 3, 4, 5, 6, 7, 8, 9] }, /1 to 8/],
    ['a repeated port', { SecurityGroupId: GROUP, Ports: [22, 22] }, /lists a port twice/],
    ['an unknown field', { SecurityGroupId: GROUP, Cidr: '0.0.0.0/0' }, /unknown field "Cidr"/],
  ])('is refused as a PolicyError when it has %s', (_, ingress, message) => {
    const err = refusal(ingress);
    expect(err.code).toBe('PolicyError');
    expect(err.message).toMatch(message);
  });

  it('does not turn a denial into anything else', () => {
    expect(() =>
      parseUserPolicyResponse({ Authorized: false, Ingress: { SecurityGroupId: GROUP } }, request),
    ).toThrow(expect.objectContaining({ code: 'Forbidden' }));
  });
});

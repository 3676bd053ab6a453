/** Requests for the policy SDK and example tests, built from the short form. */
import { expect } from 'vitest';
import { sampleRequest } from '../../../authorizers/sdk/sample-request.js';
import type {
  LkpHostCertAuthorizationRequest,
  LkpUserCertAuthorizationRequest,
} from '../../../authorizers/sdk/types.js';

export const ACCOUNT = '111122223333';
export const INSTANCE_ID = 'i-0123456789abcdef0';
export const INSTANCE_ARN = `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/${INSTANCE_ID}`;
export const userArn = (name: string, account = ACCOUNT) => `arn:aws:iam::${account}:user/${name}`;
export const roleArn = (role: string, session: string, account = ACCOUNT) =>
  `arn:aws:sts::${account}:assumed-role/${role}/${session}`;

export function userRequest(
  from: string,
  extra: Record<string, unknown> = {},
): LkpUserCertAuthorizationRequest {
  const req = sampleRequest({
    From: from,
    RemoteInstanceArn: INSTANCE_ARN,
    SshUsername: 'ec2-user',
    ...extra,
  });
  if (req.Kind !== 'LkpUserCertAuthorizationRequest') throw new Error('expected a user request');
  return req;
}

export function hostRequest(from: string, hostInstanceArn = INSTANCE_ARN): LkpHostCertAuthorizationRequest {
  const req = sampleRequest({ From: from, HostInstanceArn: hostInstanceArn, Principals: [] });
  if (req.Kind !== 'LkpHostCertAuthorizationRequest') throw new Error('expected a host request');
  return req;
}

export const at = (hourUtc: number) => new Date(Date.UTC(2030, 0, 15, hourUtc, 30));

/** A deny() answer: Authorized false with the rule's reason, and nothing else. */
export const DENIED = { Authorized: false, Reason: expect.any(String) as unknown };

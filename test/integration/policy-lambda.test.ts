/**
 * The whole deployed shape on loopback: `lkp-ca serve` asks a shipped example policy
 * (authorizers/examples/work-hours, built) through the Lambda stand-in, as AUTHORIZATION_LAMBDA.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCaInfo, requestCertificate } from '../../client/lib/certificates.js';
import { generateKeyPair } from '../../src/local/openssh.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_INSTANCE_ARN,
  LOCAL_POLICY_FUNCTION,
  startLocalStack,
  type LocalStack,
} from '../../src/local/stack.js';
import type { InfoResponse, LkpUserCertAuthorizationRequest } from '../../src/protocol.js';

const policyModule = join(
  import.meta.dirname,
  '..',
  '..',
  'dist',
  'authorizers',
  'examples',
  'work-hours.js',
);
const hour = new Date().getUTCHours();

let stack: LocalStack;
let info: InfoResponse;

beforeAll(async () => {
  // The policy runs in this process (the stand-in imports it) and reads its settings from here.
  process.env.LKP_POLICY_ACCOUNTS = LOCAL_ACCOUNT;
  process.env.LKP_WORK_HOURS = `${String(hour).padStart(2, '0')}-${String((hour + 2) % 24).padStart(2, '0')}`;
  stack = await startLocalStack({ policyModule });
  info = await fetchCaInfo(stack.caUrl);
});
afterAll(async () => {
  delete process.env.LKP_POLICY_ACCOUNTS;
  delete process.env.LKP_WORK_HOURS;
  await stack?.close();
});

describe('a policy Lambda in the local stack', () => {
  it('is asked with the verified identity and the key fingerprint, and its yes becomes a certificate', async () => {
    const key = await generateKeyPair(stack.dir, 'id_policy');
    const cert = await requestCertificate(stack.caUrl, info, stack.user.credentials, {
      Kind: 'User',
      PublicKey: key.publicKey,
      RemoteInstanceArn: LOCAL_INSTANCE_ARN,
      SshUsername: 'ec2-user',
    });
    expect(cert.Principals).toEqual([`ec2-user@${LOCAL_INSTANCE_ARN}`]);
    const [event] = stack.lambda?.invocations(LOCAL_POLICY_FUNCTION) as LkpUserCertAuthorizationRequest[];
    expect(event).toEqual({
      Kind: 'LkpUserCertAuthorizationRequest',
      From: expect.objectContaining({
        Arn: stack.user.arn,
        Account: LOCAL_ACCOUNT,
        Type: 'User',
        Name: 'alice',
      }),
      RemoteInstanceArn: LOCAL_INSTANCE_ARN,
      SshUsername: 'ec2-user',
      SourceIp: expect.stringMatching(/127\.0\.0\.1$/),
      PublicKeyFingerprint: expect.stringMatching(/^SHA256:/),
    });
    expect(stack.caOutput()).toMatch(/"policy":"lambda:lkp-local-policy"/);
  });

  it('also decides host certificates', async () => {
    const key = await generateKeyPair(stack.dir, 'host_key');
    const cert = await requestCertificate(stack.caUrl, info, stack.host.credentials, {
      Kind: 'Host',
      PublicKey: key.publicKey,
      HostInstanceArn: LOCAL_INSTANCE_ARN,
      Principals: ['127.0.0.1'],
    });
    expect(cert.Principals).toEqual([LOCAL_INSTANCE_ARN, '127.0.0.1']);
    expect(stack.lambda?.invocations(LOCAL_POLICY_FUNCTION)).toContainEqual(
      expect.objectContaining({
        Kind: 'LkpHostCertAuthorizationRequest',
        HostInstanceArn: LOCAL_INSTANCE_ARN,
      }),
    );
  });
});

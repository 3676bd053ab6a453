import { describe, expect, it } from 'vitest';
import { PolicyRequestError } from '../../../authorizers/sdk/parse-request.js';
import { SAMPLE_FINGERPRINT, sampleRequest } from '../../../authorizers/sdk/sample-request.js';
import { ACCOUNT, INSTANCE_ARN, INSTANCE_ID, roleArn, userArn } from './fixtures.js';

describe('sampleRequest', () => {
  it('expands a short user request, parsing the ARN like the CA', () => {
    expect(
      sampleRequest({ From: userArn('alice'), RemoteInstanceArn: INSTANCE_ARN, SshUsername: 'ec2-user' }),
    ).toEqual({
      Kind: 'LkpUserCertAuthorizationRequest',
      From: { Arn: userArn('alice'), Account: ACCOUNT, Id: 'AIDAEXAMPLEALICE', Type: 'User', Name: 'alice' },
      RemoteInstanceArn: INSTANCE_ARN,
      SshUsername: 'ec2-user',
      PublicKeyFingerprint: SAMPLE_FINGERPRINT,
    });
  });

  it('expands role sessions, federated users and vouchers', () => {
    const req = sampleRequest({
      From: roleArn('Dev', 'dan'),
      RemoteInstanceArn: INSTANCE_ARN,
      SshUsername: 'ec2-user',
      Vouchers: [
        { From: `arn:aws:sts::${ACCOUNT}:federated-user/bob`, Vouchee: 'dan', Context: INSTANCE_ARN },
      ],
    });
    expect(req.From).toMatchObject({
      Type: 'AssumedRole',
      RoleName: 'Dev',
      SessionName: 'dan',
      Id: 'AROAEXAMPLEDEV:dan',
    });
    expect(req.Kind === 'LkpUserCertAuthorizationRequest' && req.Vouchers).toEqual([
      {
        Arn: `arn:aws:sts::${ACCOUNT}:federated-user/bob`,
        Account: ACCOUNT,
        Id: `${ACCOUNT}:bob`,
        Type: 'FederatedUser',
        Name: 'bob',
        Vouchee: 'dan',
        Context: INSTANCE_ARN,
      },
    ]);
  });

  it('expands a short host request', () => {
    expect(sampleRequest({ From: roleArn('web', INSTANCE_ID), HostInstanceArn: INSTANCE_ARN })).toMatchObject(
      {
        Kind: 'LkpHostCertAuthorizationRequest',
        HostInstanceArn: INSTANCE_ARN,
        Principals: [],
      },
    );
  });

  it('takes a request with a Kind as the full form, checked strictly', () => {
    expect(() => sampleRequest({ Kind: 'LkpUserCertAuthorizationRequest', From: userArn('alice') })).toThrow(
      /From must be a JSON object/,
    );
  });

  it('refuses identities the CA would refuse', () => {
    expect(() =>
      sampleRequest({ From: `arn:aws:iam::${ACCOUNT}:root`, HostInstanceArn: INSTANCE_ARN }),
    ).toThrow(PolicyRequestError);
    expect(() => sampleRequest({ From: 'alice', HostInstanceArn: INSTANCE_ARN })).toThrow(
      /From: identity alice is not supported/,
    );
  });
});

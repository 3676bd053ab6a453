import { describe, expect, it } from 'vitest';
import type { Grant } from '../../src/authorize/grant.js';
import { parsePublicKey } from '../../src/cert/index.js';
import { loadConfig } from '../../src/config.js';
import type { UserCertRequest, HostCertRequest } from '../../src/protocol.js';
import { BACKDATE_SECONDS, buildTemplate } from '../../src/template.js';
import { ALICE, INSTANCE_ARN } from '../helpers/identities.js';

const cfg = loadConfig({
  LKP_CA_KEY: 'file:/x',
  LKP_SERVER_ID: 's',
  LKP_ALLOWED_ACCOUNTS: '111122223333',
  AWS_REGION: 'us-east-1',
  LKP_USER_CERT_TTL: '3600',
  LKP_HOST_CERT_TTL: '86400',
});
const ARN = INSTANCE_ARN;
const who = ALICE;
const publicKey = parsePublicKey(
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
);
const identity = { Method: 'POST', Url: 'u', Body: 'b', Headers: {} };
const userReq: UserCertRequest = {
  Kind: 'User',
  Identity: identity,
  PublicKey: '',
  RemoteInstanceArn: ARN,
  SshUsername: 'ec2-user',
};
const hostReq: HostCertRequest = {
  Kind: 'Host',
  Identity: identity,
  PublicKey: '',
  HostInstanceArn: ARN,
  Principals: [],
};
const grant: Grant = {
  principals: ['p'],
  criticalOptions: { 'force-command': 'uptime' },
  extensions: ['permit-pty'],
};
const now = new Date('2026-11-23T10:00:00Z');
const nowS = now.getTime() / 1000;

describe('buildTemplate (DESIGN §3.5)', () => {
  it('derives a user certificate: caller ARN as key id, backdated start, configured TTL', () => {
    const t = buildTemplate({ req: userReq, who, publicKey, grant, serial: 7n, now }, cfg);
    expect(t).toEqual({
      kind: 'user',
      publicKey,
      serial: 7n,
      keyId: who.Arn,
      principals: ['p'],
      validAfter: nowS - BACKDATE_SECONDS,
      validBefore: nowS + 3600,
      criticalOptions: { 'force-command': 'uptime' },
      extensions: ['permit-pty'],
    });
  });

  it('derives a host certificate: instance ARN as key id, host TTL, no options or extensions', () => {
    const t = buildTemplate({ req: hostReq, who, publicKey, grant, serial: 7n, now }, cfg);
    expect(t).toMatchObject({
      kind: 'host',
      keyId: ARN,
      validBefore: nowS + 86400,
      criticalOptions: {},
      extensions: [],
    });
  });

  it('lets a grant shorten the validity but never lengthen it', () => {
    const shorter = buildTemplate(
      { req: userReq, who, publicKey, grant: { ...grant, validForSeconds: 600 }, serial: 7n, now },
      cfg,
    );
    expect(shorter.validBefore).toBe(nowS + 600);
    const longer = buildTemplate(
      { req: userReq, who, publicKey, grant: { ...grant, validForSeconds: 99999 }, serial: 7n, now },
      cfg,
    );
    expect(longer.validBefore).toBe(nowS + 3600);
  });

  it('never signs empty principals: that would mean any user to sshd', () => {
    expect(() =>
      buildTemplate(
        { req: userReq, who, publicKey, grant: { ...grant, principals: [] }, serial: 7n, now },
        cfg,
      ),
    ).toThrow(expect.objectContaining({ code: 'PolicyError' }));
  });

  it('drops duplicate principals', () => {
    const t = buildTemplate(
      { req: userReq, who, publicKey, grant: { ...grant, principals: ['a', 'b', 'a'] }, serial: 7n, now },
      cfg,
    );
    expect(t.principals).toEqual(['a', 'b']);
  });
});

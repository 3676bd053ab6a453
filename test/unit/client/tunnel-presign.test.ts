import { describe, expect, it } from 'vitest';
import { presignOpenTunnel, type TunnelRequest } from '../../../client/lib/tunnel/presign.js';
import { verifyPresignedSigV4, type SigningCredentials } from '../../../src/local/sigv4-verify.js';

const NOW = new Date('2026-05-06T07:08:09Z');
const HOST = 'eice-0123456789abcdef0.b67b86ba.ec2-instance-connect-endpoint.eu-west-1.amazonaws.com';
const KEYS: SigningCredentials = { accessKeyId: 'AKIAEXAMPLEUSER00001', secretAccessKey: 'user-secret' };
const SESSION: SigningCredentials = {
  accessKeyId: 'ASIAEXAMPLESESSION01',
  secretAccessKey: 'session-secret',
  sessionToken: 'token/with+characters=',
};
const REQUEST: TunnelRequest = {
  endpointUrl: `wss://${HOST}`,
  endpointId: 'eice-0123456789abcdef0',
  privateIp: '10.0.1.23',
  port: 22,
  region: 'eu-west-1',
  maxTunnelDuration: 900,
};

/** The independent verifier of the local stack judges the URL as EICE would. */
function verify(url: string, opts: { now?: Date; credentials?: SigningCredentials; host?: string } = {}) {
  const u = new URL(url);
  const credentials = opts.credentials ?? KEYS;
  return verifyPresignedSigV4(
    { method: 'GET', target: `${u.pathname}${u.search}`, headers: [['Host', opts.host ?? u.host]] },
    {
      region: 'eu-west-1',
      service: 'ec2-instance-connect',
      now: opts.now ?? NOW,
      maxSkewMs: 5 * 60_000,
      findCredentials: (id) => (id === credentials.accessKeyId ? credentials : undefined),
    },
  );
}

describe('presignOpenTunnel', () => {
  it('builds the AWS CLI OpenTunnel URL: wss, /openTunnel, the four parameters, 60 s, host signed', () => {
    const url = new URL(presignOpenTunnel(REQUEST, KEYS, NOW));
    expect(url.protocol).toBe('wss:');
    expect(url.host).toBe(HOST);
    expect(url.pathname).toBe('/openTunnel');
    const q = url.searchParams;
    expect(q.get('instanceConnectEndpointId')).toBe('eice-0123456789abcdef0');
    expect(q.get('remotePort')).toBe('22');
    expect(q.get('privateIpAddress')).toBe('10.0.1.23');
    expect(q.get('maxTunnelDuration')).toBe('900');
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Credential')).toBe(
      'AKIAEXAMPLEUSER00001/20260506/eu-west-1/ec2-instance-connect/aws4_request',
    );
    expect(q.get('X-Amz-Date')).toBe('20260506T070809Z');
    expect(q.get('X-Amz-Expires')).toBe('60');
    expect(q.get('X-Amz-SignedHeaders')).toBe('host');
    expect(verify(url.href)).toEqual({ ok: true, accessKeyId: KEYS.accessKeyId });
  });

  it('signs the session token of temporary credentials into the query', () => {
    const url = presignOpenTunnel(REQUEST, SESSION, NOW);
    expect(new URL(url).searchParams.get('X-Amz-Security-Token')).toBe(SESSION.sessionToken);
    expect(verify(url, { credentials: SESSION }).ok).toBe(true);
  });

  it('leaves maxTunnelDuration out when none is asked for', () => {
    const { maxTunnelDuration: _, ...noLimit } = REQUEST;
    const url = presignOpenTunnel(noLimit, KEYS, NOW);
    expect(new URL(url).searchParams.has('maxTunnelDuration')).toBe(false);
    expect(verify(url).ok).toBe(true);
  });

  it('a changed parameter, another host or a late use no longer verifies', () => {
    const url = presignOpenTunnel(REQUEST, KEYS, NOW);
    const retargeted = url.replace('privateIpAddress=10.0.1.23', 'privateIpAddress=10.0.1.24');
    expect(verify(retargeted)).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    const longer = url.replace('maxTunnelDuration=900', 'maxTunnelDuration=3600');
    expect(verify(longer)).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(verify(url, { host: 'elsewhere.amazonaws.com' })).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    expect(verify(url, { now: new Date(NOW.getTime() + 61_000) })).toMatchObject({
      ok: false,
      code: 'RequestExpired',
    });
    expect(verify(url, { now: new Date(NOW.getTime() + 59_000) }).ok).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { buildIdentityProof } from '../../../client/lib/proof.js';
import { verifySigV4 } from '../../../src/local/sigv4-verify.js';
import type { IdentityProof } from '../../../src/protocol.js';

const NOW = new Date('2024-05-06T07:08:09.123Z');
const USER = { accessKeyId: 'AKIAEXAMPLEUSER00001', secretAccessKey: 'user-secret' };
const SESSION = {
  accessKeyId: 'ASIAEXAMPLESESSION01',
  secretAccessKey: 'session-secret',
  sessionToken: 'tok',
};

const build = (overrides: Partial<Parameters<typeof buildIdentityProof>[0]> = {}) =>
  buildIdentityProof({
    stsEndpoint: 'https://sts.eu-west-1.amazonaws.com',
    region: 'eu-west-1',
    serverId: 'lkp-prod',
    keyFingerprint: 'SHA256:abc',
    credentials: USER,
    now: NOW,
    ...overrides,
  });

const signedHeaders = (proof: IdentityProof) =>
  /SignedHeaders=([^,]+)/.exec(String(proof.Headers.Authorization))?.[1]?.split(';');

describe('buildIdentityProof', () => {
  it('describes a POST of GetCallerIdentity to the endpoint root', () => {
    const proof = build();
    expect(proof).toMatchObject({
      Method: 'POST',
      Url: 'https://sts.eu-west-1.amazonaws.com/',
      Body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(proof.Headers).toEqual({
      Authorization: expect.stringMatching(
        /^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEUSER00001\/20240506\/eu-west-1\/sts\/aws4_request, SignedHeaders=[a-z;-]+, Signature=[0-9a-f]{64}$/,
      ),
      Host: 'sts.eu-west-1.amazonaws.com',
      'X-Amz-Date': '20240506T070809Z',
      'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
      'Content-Length': '43',
      'X-Lkp-Server-Id': 'lkp-prod',
      'X-Lkp-Key-Fingerprint': 'SHA256:abc',
    });
  });

  it('signs the host, the date, the server id and the key fingerprint', () => {
    expect(signedHeaders(build())).toEqual(
      expect.arrayContaining(['host', 'x-amz-date', 'x-lkp-server-id', 'x-lkp-key-fingerprint']),
    );
  });

  it('carries and signs the session token of temporary credentials', () => {
    const proof = build({ credentials: SESSION });
    expect(proof.Headers['X-Amz-Security-Token']).toBe('tok');
    expect(signedHeaders(proof)).toContain('x-amz-security-token');
  });

  it('produces a signature an independent SigV4 verifier accepts', () => {
    const proof = build({ credentials: SESSION });
    const result = verifySigV4(
      {
        method: proof.Method,
        target: new URL(proof.Url).pathname,
        headers: Object.entries(proof.Headers).map(([k, v]) => [k, String(v)] as const),
        body: proof.Body,
      },
      { region: 'eu-west-1', service: 'sts', now: NOW, maxSkewMs: 60_000, findCredentials: () => SESSION },
    );
    expect(result).toEqual({ ok: true, accessKeyId: SESSION.accessKeyId });
  });

  it('keeps an explicit port in Host and omits a default one', () => {
    expect(build({ stsEndpoint: 'http://127.0.0.1:4567' }).Headers.Host).toBe('127.0.0.1:4567');
    expect(build({ stsEndpoint: 'http://127.0.0.1:4567' }).Url).toBe('http://127.0.0.1:4567/');
    expect(build({ stsEndpoint: 'https://sts.amazonaws.com:443' }).Headers.Host).toBe('sts.amazonaws.com');
    expect(build({ stsEndpoint: 'https://sts.amazonaws.com/' }).Url).toBe('https://sts.amazonaws.com/');
  });

  it('binds the signature to the server id and the key', () => {
    const a = build().Headers.Authorization;
    expect(build({ serverId: 'lkp-dev' }).Headers.Authorization).not.toBe(a);
    expect(build({ keyFingerprint: 'SHA256:other' }).Headers.Authorization).not.toBe(a);
  });

  it.each([
    'sts.amazonaws.com',
    'ftp://sts.amazonaws.com',
    'https://sts.amazonaws.com/x',
    'https://u:p@sts.amazonaws.com',
  ])('refuses an STS endpoint that is not an http(s) origin: %s', (stsEndpoint) => {
    expect(() => build({ stsEndpoint })).toThrow(/invalid STS endpoint/);
  });

  it('refuses header values that could split the request', () => {
    expect(() => build({ serverId: 'a\r\nX-Amz-Target: x' })).toThrow(/invalid server id/);
    expect(() => build({ keyFingerprint: '' })).toThrow(/invalid key fingerprint/);
  });
});

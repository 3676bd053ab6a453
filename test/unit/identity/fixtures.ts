/** Shared test data: a real aws4-signed proof and the CA expectations it satisfies. */
import aws4 from 'aws4';
import type { IdentityProof } from '../../../src/protocol.js';
import type { ProofExpectations } from '../../../src/identity/proof.js';
import type { IdentityConfig } from '../../../src/identity/index.js';

export const NOW = new Date('2025-03-01T12:00:00Z');
export const ENDPOINT = 'https://sts.us-east-1.amazonaws.com';
export const SERVER_ID = 'lkp-test-ca';
export const FINGERPRINT = 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU';
export const ACCESS_KEY_ID = 'ASIAIOSFODNN7EXAMPLE';
export const SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLEsessionTOKENvalue//////////wEaDA==';
export const ACCOUNT = '123456789012';
export const CALLER = {
  Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Developer/alice`,
  Account: ACCOUNT,
  UserId: 'AROAEXAMPLEROLEID:alice',
};

export const EXPECT: ProofExpectations = {
  stsEndpoint: ENDPOINT,
  region: 'us-east-1',
  serverId: SERVER_ID,
  keyFingerprint: FINGERPRINT,
  clockSkewSeconds: 300,
  now: NOW,
};

export const CONFIG: IdentityConfig = {
  stsEndpoint: ENDPOINT,
  region: 'us-east-1',
  serverId: SERVER_ID,
  clockSkewSeconds: 300,
  allowedAccounts: [ACCOUNT],
  stsTimeoutMs: 1000,
};

export interface SignOptions {
  /** Origin the proof is signed for (default ENDPOINT). */
  origin?: string;
  region?: string;
  service?: string;
  body?: string;
  date?: Date;
  /** null: long-term credentials, no token. */
  sessionToken?: string | null;
  /** Headers included before signing (so they are signed). */
  signedExtra?: Record<string, string>;
  /** Omit the lkp binding headers from the signed set. */
  omit?: string[];
}

export function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** A proof exactly as a client builds it with aws4. */
export function signedProof(o: SignOptions = {}): IdentityProof {
  const origin = new URL(o.origin ?? ENDPOINT);
  const headers: Record<string, string> = {
    'X-Lkp-Server-Id': SERVER_ID,
    'X-Lkp-Key-Fingerprint': FINGERPRINT,
    'X-Amz-Date': amzDate(o.date ?? NOW),
    ...o.signedExtra,
  };
  for (const h of o.omit ?? []) delete headers[h];
  const signed = aws4.sign(
    {
      host: origin.hostname,
      ...(origin.port ? { port: Number(origin.port) } : {}),
      path: '/',
      method: 'POST',
      service: o.service ?? 'sts',
      region: o.region ?? 'us-east-1',
      body: o.body ?? 'Action=GetCallerIdentity&Version=2011-06-15',
      headers,
    },
    {
      accessKeyId: ACCESS_KEY_ID,
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      ...(o.sessionToken === null ? {} : { sessionToken: o.sessionToken ?? SESSION_TOKEN }),
    },
  );
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(signed.headers ?? {})) {
    if (typeof v === 'string' || typeof v === 'number') out[k] = v;
  }
  return { Method: 'POST', Url: `${origin.origin}/`, Body: String(signed.body), Headers: out };
}

/** A copy of a proof with headers changed (undefined deletes). */
export function withHeaders(
  p: IdentityProof,
  changes: Record<string, string | number | undefined>,
): IdentityProof {
  const Headers: Record<string, string | number> = { ...p.Headers };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete Headers[k];
    else Headers[k] = v;
  }
  return { ...p, Headers };
}

export function authorizationOf(p: IdentityProof): string {
  return String(p.Headers['Authorization']);
}

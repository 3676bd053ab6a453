/**
 * The identity proof of DESIGN §3.1: an STS GetCallerIdentity request signed with the caller's
 * credentials but never sent by the client. The CA forwards it to STS to learn who signed it.
 */
import aws4 from 'aws4';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import {
  HEADER_KEY_FINGERPRINT,
  HEADER_SERVER_ID,
  HEADER_VOUCHEE,
  HEADER_VOUCHER_CONTEXT,
  STS_ACTION_BODY,
  type IdentityProof,
} from '../../src/protocol.js';

/** The only headers a proof may carry (DESIGN §3.1 allow-list); anything else aws4 adds is dropped. */
const PROOF_HEADERS = [
  'Authorization',
  'Host',
  'X-Amz-Date',
  'X-Amz-Security-Token',
  'Content-Type',
  'Content-Length',
  HEADER_SERVER_ID,
  HEADER_KEY_FINGERPRINT,
  HEADER_VOUCHEE,
  HEADER_VOUCHER_CONTEXT,
] as const;

/** What the proof is bound to: the caller's key (§3.1), or for a voucher whom and what for (§3.2). */
export type ProofBinding = { keyFingerprint: string } | { vouchee: string; voucherContext: string };

/** Signs (does not send) STS GetCallerIdentity with aws4, binding the server id and the binding headers. */
export function buildIdentityProof(
  opts: {
    /** Origin of the STS endpoint, as the CA's Info answer gives it. */
    stsEndpoint: string;
    region: string;
    serverId: string;
    credentials: AwsCredentialIdentity;
    now?: Date;
  } & ProofBinding,
): IdentityProof {
  const endpoint = parseEndpoint(opts.stsEndpoint);
  // Every header set here ends up in SignedHeaders: binding the server id and the key (a voucher:
  // vouchee and context) to the signature is what makes a captured proof useless elsewhere (DESIGN §3.1).
  const signed = aws4.sign(
    {
      host: endpoint.host,
      path: '/',
      method: 'POST',
      service: 'sts',
      region: opts.region,
      body: STS_ACTION_BODY,
      headers: {
        // URL.host keeps the port only when the endpoint names a non-default one, as the CA expects.
        Host: endpoint.host,
        'X-Amz-Date': amzDate(opts.now ?? new Date()),
        'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
        [HEADER_SERVER_ID]: headerValue('server id', opts.serverId),
        ...bindingHeaders(opts),
      },
    },
    {
      accessKeyId: opts.credentials.accessKeyId,
      secretAccessKey: opts.credentials.secretAccessKey,
      sessionToken: opts.credentials.sessionToken,
    },
  );
  const headers: Record<string, string> = {};
  for (const name of PROOF_HEADERS) {
    const value = signed.headers?.[name];
    if (value !== undefined) headers[name] = String(value);
  }
  return { Method: 'POST', Url: `${endpoint.origin}/`, Body: STS_ACTION_BODY, Headers: headers };
}

function parseEndpoint(stsEndpoint: string): URL {
  let url: URL;
  try {
    url = new URL(stsEndpoint);
  } catch {
    throw new Error(
      `invalid STS endpoint '${stsEndpoint}': expected an origin such as https://sts.us-east-1.amazonaws.com`,
    );
  }
  const isOrigin =
    url.username === '' && url.password === '' && url.pathname === '/' && !url.search && !url.hash;
  if (!['http:', 'https:'].includes(url.protocol) || !isOrigin) {
    throw new Error(
      `invalid STS endpoint '${stsEndpoint}': expected an origin such as https://sts.us-east-1.amazonaws.com`,
    );
  }
  return url;
}

function bindingHeaders(b: ProofBinding): Record<string, string> {
  if ('keyFingerprint' in b)
    return { [HEADER_KEY_FINGERPRINT]: headerValue('key fingerprint', b.keyFingerprint) };
  return {
    [HEADER_VOUCHEE]: headerValue('vouchee', b.vouchee),
    [HEADER_VOUCHER_CONTEXT]: headerValue('voucher context', b.voucherContext),
  };
}

function headerValue(what: string, value: string): string {
  if (value === '' || /[\r\n\0]/.test(value))
    throw new Error(`cannot sign an identity proof: invalid ${what}`);
  return value;
}

/** SigV4's basic ISO 8601 form, e.g. 20240102T030405Z. */
const amzDate = (d: Date) => d.toISOString().replace(/[-:]|\.\d{3}/g, '');

/**
 * Each call the CA makes (calls.ts), made by our client and by the SDK against a recording loopback
 * server: the same method, path, headers that matter and body, both signatures valid by the SDK's
 * own signer; and the same sample answers and error documents read the same by both.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLS, CREDENTIALS, ourErrorCode, type ConformanceCall } from './calls.js';
import { startRecorder, type RecordedRequest, type Recorder } from './recorder.js';

let recorder: Recorder;
beforeAll(async () => {
  recorder = await startRecorder();
});
afterAll(async () => {
  await recorder.close();
});

/** The SDK's own hash, as its clients use it. */
const sha256 = new KMSClient({ region: 'us-east-1' }).config.sha256;

/** The one request `send` makes, answered with the call's first sample. */
async function recordOne(
  call: ConformanceCall,
  send: (endpoint: string) => Promise<unknown>,
): Promise<RecordedRequest> {
  recorder.requests = [];
  recorder.answer = call.answers[0]!;
  await send(recorder.url);
  expect(recorder.requests).toHaveLength(1);
  return recorder.requests[0]!;
}

/** Media type, without parameters: `; charset=utf-8` changes nothing AWS reads. */
const mediaType = (r: RecordedRequest) =>
  String(r.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();

/**
 * The body as the service reads it: form pairs (a Query API reads them by name, in any order: the
 * SDK writes a structure's members in its own order), JSON parsed, anything else as bytes.
 */
function bodyAsRead(r: RecordedRequest): unknown {
  if (mediaType(r) === 'application/x-www-form-urlencoded')
    return [...new URLSearchParams(r.body)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (mediaType(r).includes('json')) return JSON.parse(r.body) as unknown;
  return r.body;
}

/** What the service acts on; signing headers are checked through the signature. */
const THAT_MATTER = [
  'host',
  'x-amz-target',
  'x-amz-invocation-type',
  'x-amz-security-token',
  'x-amz-client-context',
  'x-amz-log-type',
];
const shown = (r: RecordedRequest) => ({
  method: r.method,
  path: r.path,
  mediaType: mediaType(r),
  headers: Object.fromEntries(THAT_MATTER.map((h) => [h, r.headers[h]])),
  body: bodyAsRead(r),
});

/** Re-signs the recorded request with the SDK's SignatureV4 over the headers it says it signed. */
async function signatureValid(call: ConformanceCall, r: RecordedRequest): Promise<void> {
  const authorization = String(r.headers['authorization']);
  const scope = /Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization);
  expect(scope?.slice(1), 'credential scope').toEqual([
    CREDENTIALS.accessKeyId,
    scope?.[2],
    call.region,
    call.signingName,
  ]);
  const signed = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  expect(signed).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-security-token']));
  const headers = Object.fromEntries(signed.map((h) => [h, String(r.headers[h])]));
  const url = new URL(r.path, recorder.url);
  const signer = new SignatureV4({
    service: call.signingName,
    region: call.region,
    credentials: CREDENTIALS,
    sha256,
    // As the SDK clients sign (no x-amz-content-sha256 header outside S3).
    applyChecksum: false,
  });
  const amzDate = String(r.headers['x-amz-date']);
  const date = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const again = await signer.sign(
    {
      method: r.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: decodeURIComponent(url.pathname),
      query: Object.fromEntries(url.searchParams),
      headers,
      body: r.body,
    },
    { signingDate: date },
  );
  expect(again.headers['authorization']).toBe(authorization);
}

describe.each(CALLS.map((c) => [c.name, c] as const))('%s', (_name, call) => {
  it('sends what the SDK sends, signed validly (by the SDK signer) by both', async () => {
    const ours = await recordOne(call, (endpoint) => call.ours(endpoint));
    const sdk = await recordOne(call, (endpoint) => call.sdk(endpoint));
    expect(shown(ours)).toEqual(shown(sdk));
    await signatureValid(call, ours);
    await signatureValid(call, sdk);
  });

  it.each(call.answers.map((a, i) => [i, a] as const))(
    'reads sample answer %i as the SDK does',
    async (_i, answer) => {
      recorder.answer = answer;
      const ours = call.readOurs(await call.ours(recorder.url));
      const sdk = call.readSdk(await call.sdk(recorder.url));
      expect(ours).toEqual(sdk);
    },
  );

  it.each(call.errors.map((a) => [`${a.status} ${a.body.slice(0, 60)}`, a] as const))(
    'fails on the error answer %s with the code the SDK names',
    async (_label, answer) => {
      recorder.answer = answer;
      const ours = await call.ours(recorder.url).then(
        () => undefined,
        (e: unknown) => e,
      );
      const sdk = await call.sdk(recorder.url).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(sdk).toBeInstanceOf(Error);
      // A modeled Query error is named after its shape (NoSuchEntityException); its wire code is Error.Code.
      const wire = sdk as Error & { Error?: { Code?: string } };
      expect(ourErrorCode(call, ours)).toBe(wire.Error?.Code ?? wire.name);
    },
  );
});

/**
 * The STS answer is read strictly (DESIGN §3.1): with a fake transport for every hostile body,
 * and through httpStsTransport against loopback servers for status, size, timeout and redirects.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LkpError, type ErrorCode } from '../../../src/errors.js';
import { parseStsProof, type StsProof } from '../../../src/identity/proof.js';
import {
  MAX_STS_RESPONSE_BYTES,
  callSts,
  httpStsTransport,
  parseStsResponse,
  type StsAnswer,
  type StsTransport,
} from '../../../src/identity/sts.js';
import { startFakeSts, stsJson, stsXml, type FakeSts } from '../../helpers/fake-sts.js';
import { CALLER, EXPECT, signedProof } from './fixtures.js';

const REQUEST: StsProof = parseStsProof(signedProof(), EXPECT);
const XML = stsXml(CALLER);

function answering(answer: Partial<StsAnswer>): StsTransport {
  return async () => ({ status: 200, contentType: 'text/xml', body: XML, ...answer });
}

async function expectError(p: Promise<unknown> | (() => unknown), code: ErrorCode, message: RegExp) {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LkpError);
  expect({ code: (err as LkpError).code, message: (err as LkpError).message }).toEqual({
    code,
    message: expect.stringMatching(message),
  });
}

const xmlWith = (result: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><GetCallerIdentityResponse><GetCallerIdentityResult>${result}</GetCallerIdentityResult></GetCallerIdentityResponse>`;
const FIELDS = `<Arn>${CALLER.Arn}</Arn><Account>${CALLER.Account}</Account><UserId>${CALLER.UserId}</UserId>`;

describe('parseStsResponse', () => {
  it('reads the XML answer STS gives', () => {
    expect(parseStsResponse('text/xml', XML)).toEqual(CALLER);
    expect(parseStsResponse('application/xml; charset=UTF-8', xmlWith(FIELDS))).toEqual(CALLER);
  });

  it('reads the JSON answer STS gives', () => {
    expect(parseStsResponse('application/json', stsJson(CALLER))).toEqual(CALLER);
  });

  it('decodes the predefined and numeric entities', () => {
    const c = { ...CALLER, UserId: 'AROA:a&amp;b&#65;&#x42;' };
    expect(parseStsResponse('text/xml', stsXml(c)).UserId).toBe('AROA:a&bAB');
  });

  it.each([
    ['text/html', XML],
    ['text/plain', XML],
    ['application/json; charset=latin1', stsJson(CALLER)],
    ['', XML],
    ['application/xml+evil', XML],
  ])('rejects content type %j', (ct, body) => {
    expect(() => parseStsResponse(ct, body)).toThrow(/unexpected content type/);
  });

  it.each([
    [
      'a DOCTYPE',
      `<!DOCTYPE r [<!ENTITY x "arn:aws:iam::123456789012:user/x">]>${xmlWith(FIELDS)}`,
      /DOCTYPE, ENTITY/,
    ],
    [
      'an ENTITY reference to an undeclared entity',
      xmlWith(FIELDS.replace(CALLER.Arn, '&x;')),
      /entity other than/,
    ],
    [
      'a CDATA section',
      xmlWith(FIELDS.replace(CALLER.Arn, `<![CDATA[${CALLER.Arn}]]>`)),
      /DOCTYPE, ENTITY, CDATA/,
    ],
    ['a comment', xmlWith(`<!-- hi -->${FIELDS}`), /comment/],
    ['a processing instruction', xmlWith(`<?evil x?>${FIELDS}`), /processing instruction/],
    ['a second XML declaration', `<?xml version="1.0"?>${xmlWith(FIELDS)}`, /processing instruction/],
    [
      'a duplicate Arn',
      xmlWith(`${FIELDS}<Arn>arn:aws:iam::123456789012:user/admin</Arn>`),
      /exactly one Arn \(found 2\)/,
    ],
    [
      'a missing UserId',
      xmlWith(FIELDS.replace(/<UserId>.*<\/UserId>/, '')),
      /exactly one UserId \(found 0\)/,
    ],
    ['a missing Account', xmlWith(FIELDS.replace(/<Account>.*<\/Account>/, '')), /exactly one Account/],
    [
      'an extra element',
      xmlWith(`${FIELDS}<Admin>true</Admin>`),
      /unexpected element Admin in GetCallerIdentityResult/,
    ],
    ['a nested element in Arn', xmlWith(FIELDS.replace('</Arn>', '<b/></Arn>')), /Arn must hold text only/],
    [
      'a second result',
      XML.replace(
        '<ResponseMetadata>',
        `<GetCallerIdentityResult>${FIELDS}</GetCallerIdentityResult><ResponseMetadata>`,
      ),
      /exactly one GetCallerIdentityResult/,
    ],
    [
      'another root',
      XML.replace(/GetCallerIdentityResponse/g, 'AssumeRoleResponse'),
      /not a GetCallerIdentityResponse/,
    ],
    ['two roots', `${XML}${XML}`, /not well-formed/],
    ['mismatched tags', xmlWith(FIELDS.replace('</Arn>', '</Account>')), /not well-formed/],
    ['an unclosed root', XML.replace('</GetCallerIdentityResponse>', ''), /not well-formed/],
    ['text outside the root', `junk${XML}`, /not well-formed/],
    ['stray text in the result', xmlWith(`text${FIELDS}`), /stray text/],
    ['an empty body', '', /not well-formed/],
    [
      'an out-of-range character reference',
      xmlWith(FIELDS.replace('</UserId>', '&#x110000;</UserId>')),
      /not well-formed/,
    ],
    ['a prefixed element', xmlWith(FIELDS.replace(/Arn>/g, 'sts:Arn>')), /not well-formed/],
  ])('rejects XML with %s', (_what, body, message) => {
    expect(() => parseStsResponse('text/xml', body)).toThrow(message);
  });

  it.each([
    ['not JSON', '{"GetCallerIdentityResponse":', /not valid JSON/],
    [
      'a duplicate Arn key',
      stsJson(CALLER).replace('"Arn":', '"Arn":"arn:aws:iam::123456789012:user/admin","Arn":'),
      /repeats a field/,
    ],
    [
      'a missing field',
      JSON.stringify({
        GetCallerIdentityResponse: { GetCallerIdentityResult: { Arn: CALLER.Arn, Account: CALLER.Account } },
      }),
      /must have exactly Arn, Account, UserId/,
    ],
    [
      'an extra field',
      stsJson({ ...CALLER, Admin: true } as typeof CALLER),
      /must have exactly Arn, Account, UserId/,
    ],
    [
      'a non-string field',
      stsJson({ ...CALLER, Account: 123456789012 } as unknown as typeof CALLER),
      /must be strings/,
    ],
    [
      'a bare result',
      JSON.stringify({ GetCallerIdentityResult: CALLER }),
      /must have exactly GetCallerIdentityResponse/,
    ],
    ['an array', '[]', /the answer is not an object/],
  ])('rejects JSON with %s', (_what, body, message) => {
    expect(() => parseStsResponse('application/json', body)).toThrow(message);
  });

  it('tells duplicate JSON keys apart from equal keys in different objects', () => {
    const body =
      '{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Arn":"' +
      CALLER.Arn +
      '","Account":"123456789012","UserId":"x"},"ResponseMetadata":{"Arn":"\\"Arn\\":"}}}';
    expect(parseStsResponse('application/json', body).UserId).toBe('x');
  });

  it('rejects an Account that does not match the ARN', () => {
    expect(() => parseStsResponse('text/xml', stsXml({ ...CALLER, Account: '999999999999' }))).toThrow(
      /Account does not match Arn/,
    );
  });

  it('rejects an Account that is not 12 digits', () => {
    const c = { ...CALLER, Account: '12345678901', Arn: 'arn:aws:iam::12345678901:user/a' };
    expect(() => parseStsResponse('text/xml', stsXml(c))).toThrow(/not a 12-digit id/);
  });

  it('rejects an empty or unprintable UserId', () => {
    expect(() => parseStsResponse('text/xml', stsXml({ ...CALLER, UserId: '' }))).toThrow(/invalid UserId/);
    expect(() => parseStsResponse('text/xml', stsXml({ ...CALLER, UserId: 'a b' }))).toThrow(
      /invalid UserId/,
    );
  });
});

describe('callSts with a fake transport', () => {
  it('returns the caller on 200', async () => {
    await expect(callSts(REQUEST, 1000, answering({}))).resolves.toEqual(CALLER);
  });

  it('maps 5xx to Internal', async () => {
    await expectError(
      callSts(REQUEST, 1000, answering({ status: 503, body: '' })),
      'Internal',
      /^STS unavailable \(HTTP 503\)/,
    );
  });

  it('maps 4xx to Unauthenticated, naming the AWS error code', async () => {
    const body =
      '<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>x</Message></Error></ErrorResponse>';
    await expectError(
      callSts(REQUEST, 1000, answering({ status: 403, body })),
      'Unauthenticated',
      /^AWS rejected the identity proof \(HTTP 403 SignatureDoesNotMatch\); the proof was altered/,
    );
    await expectError(
      callSts(
        REQUEST,
        1000,
        answering({
          status: 400,
          contentType: 'application/json',
          body: '{"Error":{"Code":"ExpiredToken"}}',
        }),
      ),
      'Unauthenticated',
      /HTTP 400 ExpiredToken\); your session token has expired/,
    );
  });

  it('does not look an error code up on the object prototype', async () => {
    const body = '<Error><Code>constructor</Code></Error>';
    await expectError(
      callSts(REQUEST, 1000, answering({ status: 400, body })),
      'Unauthenticated',
      /^AWS rejected the identity proof \(HTTP 400 constructor\); check your AWS credentials$/,
    );
  });

  it('treats other statuses (a redirect, 204, 201) as a rejection', async () => {
    for (const status of [302, 204, 201, 100]) {
      await expectError(
        callSts(REQUEST, 1000, answering({ status })),
        'Unauthenticated',
        new RegExp(`HTTP ${status}`),
      );
    }
  });

  it('rejects an oversize body even if the transport returned it', async () => {
    const body = XML.replace('<ResponseMetadata>', `<ResponseMetadata>${' '.repeat(MAX_STS_RESPONSE_BYTES)}`);
    await expectError(
      callSts(REQUEST, 1000, answering({ body })),
      'Unauthenticated',
      /larger than 16384 bytes/,
    );
  });

  /** Answers with each of `answers` in turn (the last one from then on), counting the calls. */
  function inTurn(...answers: (Partial<StsAnswer> | Error)[]): StsTransport & { calls: number } {
    const transport = Object.assign(
      async () => {
        const next = answers[Math.min(transport.calls++, answers.length - 1)];
        if (next instanceof Error) throw next;
        return { status: 200, contentType: 'text/xml', body: XML, ...next };
      },
      { calls: 0 },
    );
    return transport;
  }
  const throttled = (code: string, status = 400): Partial<StsAnswer> => ({
    status,
    body: `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>Rate exceeded</Message></Error></ErrorResponse>`,
  });

  it('retries STS throttling with backoff, as the SDK does (issue 17, item 3)', async () => {
    const sts = inTurn(throttled('Throttling'), {});
    await expect(callSts(REQUEST, 3000, sts)).resolves.toEqual(CALLER);
    expect(sts.calls).toBe(2);
  });

  it.each(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException'])(
    'reports %s that outlasts the retries as throttling: Internal, not a credentials problem',
    async (code) => {
      const sts = inTurn(throttled(code));
      await expectError(
        callSts(REQUEST, 5000, sts),
        'Internal',
        new RegExp(`^STS is throttling the CA's identity checks \\(HTTP 400 ${code}\\); try again shortly$`),
      );
      expect(sts.calls).toBeGreaterThan(1);
      expect(sts.calls).toBeLessThanOrEqual(3);
    },
  );

  it('takes HTTP 429 as throttling too', async () => {
    await expectError(callSts(REQUEST, 5000, inTurn({ status: 429, body: '' })), 'Internal', /throttling/);
  });

  it('retries 5xx and connection failures, 3 attempts at most', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const flaky = inTurn({ status: 503, body: '' }, refused, {});
    await expect(callSts(REQUEST, 3000, flaky)).resolves.toEqual(CALLER);
    expect(flaky.calls).toBe(3);
    const down = inTurn({ status: 502, body: '' });
    await expectError(callSts(REQUEST, 3000, down), 'Internal', /^STS unavailable \(HTTP 502\)/);
    expect(down.calls).toBe(3);
  });

  it('does not retry a refusal (a wrong signature fails the same way again)', async () => {
    const sts = inTurn({ status: 403, body: '<Error><Code>SignatureDoesNotMatch</Code></Error>' });
    await expectError(callSts(REQUEST, 3000, sts), 'Unauthenticated', /SignatureDoesNotMatch/);
    expect(sts.calls).toBe(1);
  });

  it('starts no wait that would end past the deadline', async () => {
    const sts = inTurn(throttled('Throttling'));
    // With the deadline reached after the first answer, no backoff fits, however random it is.
    await expectError(callSts(REQUEST, 0, sts), 'Internal', /throttling/);
    expect(sts.calls).toBe(1);
  });

  it('maps a transport failure to Internal without leaking its text', async () => {
    const failing: StsTransport = async () => {
      throw new Error('connect ECONNREFUSED secret-detail');
    };
    await expectError(
      callSts(REQUEST, 1000, failing),
      'Internal',
      /^STS unavailable: could not reach https:\/\/sts\.us-east-1\.amazonaws\.com; try again$/,
    );
  });
});

describe('httpStsTransport against loopback servers', () => {
  const servers: FakeSts[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function fakeSts(...args: Parameters<typeof startFakeSts>) {
    const s = await startFakeSts(...args);
    servers.push(s);
    return s;
  }

  function requestFor(s: FakeSts): StsProof {
    return parseStsProof(signedProof({ origin: s.origin }), { ...EXPECT, stsEndpoint: s.origin });
  }

  it('POSTs exactly the proof to / and reads the XML answer', async () => {
    const sts = await fakeSts(() => ({ headers: { 'Content-Type': 'text/xml' }, body: XML }));
    const req = requestFor(sts);
    await expect(callSts(req, 1000, httpStsTransport)).resolves.toEqual(CALLER);
    expect(sts.requests).toHaveLength(1);
    const got = sts.requests[0];
    expect(got?.method).toBe('POST');
    expect(got?.url).toBe('/');
    expect(got?.body).toBe('Action=GetCallerIdentity&Version=2011-06-15');
    const sent = Object.fromEntries((got?.rawHeaders ?? []).filter(([k]) => k in req.headers));
    expect(sent).toEqual(req.headers);
    expect(got?.rawHeaders.find(([k]) => k.toLowerCase() === 'host')?.[1]).toBe(sts.host);
  });

  it('reads a JSON answer', async () => {
    const sts = await fakeSts(() => ({
      headers: { 'Content-Type': 'application/json' },
      body: stsJson(CALLER),
    }));
    await expect(callSts(requestFor(sts), 1000, httpStsTransport)).resolves.toEqual(CALLER);
  });

  it('maps 500 to Internal', async () => {
    const sts = await fakeSts(() => ({ status: 500, body: 'oops' }));
    await expectError(callSts(requestFor(sts), 1000, httpStsTransport), 'Internal', /HTTP 500/);
  });

  it('maps 403 to Unauthenticated', async () => {
    const sts = await fakeSts(() => ({
      status: 403,
      headers: { 'Content-Type': 'text/xml' },
      body: '<Error><Code>InvalidClientTokenId</Code></Error>',
    }));
    await expectError(
      callSts(requestFor(sts), 1000, httpStsTransport),
      'Unauthenticated',
      /HTTP 403 InvalidClientTokenId/,
    );
  });

  it('rejects a wrong content type', async () => {
    const sts = await fakeSts(() => ({ headers: { 'Content-Type': 'text/html' }, body: XML }));
    await expectError(
      callSts(requestFor(sts), 1000, httpStsTransport),
      'Unauthenticated',
      /unexpected content type/,
    );
  });

  it('rejects a DOCTYPE answer', async () => {
    const body = `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${XML}`;
    const sts = await fakeSts(() => ({ headers: { 'Content-Type': 'text/xml' }, body }));
    await expectError(callSts(requestFor(sts), 1000, httpStsTransport), 'Unauthenticated', /DOCTYPE/);
  });

  it('cuts off an oversize body, declared or chunked', async () => {
    const body = XML.replace('<ResponseMetadata>', `<ResponseMetadata>${' '.repeat(20_000)}`);
    for (const chunked of [false, true]) {
      const sts = await fakeSts(() => ({ headers: { 'Content-Type': 'text/xml' }, body, chunked }));
      await expectError(
        callSts(requestFor(sts), 1000, httpStsTransport),
        'Unauthenticated',
        /larger than 16384 bytes/,
      );
    }
  });

  it('gives up on a slow server at the timeout (Internal)', async () => {
    const sts = await fakeSts(() => ({ headers: { 'Content-Type': 'text/xml' }, body: XML, delayMs: 5_000 }));
    const started = Date.now();
    await expectError(
      callSts(requestFor(sts), 150, httpStsTransport),
      'Internal',
      /did not answer within 150 ms/,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('does not follow a redirect', async () => {
    const target = await fakeSts(() => ({ headers: { 'Content-Type': 'text/xml' }, body: XML }));
    const sts = await fakeSts(() => ({ status: 302, headers: { Location: `${target.origin}/` } }));
    await expectError(callSts(requestFor(sts), 1000, httpStsTransport), 'Unauthenticated', /HTTP 302/);
    expect(sts.requests).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
  });

  it('maps a refused connection to Internal', async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const req = parseStsProof(signedProof({ origin }), { ...EXPECT, stsEndpoint: origin });
    await expectError(callSts(req, 1000, httpStsTransport), 'Internal', /STS unavailable: could not reach/);
  });

  it('rejects a body that is not UTF-8', async () => {
    const raw = await fakeRawServer(
      Buffer.concat([
        Buffer.from(
          'HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 2\r\nConnection: close\r\n\r\n',
        ),
        Buffer.from([0xc3, 0x28]),
      ]),
    );
    await expectError(
      callSts(
        parseStsProof(signedProof({ origin: raw.origin }), { ...EXPECT, stsEndpoint: raw.origin }),
        1000,
        httpStsTransport,
      ),
      'Unauthenticated',
      /not UTF-8/,
    );
    await raw.close();
  });
});

describe('httpStsTransport with a server that hangs up', () => {
  it('maps a connection closed mid-answer to Internal, well before the timeout', async () => {
    const raw = await fakeRawServer(
      Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 500\r\n\r\n<Get'),
    );
    const req = parseStsProof(signedProof({ origin: raw.origin }), { ...EXPECT, stsEndpoint: raw.origin });
    const started = Date.now();
    await expectError(callSts(req, 5_000, httpStsTransport), 'Internal', /STS unavailable/);
    expect(Date.now() - started).toBeLessThan(2_000);
    await raw.close();
  });

  it('maps a connection closed before any answer to Internal', async () => {
    const raw = await fakeRawServer(Buffer.alloc(0));
    const req = parseStsProof(signedProof({ origin: raw.origin }), { ...EXPECT, stsEndpoint: raw.origin });
    await expectError(
      callSts(req, 5_000, httpStsTransport),
      'Internal',
      /STS unavailable|closed the connection/,
    );
    await raw.close();
  });
});

/** A port nothing listens on: bind, note it, release it. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A server that writes fixed bytes once the request has arrived. */
async function fakeRawServer(response: Buffer): Promise<{ origin: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    sockets.add(sock);
    sock.once('data', () => sock.end(response));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

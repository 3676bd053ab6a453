/**
 * What the STS client must do that the other tests did not show (issue 15, mutation testing): see a
 * repeated JSON field after a closed nested object, an array or an escaped quote, or with spaces
 * before its colon; refuse non-string fields; cut an answer off while it streams and hang up; speak
 * TLS to an https endpoint, and reach an IPv6 literal. Behaviour only, through parseStsResponse, callSts
 * and httpStsTransport, against raw loopback sockets.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LkpError } from '../../../src/errors.js';
import { parseStsProof, type StsProof } from '../../../src/identity/proof.js';
import { callSts, httpStsTransport, parseStsResponse } from '../../../src/identity/sts.js';
import { stsJson, stsXml } from '../../helpers/fake-sts.js';
import { CALLER, EXPECT, signedProof } from './fixtures.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** A TCP server on `host` that hands each connection's first bytes to `onData`. */
async function rawServer(host: string, onData: (sock: net.Socket, first: Buffer) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.once('data', (first: Buffer) => onData(sock, first));
  });
  await new Promise<void>((r) => srv.listen(0, host, r));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  });
  return (srv.address() as net.AddressInfo).port;
}

const proofFor = (origin: string): StsProof =>
  parseStsProof(signedProof({ origin }), { ...EXPECT, stsEndpoint: origin });

async function errorOf(p: Promise<unknown>): Promise<LkpError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LkpError);
  return e as LkpError;
}

describe('parseStsResponse (JSON)', () => {
  const result = (arn: string) =>
    `"GetCallerIdentityResult":{"Arn":"${arn}","Account":"${CALLER.Account}","UserId":"${CALLER.UserId}"}`;
  const other = CALLER.Arn.replace(/[^/]+$/, 'mallory');
  /** Two results around `metadata`: JSON.parse would keep the second, naming another caller. */
  const twoResults = (metadata: string) =>
    `{"GetCallerIdentityResponse":{${result(CALLER.Arn)},"ResponseMetadata":${metadata},${result(other)}}}`;

  it('sees a repeated field that follows a closed nested object', () => {
    expect(() => parseStsResponse('application/json', twoResults('{"RequestId":"r"}'))).toThrow(
      /repeats a field/,
    );
  });

  it('sees a repeated field that follows an array', () => {
    expect(() => parseStsResponse('application/json', twoResults('{"Ids":["a",{"b":1}]}'))).toThrow(
      /repeats a field/,
    );
  });

  it('sees a repeated field that follows a string holding an escaped quote and a brace', () => {
    expect(() => parseStsResponse('application/json', twoResults('{"RequestId":"\\"{"}'))).toThrow(
      /repeats a field/,
    );
  });

  it('sees a repeated field written with spaces around the colon', () => {
    const spaced = twoResults('{"RequestId":"r"}').replaceAll('":', '" : ');
    expect(JSON.parse(spaced)).toBeTypeOf('object');
    expect(() => parseStsResponse('application/json', spaced)).toThrow(/repeats a field/);
  });

  it.each([
    ['an Arn in an array', { ...CALLER, Arn: [CALLER.Arn] }],
    ['a numeric UserId', { ...CALLER, UserId: 1234567 }],
  ])('refuses %s', (_what, caller) => {
    const body = stsJson(caller as unknown as typeof CALLER);
    expect(() => parseStsResponse('application/json', body)).toThrow(/must be strings/);
  });
});

describe('httpStsTransport', () => {
  it('cuts off an answer that never ends as soon as it passes the size cap, not at the deadline, and hangs up', async () => {
    let hungUp: Promise<void> | undefined;
    const port = await rawServer('127.0.0.1', (sock) => {
      hungUp = new Promise<void>((resolve) => sock.once('close', () => resolve()));
      sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n');
      // 64 KiB in 1 KiB chunks and no final chunk: the body never ends on its own.
      const chunk = `400\r\n${' '.repeat(1024)}\r\n`;
      for (let i = 0; i < 64; i++) sock.write(chunk);
    });
    // A deadline far beyond any test timeout: only the streaming cap can end this call.
    const e = await errorOf(callSts(proofFor(`http://127.0.0.1:${port}`), 600_000, httpStsTransport));
    expect({ code: e.code, message: e.message }).toEqual({
      code: 'Unauthenticated',
      message: expect.stringMatching(/larger than 16384 bytes/),
    });
    // The CA closes the connection itself: the server never ends it, so only that settles this.
    expect(hungUp).toBeInstanceOf(Promise);
    await hungUp;
  });

  it('speaks TLS to an https endpoint', async () => {
    let first: Buffer | undefined;
    const port = await rawServer('127.0.0.1', (sock, data) => {
      first = data;
      sock.destroy();
    });
    await errorOf(callSts(proofFor(`https://127.0.0.1:${port}`), 10_000, httpStsTransport));
    // A TLS record of type handshake (22), version 3.x: a ClientHello, not "POST / HTTP/1.1".
    expect([first?.[0], first?.[1]]).toEqual([22, 3]);
  });

  it('reaches an IPv6 literal endpoint', async () => {
    const body = stsXml(CALLER);
    let seen = '';
    const port = await rawServer('::1', (sock, data) => {
      seen = data.toString('latin1');
      sock.end(
        `HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    const origin = `http://[::1]:${port}`;
    await expect(callSts(proofFor(origin), 10_000, httpStsTransport)).resolves.toEqual(CALLER);
    expect(seen).toMatch(/^POST \/ HTTP\/1\.1\r\n/);
    expect(seen).toMatch(new RegExp(`\\r\\nHost: \\[::1\\]:${port}\\r\\n`, 'i'));
  });
});

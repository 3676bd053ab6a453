/**
 * Resource limits of the HTTP transport (DESIGN §3.2: bodies > 64 KiB, over-long strings; the
 * server's own timeouts in src/server.ts startCaServer): every case is answered, or dropped,
 * within the CA's limits and nothing is signed. Slow STS and slow policies are in
 * hostile-sts.test.ts and policy-output.test.ts.
 */
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCaInfo } from '../../client/lib/certificates.js';
import { buildIdentityProof } from '../../client/lib/proof.js';
import { LOCAL_INSTANCE_ARN, startLocalStack, type LocalStack } from '../../src/local/stack.js';
import type { InfoResponse } from '../../src/protocol.js';
import {
  ed25519PublicKey,
  expectNoSecretsIn,
  expectRefused,
  fingerprint,
  postCa,
  slowClient,
} from '../helpers/attack.js';

/** server.requestTimeout in src/server.ts: the longest a whole request may take to arrive. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Bounded wait for the server to drop a slow client: its timeout plus slack for a busy machine. */
const DROP_BOUND_MS = REQUEST_TIMEOUT_MS + 4_000;

let stack: LocalStack;
let info: InfoResponse;
const publicKey = ed25519PublicKey();

beforeAll(async () => {
  stack = await startLocalStack();
  info = await fetchCaInfo(stack.caUrl);
});
afterAll(async () => stack?.close());

function validRequest(): Record<string, unknown> {
  return {
    Kind: 'User',
    Identity: buildIdentityProof({
      stsEndpoint: info.StsEndpoint,
      region: info.StsRegion,
      serverId: info.ServerId,
      keyFingerprint: fingerprint(publicKey),
      credentials: stack.user.credentials,
    }),
    PublicKey: publicKey,
    RemoteInstanceArn: LOCAL_INSTANCE_ARN,
    SshUsername: 'ec2-user',
  };
}

/** A raw POST / with `body` written in pieces (chunked, no Content-Length) and extra request headers. */
function rawPost(
  body: string[],
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const url = new URL(stack.caUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: 'POST', path: '/', headers },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    for (const piece of body) req.write(piece);
    req.end();
  });
}

describe('body size and shape', () => {
  it('answers 413 to a body over 64 KiB', async () => {
    const padded = JSON.stringify({ ...validRequest(), Pad: 'x'.repeat(70 * 1024) });
    expectRefused(await postCa(stack.caUrl, padded), [413]);
  });

  it('answers 413 to a chunked body over 64 KiB (no Content-Length to trust)', async () => {
    const head = JSON.stringify(validRequest()).slice(0, -1);
    const answer = await rawPost([head, `,"Pad":"${'x'.repeat(32 * 1024)}`, `${'x'.repeat(40 * 1024)}"}`]);
    expect(answer.status).toBe(413);
    expect(answer.text).not.toContain('Certificate');
  });

  const shapes: [string, () => string][] = [
    ['deeply nested arrays', () => `{"Kind":"User","Identity":${'['.repeat(30_000)}${']'.repeat(30_000)}}`],
    ['deeply nested objects', () => `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`],
    [
      'thousands of keys',
      () =>
        JSON.stringify({
          ...validRequest(),
          ...Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`k${i}`, 0])),
        }),
    ],
    [
      'a proof with a thousand headers',
      () => {
        const r = validRequest();
        const identity = r.Identity as { Headers: Record<string, string> };
        for (let i = 0; i < 1000; i++) identity.Headers[`X-Amz-Meta-${i}`] = 'x';
        return JSON.stringify(r);
      },
    ],
    [
      'an over-long SshUsername',
      () => JSON.stringify({ ...validRequest(), SshUsername: 'a'.repeat(60_000) }),
    ],
    [
      'an over-long header value',
      () => {
        const r = validRequest();
        (r.Identity as { Headers: Record<string, string> }).Headers['X-Lkp-Server-Id'] = 'a'.repeat(9000);
        return JSON.stringify(r);
      },
    ],
    [
      'a huge number',
      () =>
        JSON.stringify(validRequest()).replace('"Kind":"User"', `"Kind":"User","N":1${'0'.repeat(50_000)}`),
    ],
    ['a BOM and UTF-16 text', () => `\ufeff${JSON.stringify(validRequest())}`],
  ];
  it.concurrent.each(shapes)('refuses %s with 400, quickly', async (_, make) => {
    const answer = await postCa(stack.caUrl, make());
    expectRefused(answer, [400, 413]);
    expect(answer.ms).toBeLessThan(3000);
  });
});

describe('HTTP headers', () => {
  it('answers a request with hundreds of HTTP headers (Node refuses it with 400) without hanging', async () => {
    const headers = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`X-Junk-${i}`, 'x']));
    const started = Date.now();
    const answer = await rawPost([JSON.stringify(validRequest())], headers);
    expect([200, 400, 431]).toContain(answer.status);
    expect(answer.text).not.toContain('Certificate');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses HTTP headers larger than the server accepts', async () => {
    const answer = await rawPost(['{}'], { 'X-Big': 'x'.repeat(64 * 1024) }).catch(() => ({
      status: 0,
      text: '',
    }));
    // Node answers 431 or resets the connection; either way no certificate and no crash
    expect([0, 431]).toContain(answer.status);
    expect(answer.text).not.toContain('Certificate');
  });
});

describe('slow clients (slow-loris)', () => {
  // src/server.ts sets headersTimeout 5 s and requestTimeout 10 s, but Node only checks them every
  // connectionsCheckingInterval (30 s by default), so these fail while that interval is left alone.
  it.concurrent('drops a client that sends its headers a line at a time, within its timeouts', async () => {
    const held = await slowClient(stack.caUrl, {
      head: 'POST / HTTP/1.1\r\nHost: ca\r\nContent-Type: application/json\r\n',
      drip: 'X-Slow: 1\r\n',
      intervalMs: 500,
      giveUpMs: DROP_BOUND_MS,
    });
    expect(held.closedByServer, `still open after ${held.heldMs} ms`).toBe(true);
    expect(held.firstLine).not.toMatch(/^HTTP\/1\.1 200/);
  });

  it.concurrent('drops a client that sends its body a byte at a time, within its timeouts', async () => {
    const held = await slowClient(stack.caUrl, {
      head: 'POST / HTTP/1.1\r\nHost: ca\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
      drip: ' ',
      intervalMs: 500,
      giveUpMs: DROP_BOUND_MS,
    });
    expect(held.closedByServer, `still open after ${held.heldMs} ms`).toBe(true);
    expect(held.firstLine).not.toMatch(/^HTTP\/1\.1 200/);
  });

  it.concurrent('keeps answering others while slow clients hang on', async () => {
    const answer = await postCa(stack.caUrl, validRequest());
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  });
});

describe('logging (DESIGN §5)', () => {
  it('wrote no Authorization value, signature, session token or secret key', () => {
    expectNoSecretsIn(
      stack.caOutput(),
      stack.sts.principals.map((p) => p.credentials.secretAccessKey),
    );
  });
});

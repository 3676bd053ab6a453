import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CaRequestError, callCa } from '../../../client/lib/ca-client.js';
import type { InfoResponse } from '../../../src/protocol.js';
import { rejectionOf } from '../../helpers/rejection.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => {
    server?.closeAllConnections();
    server ? server.close(resolve) : resolve(undefined);
  });
  server = undefined;
});

/** A loopback CA stand-in that records what it received and answers with `reply`. */
async function startCa(
  reply: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<string> {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => reply(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server?.address() as AddressInfo).port}/`;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};

const rejection = (p: Promise<unknown>): Promise<CaRequestError> => rejectionOf(p, CaRequestError);

const INFO: InfoResponse = {
  CaPublicKeys: ['ssh-ed25519 AAAA lkp-ca'],
  ServerId: 'lkp',
  StsEndpoint: 'http://127.0.0.1:1',
  StsRegion: 'us-east-1',
};

describe('callCa', () => {
  it('POSTs the request as JSON and returns the parsed answer', async () => {
    let seen: { method?: string; type?: string; body?: unknown } = {};
    const url = await startCa((req, body, res) => {
      seen = { method: req.method, type: req.headers['content-type'], body: JSON.parse(body) };
      json(res, 200, INFO);
    });
    await expect(callCa<InfoResponse>(url, { Kind: 'Info' })).resolves.toEqual(INFO);
    expect(seen).toEqual({ method: 'POST', type: 'application/json', body: { Kind: 'Info' } });
  });

  it("throws the CA's error code and message", async () => {
    const url = await startCa((_req, _body, res) =>
      json(res, 403, { Error: { Code: 'Forbidden', Message: 'policy denied access to i-0abc for root' } }),
    );
    const e = await rejection(callCa(url, { Kind: 'Info' }));
    expect(e).toMatchObject({
      code: 'Forbidden',
      status: 403,
      message: 'policy denied access to i-0abc for root',
    });
  });

  it('reports a body that is not JSON as a transport error', async () => {
    const url = await startCa((_req, _body, res) => {
      res.writeHead(502, { 'Content-Type': 'text/html' });
      res.end('<html>Bad Gateway</html>');
    });
    const e = await rejection(callCa(url, { Kind: 'Info' }));
    expect(e).toMatchObject({ code: 'Transport', status: 502 });
    expect(e.message).toMatch(/answered HTTP 502 with a body that is not JSON/);
  });

  it('reports a failure status without an lkp error as a transport error', async () => {
    const url = await startCa((_req, _body, res) => json(res, 500, { message: 'Internal Server Error' }));
    const e = await rejection(callCa(url, { Kind: 'Info' }));
    expect(e).toMatchObject({ code: 'Transport', status: 500 });
    expect(e.message).toMatch(/without a valid lkp response/);
  });

  it('reports a refused connection as a transport error naming the cause', async () => {
    const url = await startCa(() => undefined);
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    const e = await rejection(callCa(url, { Kind: 'Info' }));
    expect(e.code).toBe('Transport');
    expect(e.message).toBe(`could not reach the CA at ${url}: ECONNREFUSED`);
  });

  it('gives up after the timeout', async () => {
    const url = await startCa(() => undefined); // never answers
    const e = await rejection(callCa(url, { Kind: 'Info' }, { timeoutMs: 200 }));
    expect(e.code).toBe('Transport');
    expect(e.message).toMatch(/did not answer within 200 ms/);
  });

  it('does not follow redirects', async () => {
    const url = await startCa((_req, _body, res) => {
      res.writeHead(307, { Location: 'http://127.0.0.1:1/' });
      res.end();
    });
    const e = await rejection(callCa(url, { Kind: 'Info' }));
    expect(e.code).toBe('Transport');
  });
});

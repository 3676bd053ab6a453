/**
 * The HTTP transport of `lkp-ca serve` and the local stack: POST / with a JSON body, the same
 * request and response as every other transport (DESIGN §3). Listens on loopback only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Ca } from './ca.js';
import { HTTP_STATUS } from './errors.js';
import { readLimitedBody } from './http-body.js';
import { MAX_REQUEST_BYTES } from './protocol.js';

export interface CaServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startCaServer(ca: Ca, opts: { port: number; host?: string }): Promise<CaServer> {
  // Slow clients must not hold the CA: a whole request has a few seconds to arrive. Node enforces
  // these timeouts only when it checks its connections (every 30 s by default), so check every second.
  const server = createServer(
    { connectionsCheckingInterval: 1_000, headersTimeout: 5_000, requestTimeout: 10_000 },
    (req, res) => {
      void route(ca, req, res);
    },
  );
  server.maxHeadersCount = 64;
  const host = opts.host ?? '127.0.0.1';
  await listen(server, opts.port, host);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => undefined),
  };
}

async function route(ca: Ca, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST' || (req.url !== '/' && req.url !== '')) {
    req.resume();
    return reply(res, HTTP_STATUS.BadRequest, {
      Error: { Code: 'BadRequest', Message: 'send requests as POST / with a JSON body' },
    });
  }
  const body = await readLimitedBody(req, MAX_REQUEST_BYTES);
  if (body === undefined) {
    return reply(res, 413, {
      Error: { Code: 'BadRequest', Message: `request body is larger than ${MAX_REQUEST_BYTES} bytes` },
    });
  }
  const { status, response } = await ca(
    { body },
    { transport: 'http', ...(req.socket.remoteAddress ? { sourceIp: req.socket.remoteAddress } : {}) },
  );
  reply(res, status, response);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

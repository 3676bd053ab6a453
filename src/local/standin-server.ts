/**
 * What every AWS stand-in shares (DESIGN §6): a loopback HTTP server on an ephemeral or given port,
 * and SigV4 verification of a request against the credentials the stand-in accepts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  verifySigV4,
  type SigningCredentials,
  type SigV4FailureCode,
  type VerifyResult,
} from './sigv4-verify.js';

export interface StandinServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Every HTTP request received, valid or not. */
  requestCount(): number;
  close(): Promise<void>;
}

export interface StandinServerOptions {
  port?: number | undefined;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Answers a request `handle` rejected; called only while no response headers have been sent. */
  fail(req: IncomingMessage, res: ServerResponse, error: unknown): void;
}

/** Listens on 127.0.0.1 only; a failure after the headers went out resets the connection instead. */
export async function startStandinServer(opts: StandinServerOptions): Promise<StandinServer> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    opts.handle(req, res).catch((e: unknown) => {
      if (res.headersSent) res.destroy();
      else opts.fail(req, res, e);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requestCount: () => requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export interface StandinSignatureOptions {
  region: string;
  service: string;
  /** Allowed distance between X-Amz-Date and now. */
  maxSkewMs: number;
  /** The one set of credentials accepted, or a lookup by access key id. */
  credentials: SigningCredentials | ((accessKeyId: string) => SigningCredentials | undefined);
}

/** Verifies the request's SigV4 signature over `body`, as the real service would. */
export function verifyStandinSignature(
  req: IncomingMessage,
  body: Buffer,
  opts: StandinSignatureOptions,
): VerifyResult {
  const accepted = opts.credentials;
  return verifySigV4(
    { method: req.method ?? '', target: req.url ?? '', headers: headerPairs(req.rawHeaders), body },
    {
      region: opts.region,
      service: opts.service,
      now: new Date(),
      maxSkewMs: opts.maxSkewMs,
      findCredentials:
        typeof accepted === 'function'
          ? accepted
          : (id) => (id === accepted.accessKeyId ? accepted : undefined),
    },
  );
}

/** Node's flat `rawHeaders` as name/value pairs in arrival order, so repeated headers stay visible. */
export function headerPairs(raw: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i] ?? '', raw[i + 1] ?? '']);
  return pairs;
}

/** Escapes XML element text; the query-protocol stand-ins write no dynamic attributes. */
export const escapeXmlText = (s: string): string =>
  s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c);

/** How AWS JSON services (KMS, DynamoDB) name SigV4 failures. */
export const JSON_SIGV4_FAULTS: Readonly<Record<SigV4FailureCode, string>> = {
  MissingAuthenticationToken: 'MissingAuthenticationTokenException',
  IncompleteSignature: 'IncompleteSignatureException',
  InvalidClientTokenId: 'UnrecognizedClientException',
  SignatureDoesNotMatch: 'InvalidSignatureException',
  RequestExpired: 'InvalidSignatureException',
};

/** A refusal of a JSON-protocol stand-in (KMS, DynamoDB), answered as `{ __type, message }`. */
export class JsonServiceFault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** One JSON answer as AWS JSON services send it, with a request id. */
export function sendAwsJson(res: ServerResponse, status: number, body: object, contentType: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
  });
  res.end(text);
}

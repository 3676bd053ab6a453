/**
 * A loopback HTTP server that answers whatever a test scripts, for hostile-STS tests.
 * It records every request it receives so tests can assert what was (or was not) sent.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeStsReply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Send the body in chunks of 16 bytes without a Content-Length (chunked encoding). */
  chunked?: boolean;
}

export interface RecordedRequest {
  method: string;
  url: string;
  /** Raw header name/value pairs as received, names as the client spelled them. */
  rawHeaders: [string, string][];
  body: string;
}

export interface FakeSts {
  /** Origin, e.g. http://127.0.0.1:45123 (no trailing slash). */
  origin: string;
  host: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startFakeSts(reply: (req: RecordedRequest) => FakeStsReply): Promise<FakeSts> {
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawHeaders: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        rawHeaders.push([req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '']);
      }
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(recorded);
      const r = reply(recorded);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (res.destroyed) return;
        const body = r.body ?? '';
        if (r.chunked) {
          res.writeHead(r.status ?? 200, r.headers ?? {});
          for (let i = 0; i < body.length; i += 16) res.write(body.slice(i, i + 16));
          res.end();
        } else {
          res.writeHead(r.status ?? 200, { 'Content-Length': String(Buffer.byteLength(body)), ...r.headers });
          res.end(body);
        }
      }, r.delayMs ?? 0);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A well-formed STS GetCallerIdentity XML answer. */
export function stsXml(c: { Arn: string; Account: string; UserId: string }): string {
  return `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>${c.Arn}</Arn>
    <UserId>${c.UserId}</UserId>
    <Account>${c.Account}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
`;
}

/** The same answer as STS gives it with Accept: application/json. */
export function stsJson(c: { Arn: string; Account: string; UserId: string }): string {
  return JSON.stringify({
    GetCallerIdentityResponse: {
      GetCallerIdentityResult: c,
      ResponseMetadata: { RequestId: '01234567-89ab-cdef-0123-456789abcdef' },
    },
  });
}

/**
 * A loopback server that records each request and answers with a given sample, so the same call
 * made by our client and by the SDK can be compared byte for byte, and the same answer read by both.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SampleAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Recorder {
  url: string;
  requests: RecordedRequest[];
  /** What the next requests are answered with. */
  answer: SampleAnswer;
  close(): Promise<void>;
}

export async function startRecorder(): Promise<Recorder> {
  const recorder: Recorder = {
    url: '',
    requests: [],
    answer: { status: 500, headers: {}, body: '' },
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      recorder.requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const { status, headers, body } = recorder.answer;
      res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  recorder.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  recorder.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return recorder;
}

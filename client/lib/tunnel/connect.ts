/**
 * The tunnel itself: one WebSocket to the endpoint's presigned OpenTunnel URL, carrying the TCP
 * stream to the instance as binary frames, both ways, with backpressure. For ssh's ProxyCommand the
 * two ends are stdin and stdout: when ssh exits its pipes close, and so does the tunnel.
 *
 * The `ws` library, not Node's built-in WebSocket: when EICE refuses the handshake (IAM denies
 * OpenTunnel, an expired URL, no route to the port) the built-in client reports only "closed 1006",
 * while ws hands over the HTTP status and AWS's message; ws also pauses the socket when the reader
 * is slow (docs/architecture.md, "Reach").
 */
import type { Readable, Writable } from 'node:stream';
import WebSocket from 'ws';
import { CliError, EXIT } from '../../errors.js';

/** Bytes sent but not yet written to the socket before stdin is paused. */
const HIGH_WATER = 1 << 20;
const HANDSHAKE_TIMEOUT_MS = 15_000;
const MAX_REFUSAL_BODY = 2048;

export interface TunnelEnds {
  input: Readable;
  output: Writable;
}

/** Resolves when the tunnel has closed normally; rejects with what EICE said when it was refused or broke. */
export function runTunnel(url: string, ends: TunnelEnds, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      perMessageDeflate: false,
      followRedirects: false,
      headers: { 'User-Agent': 'lkp-tunnel' },
    });
    let failure: CliError | undefined;
    let inputEnded = false;
    const fail = (e: CliError) => {
      failure ??= e;
      ws.terminate();
    };

    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_REFUSAL_BODY) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks)
          .toString('utf8')
          .slice(0, MAX_REFUSAL_BODY)
          .replace(/\s+/g, ' ')
          .trim();
        fail(refused(where, res.statusCode ?? 0, body));
      });
      res.on('error', () => fail(refused(where, res.statusCode ?? 0, '')));
    });

    ws.on('open', () => {
      let pending = 0;
      ends.input.on('data', (chunk: Buffer) => {
        pending += chunk.length;
        if (pending > HIGH_WATER) ends.input.pause();
        ws.send(chunk, { binary: true }, () => {
          pending -= chunk.length;
          if (pending <= HIGH_WATER && ends.input.isPaused()) ends.input.resume();
        });
      });
      ends.input.once('end', () => {
        inputEnded = true;
        ws.close(1000);
      });
      ends.input.once('error', () => ws.close(1000));
      ends.output.on('drain', () => ws.resume());
    });

    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // EICE sends the stream as binary frames only; text is a broken or foreign peer.
      if (!isBinary)
        return fail(new CliError(`${where} sent a text frame; closing the tunnel`, EXIT.unreachable));
      if (!ends.output.write(data)) ws.pause();
    });

    ws.on('error', (e) => {
      failure ??= new CliError(`tunnel through ${where} failed: ${e.message}`, EXIT.unreachable);
    });

    ws.on('close', (code, reason) => {
      ends.input.pause();
      ends.output.end();
      if (failure) return reject(failure);
      // 1000/1005 are normal ends; anything else (e.g. the maximum tunnel duration) is said once.
      if (code !== 1000 && code !== 1005 && !inputEnded) {
        const why = reason.toString('utf8') || `code ${code}`;
        return reject(new CliError(`${where} closed the tunnel: ${why}`, EXIT.unreachable));
      }
      if (code === 1000 && !inputEnded && reason.length > 0)
        process.stderr.write(`lkp: ${where} closed the tunnel: ${reason.toString('utf8')}\n`);
      resolve();
    });
  });
}

function refused(where: string, status: number, body: string): CliError {
  const hint =
    status === 403
      ? 'your AWS identity needs ec2-instance-connect:OpenTunnel on the endpoint, for this private IP and port (docs/eice.md)'
      : undefined;
  return new CliError(
    `${where} refused the tunnel: HTTP ${status}${body ? `: ${body}` : ''}`,
    status === 403 ? EXIT.denied : EXIT.unreachable,
    hint,
  );
}

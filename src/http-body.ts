import type { IncomingMessage } from 'node:http';

/**
 * The request body, or undefined when it is larger than `limit`. The rest of an oversize body is
 * read and dropped, so the client gets its 413 rather than a reset; the server's requestTimeout
 * bounds a sender that never stops.
 */
export function readLimitedBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.once('end', () => resolve(size <= limit ? Buffer.concat(chunks) : undefined));
    req.once('error', reject);
  });
}

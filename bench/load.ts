/**
 * A small loopback HTTP load generator: a bounded number of POSTs at a fixed concurrency over
 * keep-alive connections, with every answer checked. Bounded counts, not durations, so a run
 * takes the same work on a fast or a slow machine.
 */
import { Agent, request } from 'node:http';
import { percentile } from './stats.js';

export interface LoadOptions {
  url: string;
  concurrency: number;
  requests: number;
  /** The JSON body of request number i. */
  body: (i: number) => string;
  /** Throws when an answer is not what the benchmark expects (a wrong answer must not count as fast). */
  check: (status: number, body: string) => void;
}

export interface LoadFigures {
  p50Ms: number;
  p99Ms: number;
  rps: number;
  requests: number;
  concurrency: number;
}

export async function runLoad(opts: LoadOptions): Promise<LoadFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < opts.requests) {
      const body = opts.body(next++);
      const started = performance.now();
      const answer = await post(opts.url, body, agent);
      latencies.push(performance.now() - started);
      opts.check(answer.status, answer.body);
    }
  };
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  const wallMs = performance.now() - started;
  return {
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    rps: (latencies.length / wallMs) * 1000,
    requests: latencies.length,
    concurrency: opts.concurrency,
  };
}

function post(url: string, body: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} within 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

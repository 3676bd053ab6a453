/**
 * Client (issue item 4): `lkp ssh <user>@<instance> -- true` into the local sshd with a cached
 * certificate, against the very ssh command it runs (`lkp ssh --dry-run --json` prints it) run
 * directly; and a first connection, which asks the CA for a fresh certificate.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalStack } from '../src/local/stack.js';
import { startClientSession, timed } from './client-session.js';
import { median } from './stats.js';

export interface ClientFigures {
  /**
   * `lkp ssh … true` with a cached certificate minus the same ssh command run directly: the median
   * of the differences within each interleaved pair, so a slow stretch of the machine cancels out.
   */
  addedMs: number;
  /** Median `lkp ssh … true` with no cached certificate (key kept): proof, CA request, ssh. */
  firstConnectionMs: number;
  cachedLkpSshMs: number;
  plainSshMs: number;
  /** Median spawn of `node -e 0` to its exit, in the same interleaved runs: Node's own share of addedMs. */
  nodeStartMs: number;
  runs: number;
}

export async function benchClient(stack: LocalStack, opts: { runs: number }): Promise<ClientFigures> {
  const session = await startClientSession(stack);
  const { lkp, target, remote } = session;
  try {
    const firsts: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      rmSync(join(session.home, '.lkp', 'certs'), { recursive: true, force: true });
      firsts.push((await lkp('ssh', target, '--', ...remote)).ms);
    }
    const { ssh, args: sshArgs } = await session.sshCommand();
    const cached: number[] = [];
    const plain: number[] = [];
    const node: number[] = [];
    // Interleaved, so a noisy neighbour slows all three alike.
    for (let i = 0; i < opts.runs; i++) {
      cached.push((await lkp('ssh', target, '--', ...remote)).ms);
      plain.push((await timed(ssh, sshArgs, session.env)).ms);
      node.push((await timed(process.execPath, ['-e', '0'], session.env)).ms);
    }
    return {
      addedMs: median(cached.map((ms, i) => ms - (plain[i] ?? ms))),
      firstConnectionMs: median(firsts),
      cachedLkpSshMs: median(cached),
      plainSshMs: median(plain),
      nodeStartMs: median(node),
      runs: opts.runs,
    };
  } finally {
    await session.close();
  }
}

/**
 * EICE tunnel (issue 18): what `lkp tunnel` as ssh's ProxyCommand adds to each connection, on
 * loopback. The same ssh command that `lkp ssh --dry-run` prints for an instance reached through
 * the EICE stand-in (certificate cached), run as is, and run direct to the sshd with a copy of its
 * ssh_config that has the sshd's address and port and no ProxyCommand: same certificate, same host
 * verification by HostKeyAlias, same sshd; only the tunnel differs (a Node process, the credential
 * chain, the presigned WebSocket, the stand-in's SigV4 check and the bridge).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { LocalStack } from '../src/local/stack.js';
import { startClientSession, timed } from './client-session.js';
import { median } from './stats.js';

export interface TunnelFigures {
  /** Median of the differences within interleaved pairs: ssh through the tunnel − the same ssh direct. */
  addedMs: number;
  throughTunnelMs: number;
  directMs: number;
  /** Median `node -e 0` spawned in the same interleaved runs: Node's own share of addedMs. */
  nodeStartMs: number;
  /** Tunnels the EICE stand-in opened during the runs: one per connection, or the figure is not the tunnel's. */
  tunnelsOpened: number;
  runs: number;
}

export async function benchTunnel(stack: LocalStack, opts: { runs: number }): Promise<TunnelFigures> {
  const session = await startClientSession(stack, { eice: true });
  try {
    // The first login fetches the certificate; after it every run reuses it.
    await session.lkp('ssh', session.target, '--', ...session.remote);
    const { ssh, args } = await session.sshCommand();
    const direct = directConfig(args, session.instance.sshd.port);
    const opened = () => stack.eice.events().filter((e) => e.kind === 'opened').length;
    const openedBefore = opened();
    const through: number[] = [];
    const plain: number[] = [];
    const node: number[] = [];
    // Interleaved, so a noisy neighbour slows all three alike.
    for (let i = 0; i < opts.runs; i++) {
      through.push((await timed(ssh, args, session.env)).ms);
      plain.push((await timed(ssh, direct, session.env)).ms);
      node.push((await timed(process.execPath, ['-e', '0'], session.env)).ms);
    }
    return {
      addedMs: median(through.map((ms, i) => ms - (plain[i] ?? ms))),
      throughTunnelMs: median(through),
      directMs: median(plain),
      nodeStartMs: median(node),
      tunnelsOpened: opened() - openedBefore,
      runs: opts.runs,
    };
  } finally {
    await session.close();
  }
}

/**
 * The same ssh arguments with `-F <copy>`: the target's config without its ProxyCommand and with
 * the sshd's address and port. (`-o HostName=…` would not do: ssh's `Match host` would then see the
 * new name, and the target's block with its certificate and HostKeyAlias would no longer apply.)
 */
function directConfig(args: readonly string[], port: number): string[] {
  const at = args.indexOf('-F') + 1;
  const file = args[at];
  if (at === 0 || file === undefined) throw new Error('lkp ssh --dry-run printed no -F <target config>');
  const config = readFileSync(file, 'utf8');
  if (!/^\s*ProxyCommand .*\btunnel\b/m.test(config))
    throw new Error(`the target config ${file} does not go through lkp tunnel: not the EICE route`);
  const direct = `${file}.direct`;
  writeFileSync(
    direct,
    config
      .replace(/^\s*ProxyCommand .*\n/m, '')
      .replace(/^(\s*)Hostname .*$/im, `$1Hostname 127.0.0.1\n$1Port ${port}`),
  );
  return args.map((arg, i) => (i === at ? direct : arg));
}

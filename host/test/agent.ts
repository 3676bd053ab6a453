/** Runs the host agent (host/lkp-host-agent) with only the environment a test gives it. */
import { join } from 'node:path';
import { runProgram, type NodeRun } from '../../test/helpers/run-node.js';

export const AGENT = join(import.meta.dirname, '..', 'lkp-host-agent');

export function runAgent(args: readonly string[], env: Record<string, string> = {}): Promise<NodeRun> {
  return runProgram('/bin/bash', [AGENT, ...args], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    timeout: 60_000,
  });
}

/**
 * The local stack the benchmarks drive: every stand-in (STS, KMS, EC2, and Lambda running the
 * work-hours example policy, open all day) plus a real `lkp-ca serve` child, as deployed.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LOCAL_ACCOUNT, startLocalStack, type LocalStack } from '../src/local/stack.js';

/** The package root, whether this module runs from dist/bench or from bench/ under vitest. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the lkp package root');
    dir = parent;
  }
  return dir;
}

export function builtFile(...path: string[]): string {
  const file = join(packageRoot(), 'dist', ...path);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first`);
  return file;
}

/**
 * Starts the stack; the policy runs in this process (the Lambda stand-in imports it) and reads its
 * settings from here. The CA child loads bench/ca-probe.ts, which writes to `LKP_BENCH_PROBE_FILE`.
 */
export async function startBenchStack(): Promise<LocalStack> {
  process.env.LKP_POLICY_ACCOUNTS = LOCAL_ACCOUNT;
  process.env.LKP_WORK_HOURS = '00-24';
  return startLocalStack({
    policyModule: builtFile('authorizers', 'examples', 'work-hours.js'),
    caEnv: {
      NODE_OPTIONS: `--import=${pathToFileURL(builtFile('bench', 'ca-probe.js')).href}`,
      LKP_BENCH_PROBE_FILE: join(tmpdir(), `lkp-bench-probe-${process.pid}.json`),
    },
  });
}

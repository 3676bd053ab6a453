/**
 * The local stack the benchmarks drive: every stand-in (STS, KMS, EC2, and Lambda running the
 * work-hours example policy, open all day) plus a real `lkp-ca serve` child, as deployed.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtFile, LOCAL_ACCOUNT, startLocalStack, type LocalStack } from '../src/local/stack.js';

export { builtFile, packageRoot } from '../src/local/stack.js';

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

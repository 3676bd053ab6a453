/**
 * `npm run bench`: every figure of the performance issue measured side by side in one run, printed
 * as a table with targets, written to bench/results.json and into docs/performance.md.
 * Machines here are shared and noisy: compare ratios and runs on one machine, not absolutes.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { benchClient } from './client.js';
import { benchColdStart } from './cold-start.js';
import { printTable, rows, updateDoc, writeResults, type BenchResults } from './report.js';
import { benchRequests } from './request.js';
import { benchSigning } from './signing.js';
import { packageRoot, startBenchStack } from './stack.js';

// Bounded work, sized to finish well inside 5 minutes on 2 cores.
const PLAN = {
  signing: { timeMs: 1500, iterations: 64 },
  request: { concurrency: [1, 16, 64], requestsPerLevel: 2000, warmup: 300 },
  coldStart: { runs: 7 },
  // ssh to localhost takes ~300 ms ± 30 here: more pairs for a difference of a few tens of ms.
  client: { runs: 15 },
} as const;

const step = (what: string) => process.stderr.write(`bench: ${what}…\n`);

const started = performance.now();
step('signing (lkp vs ssh-keygen -s)');
const signing = await benchSigning(PLAN.signing);
step('starting the local stack');
const stack = await startBenchStack();
let results: BenchResults;
try {
  step(`whole requests at concurrency ${PLAN.request.concurrency.join(', ')}`);
  const request = await benchRequests(stack, PLAN.request);
  step('cold start of the bundled Lambda handler');
  const coldStart = await benchColdStart(stack, PLAN.coldStart);
  step('client: lkp ssh vs ssh');
  const client = await benchClient(stack, PLAN.client);
  results = {
    signing,
    request: request.levels,
    rssMb: request.rssMb,
    coldStartMs: coldStart.coldStartMs,
    bundleBytes: coldStart.bundleBytes,
    coldStart,
    client,
    run: {
      date: new Date().toISOString(),
      node: process.versions.node,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      durationS: (performance.now() - started) / 1000,
    },
  };
} finally {
  await stack.close();
}

const table = rows(results);
process.stdout.write(`${printTable(table)}\n`);
const root = packageRoot();
writeResults(join(root, 'bench', 'results.json'), results);
const documented = updateDoc(join(root, 'docs', 'performance.md'), results, table);
process.stderr.write(
  `bench: wrote bench/results.json${documented ? ' and the latest run in docs/performance.md' : ''} (${Math.round(results.run.durationS)} s)\n`,
);

/**
 * `npm run bench`: every figure of the performance issue measured side by side in one run, printed
 * as a table with targets, written to bench/results.json and into docs/performance.md.
 * `npm run bench -- --only tunnel,krl` runs some sections and only prints them: a partial run
 * replaces neither the results nor the documented run.
 * Machines here are shared and noisy: compare ratios and runs on one machine, not absolutes.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchClient } from './client.js';
import { benchColdStart } from './cold-start.js';
import { benchKrl } from './krl.js';
import { printTable, rows, updateDoc, writeResults, type BenchResults, type SomeResults } from './report.js';
import { benchRequests } from './request.js';
import { benchSigning } from './signing.js';
import { packageRoot, startBenchStack } from './stack.js';
import { benchTunnel } from './tunnel.js';

// Bounded work, sized to finish well inside 5 minutes on 2 cores.
const PLAN = {
  signing: { timeMs: 1500, iterations: 64 },
  request: { concurrency: [1, 16, 64], requestsPerLevel: 2000, warmup: 300 },
  coldStart: { runs: 7 },
  // ssh to localhost takes ~300 ms ± 30 here: more pairs for a difference of a few tens of ms.
  client: { runs: 15 },
  tunnel: { runs: 15 },
  krl: { serials: [1000, 100_000], runs: 15, warmup: 3 },
} as const;

const SECTIONS = ['signing', 'krl', 'request', 'coldStart', 'client', 'tunnel'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const only = values.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((s) => !(SECTIONS as readonly string[]).includes(s));
if (unknown?.length) {
  process.stderr.write(`bench: unknown section ${unknown.join(', ')}; sections: ${SECTIONS.join(', ')}\n`);
  process.exit(2);
}
const selected = (section: Section) => only === undefined || only.includes(section);
const step = (what: string) => process.stderr.write(`bench: ${what}…\n`);

const started = performance.now();
const results: Omit<SomeResults, 'run'> = {};
if (selected('signing')) {
  step('signing (lkp vs ssh-keygen -s)');
  results.signing = await benchSigning(PLAN.signing);
}
if (selected('krl')) {
  step(`KRL of ${PLAN.krl.serials.join(' and ')} revoked serials`);
  results.krl = benchKrl(PLAN.krl);
}
if (['request', 'coldStart', 'client', 'tunnel'].some((s) => selected(s as Section))) {
  step('starting the local stack');
  const stack = await startBenchStack();
  try {
    if (selected('request')) {
      step(`whole requests at concurrency ${PLAN.request.concurrency.join(', ')}`);
      const request = await benchRequests(stack, PLAN.request);
      results.request = request.levels;
      results.rssMb = request.rssMb;
      results.caMemoryAtPeak = request.caMemoryAtPeak;
    }
    if (selected('coldStart')) {
      step('cold start of the bundled Lambda handler');
      results.coldStart = await benchColdStart(stack, PLAN.coldStart);
      results.coldStartMs = results.coldStart.coldStartMs;
      results.bundleBytes = results.coldStart.bundleBytes;
    }
    if (selected('client')) {
      step('client: lkp ssh vs ssh');
      results.client = await benchClient(stack, PLAN.client);
    }
    if (selected('tunnel')) {
      step('EICE tunnel: ssh through lkp tunnel vs direct');
      results.tunnel = await benchTunnel(stack, PLAN.tunnel);
    }
  } finally {
    await stack.close();
  }
}
const run: BenchResults['run'] = {
  date: new Date().toISOString(),
  node: process.versions.node,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
  durationS: (performance.now() - started) / 1000,
};

const table = rows({ ...results, run });
process.stdout.write(`${printTable(table)}\n`);
if (only !== undefined) {
  process.stderr.write(`bench: sections ${only.join(', ')} only: results.json and docs left as they were\n`);
} else {
  const root = packageRoot();
  writeResults(join(root, 'bench', 'results.json'), { ...(results as Omit<BenchResults, 'run'>), run });
  const documented = updateDoc(join(root, 'docs', 'performance.md'), { ...results, run }, table);
  process.stderr.write(
    `bench: wrote bench/results.json${documented ? ' and the latest run in docs/performance.md' : ''} (${Math.round(run.durationS)} s)\n`,
  );
}

/**
 * The figures of one run as a table (stdout and docs/performance.md) with each target and
 * PASS/MISS, and as bench/results.json, whose keys stay stable so runs can be compared.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ClientFigures } from './client.js';
import type { ColdStartFigures } from './cold-start.js';
import type { KrlFigures } from './krl.js';
import type { RequestFigures } from './request.js';
import type { MemoryAtPeak } from './ca-probe.js';
import type { CaKeyName, SigningFigures } from './signing.js';
import { round } from './stats.js';
import type { TunnelFigures } from './tunnel.js';

export interface BenchResults {
  signing: Record<CaKeyName, SigningFigures>;
  request: RequestFigures['levels'];
  rssMb: number | undefined;
  caMemoryAtPeak: MemoryAtPeak | undefined;
  coldStartMs: number;
  bundleBytes: number;
  coldStart: ColdStartFigures;
  client: ClientFigures;
  tunnel: TunnelFigures;
  /** Keyed by count: s1000, s100000. */
  krl: Record<string, KrlFigures>;
  run: { date: string; node: string; cpus: number; cpuModel: string; durationS: number };
}

/** A run of some sections only (`npm run bench -- --only …`): what ran, and the run's details. */
export type SomeResults = Partial<Omit<BenchResults, 'run'>> & Pick<BenchResults, 'run'>;

interface Row {
  figure: string;
  value: string;
  target: string;
  status: 'PASS' | 'MISS' | '';
}

const MB = 1_000_000;
const MIB = 1024 * 1024;

export function rows(r: SomeResults): Row[] {
  const out: Row[] = [];
  const add = (figure: string, value: number | undefined, unit: string, target?: [string, boolean]) =>
    out.push({
      figure,
      value: value === undefined ? 'n/a' : `${round(value)} ${unit}`.trim(),
      target: target?.[0] ?? '',
      status: target === undefined ? '' : value !== undefined && target[1] ? 'PASS' : 'MISS',
    });
  for (const [name, s] of Object.entries(r.signing ?? {})) {
    add(`signing ${name}: lkp certs/s (1 core)`, s.certsPerSecond, '/s');
    add(`signing ${name}: ssh-keygen -s certs/s`, s.sshKeygenCertsPerSecond, '/s');
    add(`signing ${name}: ratio`, s.ratio, 'x', name === 'ed25519' ? ['>= 50x', s.ratio >= 50] : undefined);
    add(
      `signing ${name}: raw node:crypto signatures/s / the signer's`,
      s.rawSignaturesPerSecond,
      `/s / ${round(s.signerSignaturesPerSecond)} /s`,
    );
    // The encoder's target is for the key types whose signature dominates; Ed25519's is so cheap
    // that the certificate's bytes are a large share of it by nature.
    add(
      `signing ${name}: encoder overhead over a raw signature`,
      s.encoderOverheadPct,
      '%',
      name === 'ed25519' ? undefined : ['< 10%', s.encoderOverheadPct < 10],
    );
    add(`signing ${name}: the signer's check of its signature`, s.signerCheckPct, '% of a raw signature');
  }
  for (const [level, l] of Object.entries(r.request ?? {})) {
    const c16 = level === 'c16';
    add(`request ${level}: p50 / p99`, l.p50Ms, `ms / ${round(l.p99Ms)} ms`);
    add(`request ${level}: requests/s`, l.rps, '/s');
    const standins = Object.entries(l.standins)
      .filter(([, s]) => s.callsPerRequest > 0)
      .map(([name, s]) => `${name} ${round(s.p50Ms, 2)}`);
    out.push({
      figure: `request ${level}: stand-ins p50 (ms)`,
      value: standins.join(', '),
      target: '',
      status: '',
    });
    // No target: on 2 cores the closed loop saturates the machine at c16 and the overhead is mostly
    // waiting for a core (docs/performance.md); CPU per request below is what is judged.
    add(`request ${level}: CA overhead p50`, l.caOverheadP50Ms, 'ms');
    add(`request ${level}: CA overhead p99`, l.caOverheadP99Ms, 'ms');
    add(`request ${level}: CA waiting for stand-ins p50`, l.caWaitingP50Ms, 'ms');
    add(
      `request ${level}: latency − stand-in medians (first method)`,
      l.latencyMinusStandinsP50Ms,
      `ms / ${round(l.latencyMinusStandinsP99Ms)} ms`,
    );
    add(
      `request ${level}: CPU per request: CA / load generator + stand-ins`,
      l.caCpuMsPerRequest,
      `ms / ${round(l.benchCpuMsPerRequest)} ms`,
      c16 ? ['CA <= 0.5 ms', (l.caCpuMsPerRequest ?? Infinity) <= 0.5] : undefined,
    );
    add(
      `request ${level}: requests/s per CA core`,
      l.caCpuMsPerRequest === undefined ? undefined : 1000 / l.caCpuMsPerRequest,
      '/s',
    );
    // Cores kept busy = CPU per request × requests/s. Near the machine's core count, the closed
    // loop is CPU-bound and every process's share of the latency is mostly waiting for a core.
    const busy = (cpuMs: number) => (cpuMs * l.rps) / 1000;
    add(
      `request ${level}: cores busy: CA / all (of ${r.run.cpus})`,
      l.caCpuMsPerRequest === undefined ? undefined : busy(l.caCpuMsPerRequest),
      `/ ${round(busy((l.caCpuMsPerRequest ?? 0) + l.benchCpuMsPerRequest))}`,
    );
  }
  if (r.request !== undefined) {
    add('CA peak RSS under load', r.rssMb, 'MB', ['< 150 MB', (r.rssMb ?? Infinity) < 150]);
    // What the peak was made of (docs/performance.md, "CA peak RSS"): V8's young generation is
    // mostly garbage awaiting a scavenge; the old space holds what survives.
    const m = r.caMemoryAtPeak;
    add(
      'CA at peak RSS: V8 young generation / old space / outside the V8 heap',
      m?.newSpaceMb,
      m === undefined
        ? 'MB'
        : `MB / ${round(m.oldSpaceMb)} MB (heap used ${round(m.heapUsedMb)} MB) / ${round(m.rssMb - m.heapTotalMb)} MB`,
    );
  }
  const cold = r.coldStart;
  if (cold !== undefined) {
    add('cold start: spawn to first certificate', cold.coldStartMs, 'ms', [
      '< 100 ms',
      cold.coldStartMs < 100,
    ]);
    add(
      'cold start: node start / module load / first invoke',
      cold.nodeStartMs,
      `ms / ${round(cold.moduleLoadMs)} ms / ${round(cold.firstInvokeMs)} ms`,
    );
    add(
      'cold start: of those, configuration / first KMS call (GetPublicKey)',
      cold.configurationMs,
      `ms / ${round(cold.firstKmsCallMs)} ms`,
    );
    add('bundle size (handler.cjs)', cold.bundleBytes / MB, 'MB', ['< 1 MB', cold.bundleBytes < MB]);
  }
  const client = r.client;
  if (client !== undefined) {
    add('client: lkp ssh (cached cert) added to ssh', client.addedMs, 'ms', ['< 50 ms', client.addedMs < 50]);
    add('client: lkp ssh cached / plain ssh', client.cachedLkpSshMs, `ms / ${round(client.plainSshMs)} ms`);
    add(
      "client: of the added time, Node's own start / lkp's",
      client.nodeStartMs,
      `ms / ${round(client.addedMs - client.nodeStartMs)} ms`,
    );
    add('client: first connection (fresh certificate)', client.firstConnectionMs, 'ms', [
      '< 300 ms',
      client.firstConnectionMs < 300,
    ]);
  }
  const tunnel = r.tunnel;
  if (tunnel !== undefined) {
    // docs/performance.md, "EICE tunnel": a second Node process per connection, like lkp ssh's own.
    add('tunnel: EICE tunnel added per connection', tunnel.addedMs, 'ms', ['< 100 ms', tunnel.addedMs < 100]);
    add(
      'tunnel: ssh through lkp tunnel / direct',
      tunnel.throughTunnelMs,
      `ms / ${round(tunnel.directMs)} ms`,
    );
    add(
      "tunnel: of the added time, Node's own start / the tunnel's",
      tunnel.nodeStartMs,
      `ms / ${round(tunnel.addedMs - tunnel.nodeStartMs)} ms`,
    );
  }
  for (const k of Object.values(r.krl ?? {})) {
    const n = k.serials.toLocaleString('en-US');
    // docs/performance.md, "KRL": 1 µs per serial; Lambda answers (and the host agent reads) at most 6 MiB.
    add(`krl ${n} serials: generation`, k.generationMs, 'ms', [
      `< ${round(k.serials / 1000)} ms`,
      k.generationMs < k.serials / 1000,
    ]);
    add(`krl ${n} serials: KRL size`, k.bytes, `B (${round(k.bytes / k.serials)} B/serial)`);
    add(`krl ${n} serials: CA answer (base64 JSON)`, k.answerBytes, 'B', [
      '< 6 MiB (Lambda response, host agent cap)',
      k.answerBytes < 6 * MIB,
    ]);
  }
  return out;
}

export function printTable(table: Row[]): string {
  const width = (key: keyof Row) => Math.max(key.length, ...table.map((row) => row[key].length));
  const w = { figure: width('figure'), value: width('value'), target: width('target') };
  const line = (row: Row) =>
    `${row.figure.padEnd(w.figure)}  ${row.value.padStart(w.value)}  ${row.target.padEnd(w.target)}  ${row.status}`.trimEnd();
  return [
    line({ figure: 'figure', value: 'value', target: 'target', status: '' }),
    '-'.repeat(w.figure + w.value + w.target + 12),
    ...table.map(line),
  ].join('\n');
}

export function markdownTable(table: Row[]): string {
  return [
    '| figure | value | target | |',
    '|---|---:|---|---|',
    ...table.map((r) => `| ${r.figure} | ${r.value} | ${r.target} | ${r.status} |`),
  ].join('\n');
}

export function writeResults(path: string, r: BenchResults): void {
  writeFileSync(
    path,
    `${JSON.stringify(r, (_key, value: unknown) => (typeof value === 'number' ? round(value, 4) : value), 2)}\n`,
  );
}

const START = '<!-- bench:latest-run:start -->';
const END = '<!-- bench:latest-run:end -->';

/** Replaces the "latest run" block of docs/performance.md; a doc without the markers is left alone. */
export function updateDoc(path: string, r: SomeResults, table: Row[]): boolean {
  if (!existsSync(path)) return false;
  const doc = readFileSync(path, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) return false;
  const machine = `${r.run.date}, Node ${r.run.node}, ${r.run.cpus} × ${r.run.cpuModel}, ${round(r.run.durationS)} s`;
  const block = `${START}\n_${machine}_\n\n${markdownTable(table)}\n`;
  writeFileSync(path, doc.slice(0, start) + block + doc.slice(end));
  return true;
}

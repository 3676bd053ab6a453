/**
 * Loaded into the `lkp-ca serve` child by the benchmark only (NODE_OPTIONS=--import), never by
 * the CA itself. Through node:diagnostics_channel, without touching the CA's code, it records for
 * every request the CA serves when its headers arrived and when its answer was written, and for
 * every outbound call the CA makes while serving it (STS, EC2, Lambda, KMS) when the CA created
 * the call and on which connection it went, so the benchmark can match it with the moment the
 * stand-in finished answering it (bench/attribution.ts).
 *
 * It also samples the CA's memory every 20 ms and keeps it as it was when the RSS was highest, so
 * the peak RSS the benchmark reports comes with what it was made of.
 *
 * On SIGUSR2 the probe writes what it recorded since the last time, and the memory at the highest
 * RSS so far, to `LKP_BENCH_PROBE_FILE` (write, then rename) and starts again.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import { renameSync, writeFileSync } from 'node:fs';
import type { ClientRequest, ServerResponse } from 'node:http';
import { getHeapSpaceStatistics } from 'node:v8';
import type { ServedRequest } from './attribution.js';
import { monotonicMs } from './clock.js';

/** The CA's memory when its RSS was highest, MB (1 MB = 2^20 bytes, as VmHWM's kB / 1024). */
export interface MemoryAtPeak {
  rssMb: number;
  heapTotalMb: number;
  heapUsedMb: number;
  /** V8's young generation as reserved then (both semi-spaces), and its old space. */
  newSpaceMb: number;
  oldSpaceMb: number;
  externalMb: number;
}

/** What the probe writes on SIGUSR2. */
export interface ProbeRecord {
  served: ServedRequest[];
  memoryAtPeak: MemoryAtPeak | undefined;
}

const file = process.env.LKP_BENCH_PROBE_FILE;
if (file) install(file);

function install(out: string): void {
  const current = new AsyncLocalStorage<ServedRequest>();
  const open = new WeakMap<ServerResponse, ServedRequest>();
  let served: ServedRequest[] = [];

  subscribe('http.server.request.start', (message) => {
    const { response } = message as { response: ServerResponse };
    const request: ServedRequest = { started: monotonicMs(), finished: 0, calls: [] };
    open.set(response, request);
    // The 'request' event is emitted right after this, in the same synchronous run: whatever
    // the handler starts and awaits carries this record.
    current.enterWith(request);
  });
  subscribe('http.server.response.finish', (message) => {
    const { response } = message as { response: ServerResponse };
    const request = open.get(response);
    if (!request) return;
    request.finished = monotonicMs();
    served.push(request);
  });
  subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: ClientRequest };
    const serving = current.getStore();
    if (!serving) return;
    const call = { port: 0, started: monotonicMs() };
    serving.calls.push(call);
    request.once('response', () => (call.port = request.socket?.localPort ?? 0));
  });

  let peak: MemoryAtPeak | undefined;
  const MB = 1024 * 1024;
  setInterval(() => {
    const m = process.memoryUsage();
    if (peak !== undefined && m.rss <= peak.rssMb * MB) return;
    const spaces = getHeapSpaceStatistics();
    const size = (name: string) => (spaces.find((s) => s.space_name === name)?.space_size ?? 0) / MB;
    peak = {
      rssMb: m.rss / MB,
      heapTotalMb: m.heapTotal / MB,
      heapUsedMb: m.heapUsed / MB,
      newSpaceMb: size('new_space'),
      oldSpaceMb: size('old_space'),
      externalMb: m.external / MB,
    };
  }, 20).unref();

  process.on('SIGUSR2', () => {
    const record: ProbeRecord = { served, memoryAtPeak: peak };
    writeFileSync(`${out}.tmp`, JSON.stringify(record));
    renameSync(`${out}.tmp`, out);
    served = [];
  });
}

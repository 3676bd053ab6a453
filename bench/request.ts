/**
 * Whole requests (issue item 2): User certificate requests through `lkp-ca serve` on loopback,
 * which calls the STS, Lambda (policy) and KMS stand-ins for each one (and EC2 for the target once:
 * the CA remembers an instance it found). Latency and
 * requests/s per concurrency level, each stand-in's own service time recorded during the same
 * load, and the CA's overhead: the time each request spent in the CA that no stand-in had it
 * (bench/attribution.ts).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildIdentityProof } from '../client/lib/proof.js';
import { fetchCaInfo } from '../client/lib/certificates.js';
import { parsePublicKey } from '../src/cert/index.js';
import { generateKeyPair } from '../src/local/openssh.js';
import { LOCAL_INSTANCE_ARN, type LocalStack } from '../src/local/stack.js';
import { answerTo, attribute } from './attribution.js';
import type { MemoryAtPeak, ProbeRecord } from './ca-probe.js';
import { runLoad, type LoadFigures } from './load.js';
import { cpuTimeMs, findChild, peakRssMb } from './process-memory.js';
import { recordServiceTimes } from './service-time.js';
import { median, percentile } from './stats.js';

export interface StandinFigures {
  p50Ms: number;
  p99Ms: number;
  /** Calls per CA request. */
  callsPerRequest: number;
}

export interface LevelFigures extends LoadFigures {
  /** The CA's own time per request: in the CA and not with a stand-in (bench/attribution.ts). */
  caOverheadP50Ms: number;
  caOverheadP99Ms: number;
  /** Time per request the CA waited for stand-ins, their queue in the benchmark process included. */
  caWaitingP50Ms: number;
  /** Share of the CA's outbound calls matched with a stand-in's answer; unmatched ones count as the CA's. */
  callsMatched: number;
  /**
   * The first method, kept to compare with earlier runs: latency minus the sum of the stand-ins'
   * median service times. It also charges the CA with every wait in the benchmark process.
   */
  latencyMinusStandinsP50Ms: number;
  latencyMinusStandinsP99Ms: number;
  standins: Record<string, StandinFigures>;
  /** CPU time the CA process spent per request (user + system), ms; 10 ms clock ticks over the level. */
  caCpuMsPerRequest: number | undefined;
  /** The same for this process: the load generator and the four stand-ins. */
  benchCpuMsPerRequest: number;
}

export interface RequestFigures {
  levels: Record<string, LevelFigures>;
  /** Peak resident memory of the `lkp-ca serve` process after all levels, MB. */
  rssMb: number | undefined;
  /** What the CA's memory was made of when its RSS was highest (sampled by the probe every 20 ms). */
  caMemoryAtPeak: MemoryAtPeak | undefined;
}

export interface RequestOptions {
  concurrency: readonly number[];
  requestsPerLevel: number;
  /** Requests before the first level, not measured: JIT, connection pools, the policy's first load. */
  warmup: number;
}

export async function benchRequests(stack: LocalStack, opts: RequestOptions): Promise<RequestFigures> {
  const info = await fetchCaInfo(stack.caUrl);
  const key = await generateKeyPair(stack.dir, 'bench_user');
  const fingerprint = parsePublicKey(key.publicKey).fingerprint;
  // One proof per level, as a client with a cached proof would send: the CA accepts a key-bound
  // proof again within the clock skew window (300 s), and a level takes a few seconds.
  const requestBody = () =>
    JSON.stringify({
      Kind: 'User',
      Identity: buildIdentityProof({
        stsEndpoint: info.StsEndpoint,
        region: info.StsRegion,
        serverId: info.ServerId,
        keyFingerprint: fingerprint,
        credentials: stack.user.credentials,
      }),
      PublicKey: key.publicKey,
      RemoteInstanceArn: LOCAL_INSTANCE_ARN,
      SshUsername: 'ec2-user',
    });
  const load = (concurrency: number, requests: number) => {
    const body = requestBody();
    return runLoad({ url: stack.caUrl, concurrency, requests, body: () => body, check: expectCertificate });
  };

  const servers: Record<string, string> = { sts: stack.sts.url, kms: stack.kms.url, ec2: stack.ec2.url };
  if (stack.lambda) servers.lambda = stack.lambda.url;
  const times = recordServiceTimes(servers);
  try {
    await load(Math.min(16, opts.warmup), opts.warmup);
    const pid = findChild(['cli.js', 'serve']);
    if (pid === undefined)
      throw new Error('cannot find the lkp-ca serve process (the benchmark reads Linux /proc)');
    const probe = caProbe(pid, stack.caEnv.LKP_BENCH_PROBE_FILE);
    const levels: Record<string, LevelFigures> = {};
    let memoryAtPeak: MemoryAtPeak | undefined;
    for (const concurrency of opts.concurrency) {
      await probe.collect();
      times.reset();
      const cpuBefore = cpuTimeMs(pid);
      const benchCpu = process.cpuUsage();
      const figures = await load(concurrency, opts.requestsPerLevel);
      const cpuAfter = cpuTimeMs(pid);
      const benchCpuUsed = process.cpuUsage(benchCpu);
      const { served, memoryAtPeak: memory } = await probe.collect();
      memoryAtPeak = memory;
      const answers = times.answers();
      const attributed = served.map((request) => attribute(request, answers));
      const calls = served.flatMap((request) => request.calls);
      const standins = Object.fromEntries(
        Object.keys(servers).map((name) => [name, standinFigures(times.samples(name), figures.requests)]),
      );
      const standinP50 = Object.values(standins).reduce((sum, s) => sum + s.p50Ms * s.callsPerRequest, 0);
      const own = attributed.map((a) => a.ownMs);
      levels[`c${concurrency}`] = {
        ...figures,
        caOverheadP50Ms: percentile(own, 50),
        caOverheadP99Ms: percentile(own, 99),
        caWaitingP50Ms: median(attributed.map((a) => a.waitingMs)),
        callsMatched: calls.filter((call) => answerTo(call, answers) !== undefined).length / calls.length,
        latencyMinusStandinsP50Ms: figures.p50Ms - standinP50,
        latencyMinusStandinsP99Ms: figures.p99Ms - standinP50,
        standins,
        caCpuMsPerRequest:
          cpuBefore === undefined || cpuAfter === undefined
            ? undefined
            : (cpuAfter - cpuBefore) / figures.requests,
        benchCpuMsPerRequest: (benchCpuUsed.user + benchCpuUsed.system) / 1000 / figures.requests,
      };
    }
    return { levels, rssMb: peakRssMb(pid), caMemoryAtPeak: memoryAtPeak };
  } finally {
    times.stop();
  }
}

/** What bench/ca-probe.ts recorded in the CA since the last collect: it writes it on SIGUSR2. */
function caProbe(pid: number, file: string | undefined) {
  if (file === undefined) throw new Error('the CA was started without the probe: use startBenchStack');
  return {
    async collect(): Promise<ProbeRecord> {
      rmSync(file, { force: true });
      process.kill(pid, 'SIGUSR2');
      for (let waited = 0; !existsSync(file); waited += 10) {
        if (waited > 10_000) throw new Error(`the CA probe wrote nothing to ${file} within 10 s`);
        await sleep(10);
      }
      const record = JSON.parse(readFileSync(file, 'utf8')) as ProbeRecord;
      rmSync(file);
      return record;
    },
  };
}

function standinFigures(samples: number[], requests: number): StandinFigures {
  if (samples.length === 0) return { p50Ms: 0, p99Ms: 0, callsPerRequest: 0 };
  return {
    p50Ms: median(samples),
    p99Ms: percentile(samples, 99),
    callsPerRequest: samples.length / requests,
  };
}

function expectCertificate(status: number, body: string): void {
  if (status !== 200 || !body.includes('"Certificate"')) {
    throw new Error(`the CA refused a benchmark request (HTTP ${status}): ${body.slice(0, 300)}`);
  }
}

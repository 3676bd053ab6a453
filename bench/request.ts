/**
 * Whole requests (issue item 2): User certificate requests through `lkp-ca serve` on loopback,
 * which calls the STS, EC2, Lambda (policy) and KMS stand-ins for each one. Latency and
 * requests/s per concurrency level, each stand-in's own service time recorded during the same
 * load, and the CA's overhead: its latency minus the stand-ins' median service times.
 */
import { buildIdentityProof } from '../client/lib/proof.js';
import { fetchCaInfo } from '../client/lib/certificates.js';
import { parsePublicKey } from '../src/cert/index.js';
import { generateKeyPair } from '../src/local/openssh.js';
import { LOCAL_INSTANCE_ARN, type LocalStack } from '../src/local/stack.js';
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
  /** p50 minus the sum of the stand-ins' median service times. */
  caOverheadP50Ms: number;
  /** p99 minus the same sum: stand-in tails are left in, so this errs against us. */
  caOverheadP99Ms: number;
  standins: Record<string, StandinFigures>;
  /** CPU time the CA process spent per request (user + system), ms; 10 ms clock ticks over the level. */
  caCpuMsPerRequest: number | undefined;
}

export interface RequestFigures {
  levels: Record<string, LevelFigures>;
  /** Peak resident memory of the `lkp-ca serve` process after all levels, MB. */
  rssMb: number | undefined;
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
    const caCpu = () => (pid === undefined ? undefined : cpuTimeMs(pid));
    const levels: Record<string, LevelFigures> = {};
    for (const concurrency of opts.concurrency) {
      times.reset();
      const cpuBefore = caCpu();
      const figures = await load(concurrency, opts.requestsPerLevel);
      const cpuAfter = caCpu();
      const standins = Object.fromEntries(
        Object.keys(servers).map((name) => [name, standinFigures(times.samples(name), figures.requests)]),
      );
      const standinP50 = Object.values(standins).reduce((sum, s) => sum + s.p50Ms * s.callsPerRequest, 0);
      levels[`c${concurrency}`] = {
        ...figures,
        caOverheadP50Ms: figures.p50Ms - standinP50,
        caOverheadP99Ms: figures.p99Ms - standinP50,
        standins,
        caCpuMsPerRequest:
          cpuBefore === undefined || cpuAfter === undefined
            ? undefined
            : (cpuAfter - cpuBefore) / figures.requests,
      };
    }
    return { levels, rssMb: pid === undefined ? undefined : peakRssMb(pid) };
  } finally {
    times.stop();
  }
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

/**
 * Cold start (issue item 3): the Lambda handler bundled as serverless.yml bundles it, loaded by a
 * fresh `node` process that answers one User request against the stand-ins (KMS signs). Timed from
 * spawn to the answer, with the module load measured inside the process as well.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { buildIdentityProof } from '../client/lib/proof.js';
import { fetchCaInfo } from '../client/lib/certificates.js';
import { parsePublicKey } from '../src/cert/index.js';
import { generateKeyPair } from '../src/local/openssh.js';
import { LOCAL_ACCOUNT, LOCAL_INSTANCE_ARN, type LocalStack } from '../src/local/stack.js';
import { builtFile, packageRoot } from './stack.js';
import { median } from './stats.js';

export interface ColdStartFigures {
  /** Spawn of a fresh process to its first certificate, median of the runs. */
  coldStartMs: number;
  /** Of which: node's own start until the bundle begins to load. */
  nodeStartMs: number;
  /** Of which: require() of the bundle, including the CA's init (configuration, KMS GetPublicKey started). */
  moduleLoadMs: number;
  /** Of which: the first invocation, from the handler call to its answer. */
  firstInvokeMs: number;
  /** loadConfig on the CA environment, first call in a fresh process (part of module load). */
  configurationMs: number;
  /** KMS GetPublicKey, the first AWS call, from its creation at load to its answer (overlaps load and invoke). */
  firstKmsCallMs: number;
  bundleBytes: number;
  sourceMapBytes: number;
  runs: number;
}

const run = promisify(execFile);
const RESULT_MARK = 'BENCH_RESULT ';
const RESULT_LINE = new RegExp(`^${RESULT_MARK}(.*)\n`, 'm');

// The settings of serverless.yml's custom.esbuild, so the measured bundle is the deployed one.
const SERVERLESS_ESBUILD = {
  bundle: true,
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
} as const;

// Runs in the fresh process: load, invoke once, report times relative to the process start. The
// first outbound call is KMS GetPublicKey, started by the CA's init during the require.
const CHILD = `
const channels = require('node:diagnostics_channel');
let kmsStart, kmsAnswered;
channels.subscribe('http.client.request.start', () => (kmsStart ??= performance.now()));
channels.subscribe('http.client.response.finish', () => (kmsAnswered ??= performance.now()));
const loadStart = performance.now();
const { handler } = require(process.env.BENCH_BUNDLE);
const loaded = performance.now();
handler(JSON.parse(process.env.BENCH_EVENT), {
  awsRequestId: 'bench-cold-start',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:${LOCAL_ACCOUNT}:function:lkp-bench',
}).then((answer) => {
  const result = { loadStart, loaded, answered: performance.now(), kmsStart, kmsAnswered, error: answer.Error, ok: typeof answer.Certificate === 'string' };
  process.stdout.write('\\n${RESULT_MARK}' + JSON.stringify(result) + '\\n');
});
`;

export async function benchColdStart(stack: LocalStack, opts: { runs: number }): Promise<ColdStartFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'lkp-bench-cold-'));
  try {
    const bundle = await bundleHandler(dir);
    const info = await fetchCaInfo(stack.caUrl);
    const key = await generateKeyPair(dir, 'user');
    const event = JSON.stringify({
      Kind: 'User',
      Identity: buildIdentityProof({
        stsEndpoint: info.StsEndpoint,
        region: info.StsRegion,
        serverId: info.ServerId,
        keyFingerprint: parsePublicKey(key.publicKey).fingerprint,
        credentials: stack.user.credentials,
      }),
      PublicKey: key.publicKey,
      RemoteInstanceArn: LOCAL_INSTANCE_ARN,
      SshUsername: 'ec2-user',
    });
    const runs = [];
    const configuration = [];
    for (let i = 0; i < opts.runs; i++) {
      runs.push(await coldRun(bundle, event, stack.caEnv));
      configuration.push(await coldConfiguration(stack.caEnv));
    }
    return {
      coldStartMs: median(runs.map((r) => r.totalMs)),
      nodeStartMs: median(runs.map((r) => r.loadStart)),
      moduleLoadMs: median(runs.map((r) => r.loaded - r.loadStart)),
      firstInvokeMs: median(runs.map((r) => r.answered - r.loaded)),
      configurationMs: median(configuration),
      firstKmsCallMs: median(runs.map((r) => r.kmsAnswered - r.kmsStart)),
      bundleBytes: statSync(bundle).size,
      sourceMapBytes: statSync(`${bundle}.map`).size,
      runs: runs.length,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bundleHandler(outdir: string): Promise<string> {
  await build({
    ...SERVERLESS_ESBUILD,
    mainFields: [...SERVERLESS_ESBUILD.mainFields],
    entryPoints: [join(packageRoot(), 'src', 'handler.ts')],
    outdir,
    logLevel: 'error',
  });
  return join(outdir, 'handler.cjs');
}

interface ChildTimes {
  loadStart: number;
  loaded: number;
  answered: number;
  kmsStart: number;
  kmsAnswered: number;
  totalMs: number;
}

/** ms of the first loadConfig call in a fresh process, on the CA's environment. */
async function coldConfiguration(caEnv: Readonly<Record<string, string>>): Promise<number> {
  const config = pathToFileURL(builtFile('src', 'config.js')).href;
  const script = `import { loadConfig } from '${config}';
const started = performance.now();
loadConfig(process.env);
process.stdout.write(String(performance.now() - started));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', AWS_EC2_METADATA_DISABLED: 'true', ...caEnv },
  });
  return Number(stdout);
}

function coldRun(
  bundle: string,
  event: string,
  caEnv: Readonly<Record<string, string>>,
): Promise<ChildTimes> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // As deployed: serverless.yml sets NODE_OPTIONS=--enable-source-maps for the function.
    const child = spawn(process.execPath, ['--enable-source-maps', '-e', CHILD], {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_EC2_METADATA_DISABLED: 'true',
        ...caEnv,
        BENCH_BUNDLE: bundle,
        BENCH_EVENT: event,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let done = false;
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const line = RESULT_LINE.exec(stdout)?.[1];
      if (line === undefined || done) return;
      done = true;
      const totalMs = performance.now() - started;
      child.kill();
      const result = JSON.parse(line) as Omit<ChildTimes, 'totalMs'> & {
        ok: boolean;
        error?: unknown;
      };
      if (!result.ok)
        reject(new Error(`the cold handler refused the request: ${JSON.stringify(result.error)}`));
      else resolve({ ...result, totalMs });
    });
    child.once('exit', (code) => {
      if (!done) reject(new Error(`the cold handler exited with code ${code} before answering:\n${stderr}`));
    });
  });
}

/**
 * `lkp policy test` (client/commands/policy.ts): dry-runs an access policy (DESIGN §3.4) on a
 * sample request, locally, and shows what the CA would do with its answer: the same validator,
 * the same default principals. Apart from the command's definition, so lkp starts without it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { judgeAnswer, PolicyAnswerError, type Verdict } from '../../authorizers/sdk/answer.js';
import { invokeHandler, PolicyFunctionError, type LambdaHandler } from '../../authorizers/sdk/invoke.js';
import { PolicyRequestError } from '../../authorizers/sdk/parse-request.js';
import { sampleRequest } from '../../authorizers/sdk/sample-request.js';
import type { Grant } from '../../src/authorize/grant.js';
import { checkHostCaller } from '../../src/authorize/host-caller.js';
import { LkpError } from '../../src/errors.js';
import type { LkpAuthorizationRequest } from '../../src/protocol.js';
import { JUMPBOX_CERTIFICATE_OPTIONS } from '../../src/template.js';
import { CliError, EXIT } from '../errors.js';

export interface TestOptions {
  now?: string;
  json?: boolean;
  timeout: string;
}

/** What the dry run decided, and the certificates the CA would sign; the --json output. */
interface Decision {
  Decision: 'allowed' | 'denied';
  Reason?: string;
  Request: LkpAuthorizationRequest;
  /** The policy's answer as it returned it; absent when the CA would not have asked. */
  Answer?: unknown;
  Certificate?: CertificatePlan;
  TargetAddress?: string;
  Jumpboxes?: (CertificatePlan & { Address: string; User: string; HostKeyAlias: string })[];
  /** For an accounts request: the unix accounts the instance would keep. */
  Accounts?: { Users: string[]; Sudo: string[] };
}

interface CertificatePlan {
  Type: 'user' | 'host';
  KeyId: string;
  Principals: string[];
  CriticalOptions: Record<string, string>;
  Extensions: string[];
  /** The policy's cap; the CA signs for min(its TTL, this). */
  ValidForSeconds?: number;
}

/** The whole command: the decision on stdout; a denial exits 3, a broken policy 1. */
export async function runPolicyTest(
  modulePath: string,
  requestPath: string,
  opts: TestOptions,
): Promise<void> {
  const now = parseNow(opts.now);
  const timeoutMs = parseTimeout(opts.timeout);
  const req = await readRequest(requestPath);
  const handler = await loadHandler(modulePath);
  const decision = await decide(handler, req, { now, timeoutMs });
  process.stdout.write(opts.json ? `${JSON.stringify(decision, null, 2)}\n` : formatDecision(decision));
  if (decision.Decision === 'denied') throw new CliError('the request was denied', EXIT.denied);
}

function parseNow(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms))
    throw new CliError(
      `--now "${value}" is not an ISO time`,
      EXIT.usage,
      'for example --now 2030-01-01T09:30:00Z',
    );
  return ms;
}

function parseTimeout(value: string): number {
  if (!/^[1-9]\d{0,6}$/.test(value))
    throw new CliError(
      `--timeout "${value}" is not a number of milliseconds`,
      EXIT.usage,
      'for example --timeout 5000',
    );
  return Number(value);
}

async function readRequest(file: string): Promise<LkpAuthorizationRequest> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (e) {
    const why = e instanceof SyntaxError ? 'is not valid JSON' : 'cannot be read';
    throw new CliError(`request file ${file} ${why}`, EXIT.usage);
  }
  try {
    return sampleRequest(raw);
  } catch (e) {
    if (e instanceof PolicyRequestError)
      throw new CliError(
        `${file}: ${e.message}`,
        EXIT.usage,
        'see the request forms in `lkp policy test --help`',
      );
    throw e;
  }
}

/** The module's `handler` export (ESM, or CommonJS through its default export). */
async function loadHandler(file: string): Promise<LambdaHandler> {
  const path = resolve(file);
  if (!existsSync(path)) throw new CliError(`no policy module at ${file}`, EXIT.usage);
  const mod = await (/\.[cm]?ts$/.test(path)
    ? importTypeScript(path)
    : importModule(pathToFileURL(path).href));
  const handler = mod.handler ?? (isRecord(mod.default) ? mod.default.handler : undefined);
  if (typeof handler !== 'function')
    throw new CliError(
      `${file} exports no handler function`,
      EXIT.error,
      'export const handler = definePolicy({ user: … }) (or exports.handler = …)',
    );
  return handler as LambdaHandler;
}

async function importModule(url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new CliError(`cannot load the policy module: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Bundles the policy with its imports into one ESM file in a temp folder (so bare imports need no
 * node_modules next to it) and imports that. Builtins required from CommonJS code need `require`.
 */
async function importTypeScript(path: string): Promise<Record<string, unknown>> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new CliError(
      'loading a .ts policy needs esbuild, which is not installed',
      EXIT.error,
      'npm install --save-dev esbuild, or pass the compiled .js file',
    );
  }
  let code: string;
  try {
    const result = await esbuild.build({
      entryPoints: [path],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      write: false,
      logLevel: 'silent',
      banner: {
        js: "import { createRequire as lkpCreateRequire } from 'node:module'; const require = lkpCreateRequire(import.meta.url);",
      },
    });
    code = result.outputFiles[0]?.text ?? '';
  } catch (e) {
    throw new CliError(`cannot bundle ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'lkp-policy-'));
  try {
    const bundle = join(dir, 'policy.mjs');
    await writeFile(bundle, code);
    return await importModule(pathToFileURL(bundle).href);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function decide(
  handler: LambdaHandler,
  req: LkpAuthorizationRequest,
  opts: { now: number | undefined; timeoutMs: number },
): Promise<Decision> {
  if (req.Kind === 'LkpHostCertAuthorizationRequest') {
    const refusal = hostCallerRefusal(req);
    // DESIGN §3.4: the CA refuses such a host request before it asks the policy.
    if (refusal !== undefined)
      return { Decision: 'denied', Reason: `${refusal} (the CA does not ask the policy)`, Request: req };
  }
  const answer = await runPolicy(handler, req, opts);
  let verdict: Verdict;
  try {
    verdict = judgeAnswer(answer, req);
  } catch (e) {
    if (e instanceof PolicyAnswerError) throw new CliError(`broken policy: ${e.message}`);
    throw e;
  }
  if (!verdict.allowed) return { Decision: 'denied', Reason: verdict.reason, Request: req, Answer: answer };
  if ('accounts' in verdict)
    return {
      Decision: 'allowed',
      Request: req,
      Answer: answer,
      Accounts: { Users: verdict.accounts.users, Sudo: verdict.accounts.sudo },
    };
  return { Decision: 'allowed', Request: req, Answer: answer, ...certificatesFor(req, verdict.grant) };
}

function hostCallerRefusal(
  req: LkpAuthorizationRequest & { Kind: 'LkpHostCertAuthorizationRequest' },
): string | undefined {
  try {
    checkHostCaller(req.From, req.HostInstanceArn);
    return undefined;
  } catch (e) {
    if (e instanceof LkpError) return e.message;
    throw e;
  }
}

/** Runs the handler with the clock set and its console output on stderr, so stdout stays ours. */
async function runPolicy(
  handler: LambdaHandler,
  req: LkpAuthorizationRequest,
  opts: { now: number | undefined; timeoutMs: number },
): Promise<unknown> {
  const restoreClock = opts.now === undefined ? () => {} : freezeClock(opts.now);
  const restoreConsole = consoleToStderr();
  try {
    return await invokeHandler(handler, structuredClone(req), opts.timeoutMs);
  } catch (e) {
    if (e instanceof PolicyFunctionError) throw new CliError(`broken policy: ${e.message}`);
    throw e;
  } finally {
    restoreConsole();
    restoreClock();
  }
}

/** `new Date()` and `Date.now()` answer `at`; dates built from values are untouched. */
function freezeClock(at: number): () => void {
  const RealDate = globalThis.Date;
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args: unknown[]) =>
      Reflect.construct(target, args.length === 0 ? [at] : args) as object,
    apply: () => new RealDate(at).toString(),
    get: (target, prop, receiver) =>
      prop === 'now' ? () => at : (Reflect.get(target, prop, receiver) as unknown),
  });
  return () => {
    globalThis.Date = RealDate;
  };
}

function consoleToStderr(): () => void {
  const saved = { log: console.log, info: console.info, debug: console.debug };
  console.log = console.info = console.debug = console.error;
  return () => Object.assign(console, saved);
}

/** The certificates the CA would sign for this grant (DESIGN §3.4, §3.5). */
function certificatesFor(
  req: LkpAuthorizationRequest,
  grant: Grant,
): Omit<Decision, 'Decision' | 'Request' | 'Answer'> {
  if (req.Kind === 'LkpHostCertAuthorizationRequest')
    return {
      Certificate: {
        Type: 'host',
        KeyId: req.HostInstanceArn,
        Principals: grant.principals,
        CriticalOptions: {},
        Extensions: [],
      },
    };
  const certificate: CertificatePlan = {
    Type: 'user',
    KeyId: req.From.Arn,
    Principals: grant.principals,
    CriticalOptions: grant.criticalOptions,
    Extensions: grant.extensions,
  };
  if (grant.validForSeconds !== undefined) certificate.ValidForSeconds = grant.validForSeconds;
  const plan: Omit<Decision, 'Decision' | 'Request' | 'Answer'> = { Certificate: certificate };
  if (grant.targetAddress !== undefined) plan.TargetAddress = grant.targetAddress;
  if (grant.jumpboxes !== undefined)
    plan.Jumpboxes = grant.jumpboxes.map((j) => ({
      Address: j.address,
      User: j.user,
      HostKeyAlias: j.hostKeyAlias,
      ...certificate,
      Principals: j.principals,
      CriticalOptions: { ...JUMPBOX_CERTIFICATE_OPTIONS.criticalOptions },
      Extensions: [...JUMPBOX_CERTIFICATE_OPTIONS.extensions],
    }));
  return plan;
}

function formatDecision(d: Decision): string {
  const lines = [`${d.Decision}: ${d.Reason ?? describeRequest(d.Request)}`];
  if (d.Certificate) lines.push(`${d.Certificate.Type} certificate:`, ...formatCertificate(d.Certificate));
  if (
    d.Certificate?.Type === 'host' &&
    d.Request.Kind === 'LkpHostCertAuthorizationRequest' &&
    d.Request.Principals.length > 0
  )
    lines.push(
      `  the CA also adds those requested names EC2 confirms for the instance (not checked here): ${d.Request.Principals.join(', ')}`,
    );
  if (d.TargetAddress) lines.push(`target address: ${d.TargetAddress}`);
  if (d.Accounts)
    lines.push(
      `unix accounts: ${d.Accounts.Users.join(', ') || '(none: lkp accounts on the host are locked or deleted)'}`,
      `with sudo:     ${d.Accounts.Sudo.join(', ') || '(none)'}`,
    );
  for (const j of d.Jumpboxes ?? [])
    lines.push(
      `jumpbox ${j.User}@${j.Address} (HostKeyAlias ${j.HostKeyAlias}) certificate:`,
      ...formatCertificate(j),
    );
  if (d.Answer !== undefined) lines.push(`policy answer: ${JSON.stringify(d.Answer)}`);
  return `${lines.join('\n')}\n`;
}

function describeRequest(req: LkpAuthorizationRequest): string {
  if (req.Kind === 'LkpUserCertAuthorizationRequest')
    return `${req.From.Arn} as ${req.SshUsername} on ${req.RemoteInstanceArn}`;
  if (req.Kind === 'LkpAccountsAuthorizationRequest') return `unix accounts of ${req.HostInstanceArn}`;
  return `host certificate for ${req.HostInstanceArn}`;
}

function formatCertificate(c: CertificatePlan): string[] {
  const options = Object.entries(c.CriticalOptions).map(([k, v]) => `${k}=${v}`);
  const validity =
    c.Type === 'host'
      ? "the CA's host TTL (LKP_HOST_CERT_TTL, default 30 days)"
      : `the CA's user TTL (LKP_USER_CERT_TTL, default 1 h)${c.ValidForSeconds !== undefined ? `, at most ${c.ValidForSeconds} s` : ''}`;
  return [
    `  key id:           ${c.KeyId}`,
    `  principals:       ${c.Principals.join(', ')}`,
    `  critical options: ${options.length > 0 ? options.join(', ') : '(none)'}`,
    `  extensions:       ${c.Extensions.length > 0 ? c.Extensions.join(', ') : '(none)'}`,
    `  valid for:        ${validity}`,
  ];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

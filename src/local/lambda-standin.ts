/**
 * A wire-compatible Lambda Invoke endpoint on loopback (DESIGN §6): the CA reaches it through
 * AWS_ENDPOINT_URL_LAMBDA, so src/authorize/lambda-policy.ts runs unchanged against it. It verifies
 * SigV4 (service `lambda`) against credentials it generated, and runs policy handlers in-process
 * the way the nodejs24.x runtime does (src/lambda-runtime.ts: a callback-style handler is refused),
 * answering as Lambda does, including `X-Amz-Function-Error` for a handler that fails.
 */
import { randomUUID } from 'node:crypto';
import {
  callLambdaHandler,
  lambdaContext,
  LambdaRuntimeError,
  type DeclaredHandler,
} from '../lambda-runtime.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readLimitedBody } from '../http-body.js';
import type { SigningCredentials, SigV4FailureCode } from './sigv4-verify.js';
import { startStandinServer, verifyStandinSignature } from './standin-server.js';
import { localCredentials } from './credentials.js';

/** The stand-in's names for the shared Lambda runtime types. */
export type { LambdaContext as StandinContext, LambdaHandler as StandinHandler } from '../lambda-runtime.js';

export interface LambdaStandinOptions {
  region: string;
  /**
   * Function name → handler, or the absolute path of a module that exports `handler`. Any function
   * is taken; one the nodejs24.x runtime refuses (a callback handler) fails every invocation here too.
   */
  functions: Record<string, DeclaredHandler | string>;
  port?: number;
  /** The credentials to accept; default: fresh ones (see `credentials` on the result). */
  credentials?: SigningCredentials;
}

export interface LambdaStandin {
  /** `http://127.0.0.1:PORT` */
  url: string;
  region: string;
  /** The only credentials the stand-in accepts. */
  credentials: SigningCredentials;
  /** `arn:aws:lambda:<region>:<account>:function:<name>`, accepted in place of the name. */
  functionArn(name: string): string;
  /** The events a function received, oldest first. */
  invocations(name: string): unknown[];
  close(): Promise<void>;
}

/** A fixed local account, so function ARNs look like AWS's. */
const LOCAL_ACCOUNT = '000000000000';
/** Lambda's synchronous invocation payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** SigV4's usual tolerance between X-Amz-Date and the server clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;
/** What getRemainingTimeInMillis counts down from; the stand-in itself never stops a handler. */
const NOMINAL_TIMEOUT_MS = 30_000;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?(.*))?$/;

const SIGV4_ERRORS: Record<SigV4FailureCode, { status: number; type: string }> = {
  MissingAuthenticationToken: { status: 403, type: 'MissingAuthenticationTokenException' },
  IncompleteSignature: { status: 400, type: 'IncompleteSignatureException' },
  InvalidClientTokenId: { status: 403, type: 'UnrecognizedClientException' },
  SignatureDoesNotMatch: { status: 403, type: 'InvalidSignatureException' },
  RequestExpired: { status: 403, type: 'InvalidSignatureException' },
};

export async function startLambdaStandin(opts: LambdaStandinOptions): Promise<LambdaStandin> {
  for (const [name, fn] of Object.entries(opts.functions)) {
    if (typeof fn === 'string' && !isAbsolute(fn))
      throw new Error(`function ${name}: module path must be absolute (got ${fn})`);
  }
  const credentials = opts.credentials ?? localCredentials();
  const functions = new Map(
    Object.entries(opts.functions).map(([name, fn]) => [name, new LocalFunction(name, fn, opts.region)]),
  );
  const server = await startStandinServer({
    port: opts.port,
    handle: (req, res) => handle(req, res, opts.region, credentials, functions),
    fail: (_req, res) => sendError(res, 500, 'ServiceException', 'internal error in the Lambda stand-in'),
  });

  return {
    url: server.url,
    region: opts.region,
    credentials,
    functionArn: (name) => functionArn(opts.region, name),
    invocations: (name) => [...(functions.get(name)?.events ?? [])],
    close: server.close,
  };
}

/** One registered function: its handler (a module is imported on first use, as at a cold start) and what it received. */
class LocalFunction {
  readonly events: unknown[] = [];
  private loaded: Promise<DeclaredHandler> | undefined;

  constructor(
    readonly name: string,
    private readonly source: DeclaredHandler | string,
    private readonly region: string,
  ) {}

  /** The handler's result, or a rejection with what it threw or why the runtime refused it. */
  async invoke(event: unknown): Promise<unknown> {
    this.events.push(event);
    const handler = await this.load();
    const context = lambdaContext(
      this.name,
      functionArn(this.region, this.name),
      Date.now() + NOMINAL_TIMEOUT_MS,
    );
    const outcome = await callLambdaHandler(handler, event, context);
    if (!outcome.ok) throw outcome.error;
    return outcome.result;
  }

  private load(): Promise<DeclaredHandler> {
    const source = this.source;
    if (typeof source !== 'string') return Promise.resolve(source);
    this.loaded ??= importHandler(source);
    return this.loaded;
  }
}

async function importHandler(modulePath: string): Promise<DeclaredHandler> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
  } catch (e) {
    throw new LambdaRuntimeError(
      'Runtime.ImportModuleError',
      `Error: cannot load ${modulePath}: ${String(e)}`,
    );
  }
  const handler = mod.handler;
  if (typeof handler !== 'function')
    throw new LambdaRuntimeError(
      'Runtime.HandlerNotFound',
      `${modulePath}.handler is undefined or not exported`,
    );
  return handler as DeclaredHandler;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  region: string,
  credentials: SigningCredentials,
  functions: Map<string, LocalFunction>,
): Promise<void> {
  const route = INVOKE_PATH.exec(req.url ?? '');
  if (req.method !== 'POST' || !route)
    return sendError(res, 404, 'UnknownOperationException', 'the Lambda stand-in serves only Invoke');
  const body = await readLimitedBody(req, MAX_PAYLOAD_BYTES);
  if (body === undefined)
    return sendError(
      res,
      413,
      'RequestTooLargeException',
      `Request must be smaller than ${MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
    );

  const verdict = verifyStandinSignature(req, body, {
    region,
    service: 'lambda',
    maxSkewMs: MAX_SKEW_MS,
    credentials,
  });
  if (!verdict.ok) {
    const { status, type } = SIGV4_ERRORS[verdict.code];
    return sendError(res, status, type, verdict.message);
  }

  const qualifier = new URLSearchParams(route[2] ?? '').get('Qualifier');
  const fn = functions.get(resolveName(safeDecode(route[1] ?? ''), region) ?? '');
  if (!fn || (qualifier !== null && qualifier !== '$LATEST'))
    return sendError(
      res,
      404,
      'ResourceNotFoundException',
      `Function not found: ${functionArn(region, safeDecode(route[1] ?? ''))}`,
    );

  const invocationType = headerValue(req, 'x-amz-invocation-type') ?? 'RequestResponse';
  if (!['RequestResponse', 'Event', 'DryRun'].includes(invocationType))
    return sendError(
      res,
      400,
      'InvalidParameterValueException',
      `Unsupported invocation type ${invocationType}`,
    );
  let event: unknown;
  try {
    event = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as unknown);
  } catch {
    return sendError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
  }
  if (invocationType === 'DryRun') return send(res, 204, {}, '');
  if (invocationType === 'Event') {
    fn.invoke(event).catch(() => undefined);
    return send(res, 202, {}, '');
  }

  const headers = { 'Content-Type': 'application/json', 'X-Amz-Executed-Version': '$LATEST' };
  try {
    const result = await fn.invoke(event);
    // Bytes pass through unchanged, as from a custom runtime; anything else is JSON, as Node's runtime sends.
    const payload = result instanceof Uint8Array ? Buffer.from(result) : (JSON.stringify(result) ?? 'null');
    send(res, 200, headers, payload);
  } catch (e) {
    send(res, 200, { ...headers, 'X-Amz-Function-Error': 'Unhandled' }, JSON.stringify(errorPayload(e)));
  }
}

/** How Lambda's Node.js runtime reports a failure: an Error by its name, anything else by its type. */
function errorPayload(e: unknown): { errorType: string; errorMessage: string; trace: string[] } {
  if (e instanceof Error)
    return { errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') };
  return { errorType: typeof e, errorMessage: String(e), trace: [] };
}

/** A name, `<account>:function:<name>` or a full function ARN in this region → the name. */
function resolveName(given: string, region: string): string | undefined {
  const arn = /^arn:aws:lambda:([a-z0-9-]+):(\d{12}):function:([^:]+)(?::\$LATEST)?$/.exec(given);
  if (arn) return arn[1] === region ? arn[3] : undefined;
  const partial = /^\d{12}:function:([^:]+)$/.exec(given);
  return partial ? partial[1] : given;
}

function functionArn(region: string, name: string): string {
  return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${name}`;
}

/** Lambda's REST errors: the type in x-amzn-ErrorType (where the SDK looks), the text in the body. */
function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  send(
    res,
    status,
    { 'Content-Type': 'application/json', 'x-amzn-ErrorType': type },
    JSON.stringify({ Type: 'User', message }),
  );
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
): void {
  // A client that gave up (a policy timeout) has gone; the late answer has nowhere to go.
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, {
    ...headers,
    'x-amzn-RequestId': randomUUID(),
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Lambda adapters (DESIGN §3): a direct Invoke payload is the CA request itself and gets the CA
 * response back unwrapped (Invoke has no status code); a Function URL event (payload format 2.0)
 * is POST / with a JSON body and gets an HTTP answer. Both run the one pipeline of src/ca.ts.
 *
 * Which of the two a function serves is deployment configuration, not the event's shape: anyone
 * allowed lambda:InvokeFunction can send an event shaped like a URL request, with any sourceIp
 * (DESIGN §3.6). Only a function deployed with LKP_FUNCTION_URL=true (serverless.yml gives it its
 * URL and lets lambda:InvokeFunction through only with lambda:InvokedViaFunctionUrl) reads URL
 * events and their address; every other function parses each event as a CA request, so a
 * URL-shaped one is a BadRequest and no address reaches the policy, the audit line or a lease.
 */
import { formatAudit, stdoutAudit } from './audit.js';
import { bootstrapCa, type Bootstrapped } from './bootstrap.js';
import type { Ca, CaResult } from './ca.js';
import { ConfigError } from './config.js';
import { HTTP_STATUS } from './errors.js';
import type { CaResponse } from './protocol.js';
import { MAX_REQUEST_BYTES } from './protocol.js';

/** The parts of the Lambda context the CA uses. */
export interface LambdaContext {
  awsRequestId: string;
  invokedFunctionArn: string;
}

/** The parts of a Function URL event (payload format 2.0) the CA reads. */
interface FunctionUrlEvent {
  version: '2.0';
  rawPath?: string;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: { http: { method?: string; path?: string; sourceIp?: string } };
}

export interface FunctionUrlResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** `true` only on the function that serves the Function URL; read once per cold start. */
const servesFunctionUrl = readFunctionUrlFlag(process.env.LKP_FUNCTION_URL);

// DESIGN §5: configuration is validated at cold start. serverless.yml sets LKP_CA_ACCOUNT, so the
// deployed CA bootstraps during init and a bad value shows in the init logs. Without it the CA's
// own account (the default allowed account) is only known from the first invocation's context.
let booting: Promise<Bootstrapped> | undefined = process.env.LKP_CA_ACCOUNT?.trim()
  ? boot(undefined)
  : undefined;
if (booting !== undefined) booting.catch(logBootFailure);
else
  process.stderr.write(
    'lkp-ca: LKP_CA_ACCOUNT is not set; configuration is checked at the first invocation, with the account from its function ARN\n',
  );

function boot(ownAccount: string | undefined): Promise<Bootstrapped> {
  const started = bootstrapCa(process.env, ownAccount === undefined ? {} : { ownAccount });
  started.catch((e: unknown) => {
    // A bad configuration stays bad until redeployed; anything else (a KMS hiccup while fetching
    // the public key) may pass, so the next invocation tries again instead of failing until recycled.
    if (!(e instanceof ConfigError)) booting = undefined;
  });
  return started;
}

async function currentCa(context: LambdaContext): Promise<Ca | undefined> {
  booting ??= boot(accountOf(context.invokedFunctionArn));
  try {
    return (await booting).ca;
  } catch (e) {
    logBootFailure(e);
    return undefined;
  }
}

/** arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>] → the account. */
function accountOf(functionArn: string): string | undefined {
  return functionArn.split(':')[4] || undefined;
}

export async function handler(
  event: unknown,
  context: LambdaContext,
): Promise<CaResponse | FunctionUrlResult> {
  const ca = await currentCa(context);
  if (servesFunctionUrl) {
    if (isFunctionUrlEvent(event)) return functionUrl(ca, event, context);
    return httpAnswer(
      400,
      badRequest('this function answers its Function URL only; send POST / with a JSON body'),
    );
  }
  const { response } = await (ca ?? unavailable)(
    { payload: event },
    {
      transport: 'invoke',
      requestId: context.awsRequestId,
    },
  );
  return response;
}

async function functionUrl(
  ca: Ca | undefined,
  event: FunctionUrlEvent,
  context: LambdaContext,
): Promise<FunctionUrlResult> {
  const { method, path, sourceIp } = event.requestContext.http;
  if (method !== 'POST')
    return httpAnswer(405, badRequest('send requests as POST / with a JSON body'), { allow: 'POST' });
  if ((path ?? event.rawPath ?? '/') !== '/')
    return httpAnswer(400, badRequest('send requests as POST / with a JSON body'));

  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  const { status, response } = await (ca ?? unavailable)(
    { body },
    {
      transport: 'function-url',
      // The address Lambda observed for the connection; client-supplied headers such as
      // X-Forwarded-For are never consulted (DESIGN §3.4 SourceIp is for policies).
      ...(sourceIp ? { sourceIp } : {}),
      requestId: context.awsRequestId,
    },
  );
  // The CA refuses an oversize body as BadRequest; HTTP says so with 413, as src/server.ts does.
  return httpAnswer(body.length > MAX_REQUEST_BYTES && status === 400 ? 413 : status, response);
}

/** A Function URL event by shape; consulted only on the function that serves the URL. */
function isFunctionUrlEvent(event: unknown): event is FunctionUrlEvent {
  if (!isObject(event) || event.version !== '2.0' || !isObject(event.requestContext)) return false;
  return isObject(event.requestContext.http);
}

function readFunctionUrlFlag(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  // Fail closed on the address: a wrong value serves direct Invoke, which trusts no sourceIp.
  logBootFailure(new Error(`LKP_FUNCTION_URL must be "true" or "false", not "${value.slice(0, 20)}"`));
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function httpAnswer(
  statusCode: number,
  response: CaResponse,
  headers: Record<string, string> = {},
): FunctionUrlResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(response),
  };
}

function badRequest(message: string): CaResponse {
  return { Error: { Code: 'BadRequest', Message: message } };
}

/** The answer of a CA that could not start: Internal, with one audit line like every decision (DESIGN §5). */
const unavailable: Ca = async (_incoming, meta): Promise<CaResult> => {
  const reason = 'the CA is not configured correctly; see its logs';
  stdoutAudit(
    formatAudit({
      time: new Date().toISOString(),
      decision: 'deny',
      transport: meta.transport,
      ...(meta.requestId !== undefined ? { requestId: meta.requestId } : {}),
      ...(meta.sourceIp !== undefined ? { sourceIp: meta.sourceIp } : {}),
      code: 'Internal',
      reason,
    }),
  );
  return { status: HTTP_STATUS.Internal, response: { Error: { Code: 'Internal', Message: reason } } };
};

function logBootFailure(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`${JSON.stringify({ level: 'ERROR', message: `lkp-ca cannot start: ${message}` })}\n`);
}

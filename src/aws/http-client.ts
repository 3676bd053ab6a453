/**
 * What every small AWS client of the CA shares, whatever the protocol (Query, JSON 1.1, REST-JSON):
 * SigV4 signing (aws4) with one cached Node credential chain, kept-alive connections, connect and
 * request deadlines, a capped answer body and at most `maxAttempts` tries (throttling, 5xx and stale
 * kept-alive connections only). The SDK clients cost the CA tens of MB (docs/performance.md).
 * Protocol modules (query-client.ts, json-client.ts, lambda-invoke.ts) build the request and read
 * the answer.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import aws4 from 'aws4';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { internal } from '../errors.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What a caller may tune; the service module supplies the rest. */
export interface AwsClientLimits {
  /** Default: the Node credential chain (environment, profile, web identity, container, instance). */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  /** Default 2; only throttling, 5xx answers and stale connections are tried again. */
  maxAttempts?: number;
  /** One deadline per attempt for connect, send and the whole answer. Default 3000. */
  requestTimeoutMs?: number;
  /** Default 1000. */
  connectTimeoutMs?: number;
  /** Default: the service module's. */
  maxResponseBytes?: number;
}

export interface AwsService {
  /** For messages: "EC2", "KMS", "Lambda". */
  label: string;
  /** The SigV4 service name. */
  signingName: string;
  signingRegion: string;
  endpoint: string;
  maxResponseBytes: number;
}

export interface AwsRequest {
  /** Path (already percent-encoded) and query. */
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

export interface AwsAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface AwsHttpClient {
  /**
   * Signs and POSTs `request`; `read` turns the answer into the result or throws. An aborted
   * `signal` tears the request down and rejects with its reason.
   */
  send<T>(request: AwsRequest, read: (answer: AwsAnswer) => T, signal?: AbortSignal): Promise<T>;
  /** Closes the kept-alive connections. */
  destroy(): void;
}

/** The service answered with an error; `code` is the service's (e.g. InvalidInstanceID.NotFound). */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** An answer with neither the expected result nor a usable error code. */
export class UnexpectedAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The answer went past the client's byte cap; it was cut off unread. */
export class AnswerTooLarge extends Error {}

class StaleConnection extends Error {}

/** An AWS error code as it may be shown: letters, digits and dots. */
export const ERROR_CODE = /^[A-Za-z][A-Za-z0-9.]{0,63}$/;
/** Throttling codes of the services the CA calls; the SDK's standard retry strategy retries them. */
const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'LimitExceededException',
]);
const RETRY_BASE_MS = 100;

// One chain for the process: it caches its credentials and refreshes them before they expire.
let nodeCredentials: (() => Promise<AwsCredentials>) | undefined;
const defaultCredentials = () => (nodeCredentials ??= fromNodeProviderChain())();

export function awsHttpClient(service: AwsService, opts: AwsClientLimits): AwsHttpClient {
  const url = new URL(service.endpoint);
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:')
    throw internal(`${service.label} endpoint ${url.origin} is not http(s)`);
  const credentials = opts.credentials;
  const getCredentials =
    credentials === undefined
      ? defaultCredentials
      : typeof credentials === 'function'
        ? credentials
        : () => Promise.resolve(credentials);
  const agent = new (secure ? https.Agent : http.Agent)({ keepAlive: true });
  const limits: PostLimits = {
    label: service.label,
    requestTimeoutMs: opts.requestTimeoutMs ?? 3000,
    connectTimeoutMs: opts.connectTimeoutMs ?? 1000,
    maxResponseBytes: opts.maxResponseBytes ?? service.maxResponseBytes,
  };
  const maxAttempts = opts.maxAttempts ?? 2;
  // The endpoint's own path (if any) prefixes the operation's.
  const basePath = url.pathname.replace(/\/$/, '');

  const attempt = async (request: AwsRequest, signal: AbortSignal | undefined): Promise<AwsAnswer> => {
    const path = `${basePath}${request.path}`;
    const signed = aws4.sign(
      {
        host: url.host,
        path,
        method: 'POST',
        service: service.signingName,
        region: service.signingRegion,
        headers: { ...request.headers },
        body: request.body,
      },
      await getCredentials(),
    );
    signal?.throwIfAborted();
    return post(secure, agent, url, path, signed.headers ?? {}, request.body, limits, signal);
  };

  return {
    async send(request, read, signal) {
      for (let n = 1; ; n++) {
        try {
          return read(await attempt(request, signal));
        } catch (e) {
          if (n >= maxAttempts || !retryable(e) || signal?.aborted) throw e;
          await sleep(RETRY_BASE_MS * (1 + Math.random()) * 2 ** (n - 1));
        }
      }
    },
    destroy: () => agent.destroy(),
  };
}

/**
 * The endpoint the SDK would use: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL (unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), then the service's own.
 */
export function configuredEndpoint(serviceEnvName: string, env: NodeJS.ProcessEnv, fallback: string): string {
  if (env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'] !== 'true') {
    const configured = env[`AWS_ENDPOINT_URL_${serviceEnvName}`] || env['AWS_ENDPOINT_URL'];
    if (configured) return configured;
  }
  return fallback;
}

/** `https://<service>.<region>.amazonaws.com`, with aws-cn's `.cn`, unless an endpoint variable overrides it. */
export function regionalEndpoint(
  serviceEnvName: string,
  host: string,
  region: string,
  env: NodeJS.ProcessEnv,
): string {
  const suffix = region.startsWith('cn-') ? '.cn' : '';
  return configuredEndpoint(serviceEnvName, env, `https://${host}.${region}.amazonaws.com${suffix}`);
}

const REGION = /^[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$/;

/** The region becomes part of a host name: only region-shaped names pass. */
export function checkRegion(region: string): string {
  if (!REGION.test(region)) throw internal(`"${region}" is not an AWS region name like us-east-1`);
  return region;
}

/** Strict UTF-8: an answer that is not is refused, never patched with replacement characters. */
export function decodeUtf8(label: string, body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new Error(`${label} answer is not UTF-8`);
  }
}

/** Throttling, server-side failures and stale kept-alive connections pass; anything else would fail the same way again. */
function retryable(e: unknown): boolean {
  if (e instanceof AwsServiceError) return THROTTLING.has(e.code) || e.status === 429 || e.status >= 500;
  return (e instanceof UnexpectedAnswer && e.status >= 500) || e instanceof StaleConnection;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface PostLimits {
  label: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  maxResponseBytes: number;
}

/**
 * One POST. Node's client never follows redirects. The request deadline covers connect, send and
 * the whole answer (a slow-drip server cannot stretch it); the body is cut off past the cap.
 */
function post(
  secure: boolean,
  agent: http.Agent,
  url: URL,
  path: string,
  headers: http.OutgoingHttpHeaders,
  body: string | Buffer,
  limits: PostLimits,
  signal: AbortSignal | undefined,
): Promise<AwsAnswer> {
  const label = limits.label;
  return new Promise<AwsAnswer>((resolve, reject) => {
    const request = (secure ? https.request : http.request)({
      agent,
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? undefined : Number(url.port),
      path,
      method: 'POST',
      headers,
    });
    let connectTimer: NodeJS.Timeout | undefined;
    const onAbort = () =>
      fail(signal?.reason instanceof Error ? signal.reason : new Error(`${label} call aborted`));
    const fail = (e: Error) => {
      clearTimeout(deadline);
      clearTimeout(connectTimer);
      signal?.removeEventListener('abort', onAbort);
      request.destroy();
      reject(e);
    };
    const deadline = setTimeout(
      () => fail(new Error(`${label} did not answer within ${limits.requestTimeoutMs} ms`)),
      limits.requestTimeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    request.on('socket', (socket) => {
      if (!socket.connecting) return; // a kept-alive connection
      connectTimer = setTimeout(
        () => fail(new Error(`could not connect to ${label} within ${limits.connectTimeoutMs} ms`)),
        limits.connectTimeoutMs,
      );
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    request.on('error', (e: NodeJS.ErrnoException) =>
      // A kept-alive connection the server closed while idle (e.g. while a Lambda was frozen):
      // the request never reached the service, so it is safe to send again (Node's documented pattern).
      fail(request.reusedSocket && e.code === 'ECONNRESET' ? new StaleConnection(e.message) : e),
    );
    request.on('response', (res) => {
      const tooLarge = () =>
        new AnswerTooLarge(`${label} answer is larger than ${limits.maxResponseBytes} bytes`);
      if (Number(res.headers['content-length'] ?? 0) > limits.maxResponseBytes) return fail(tooLarge());
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxResponseBytes) fail(tooLarge());
        else chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new Error(`${label} closed the connection mid-answer`));
      });
      res.on('end', () => {
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    request.end(body);
  });
}

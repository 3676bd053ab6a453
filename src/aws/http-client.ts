/**
 * What every small AWS client of the CA shares, whatever the protocol (Query, JSON 1.1, REST-JSON):
 * SigV4 signing (aws4) with one cached Node credential chain, kept-alive connections, connect and
 * request deadlines, a capped answer body and the SDK's standard retries (src/aws/retry.ts) inside
 * one deadline for the whole call. The SDK clients cost the CA tens of MB (docs/performance.md).
 * Protocol modules (query-client.ts, json-client.ts, lambda-invoke.ts) build the request and read
 * the answer.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import aws4 from 'aws4';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { internal } from '../errors.js';
import {
  AwsTimeoutError,
  MAX_ATTEMPTS,
  retryKindOfAnswer,
  retryKindOfFailure,
  withRetries,
} from './retry.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What a caller may tune; the service module supplies the rest. */
export interface AwsClientLimits {
  /** Default: the Node credential chain (environment, profile, web identity, container, instance). */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  /** Default 3, as the SDK; only what the SDK retries is tried again (src/aws/retry.ts). */
  maxAttempts?: number;
  /** One deadline per attempt for connect, send and the whole answer. Default 3000. */
  requestTimeoutMs?: number;
  /** The whole call: every attempt and every wait between them. Default 2 × requestTimeoutMs. */
  totalTimeoutMs?: number;
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

/** An AWS error code as it may be shown: letters, digits and dots. */
export const ERROR_CODE = /^[A-Za-z][A-Za-z0-9.]{0,63}$/;
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
  const requestTimeoutMs = opts.requestTimeoutMs ?? 3000;
  const limits: Omit<PostLimits, 'timeoutMs'> = {
    label: service.label,
    connectTimeoutMs: opts.connectTimeoutMs ?? 1000,
    maxResponseBytes: opts.maxResponseBytes ?? service.maxResponseBytes,
  };
  const maxAttempts = opts.maxAttempts ?? MAX_ATTEMPTS;
  const totalTimeoutMs = opts.totalTimeoutMs ?? 2 * requestTimeoutMs;
  // The endpoint's own path (if any) prefixes the operation's.
  const basePath = url.pathname.replace(/\/$/, '');

  const attempt = async (
    request: AwsRequest,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<AwsAnswer> => {
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
    return post(
      secure,
      agent,
      url,
      path,
      signed.headers ?? {},
      request.body,
      { ...limits, timeoutMs },
      signal,
    );
  };

  return {
    send: (request, read, signal) =>
      withRetries(
        async (remainingMs) => read(await attempt(request, signal, Math.min(requestTimeoutMs, remainingMs))),
        { maxAttempts, deadline: Date.now() + totalTimeoutMs, classify: retryKind, signal },
      ),
    destroy: () => agent.destroy(),
  };
}

/** Strict UTF-8: an answer that is not is refused, never patched with replacement characters. */
export function decodeUtf8(label: string, body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new Error(`${label} answer is not UTF-8`);
  }
}

/** As the SDK classifies it: the service's code and status, or why no answer came. */
function retryKind(e: unknown) {
  if (e instanceof AwsServiceError) return retryKindOfAnswer(e.code, e.status);
  if (e instanceof UnexpectedAnswer) return retryKindOfAnswer(undefined, e.status);
  return retryKindOfFailure(e);
}

interface PostLimits {
  label: string;
  /** This attempt's deadline. */
  timeoutMs: number;
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
      () => fail(new AwsTimeoutError(`${label} did not answer within ${limits.timeoutMs} ms`)),
      limits.timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    request.on('socket', (socket) => {
      if (!socket.connecting) return; // a kept-alive connection
      connectTimer = setTimeout(
        () => fail(new AwsTimeoutError(`could not connect to ${label} within ${limits.connectTimeoutMs} ms`)),
        limits.connectTimeoutMs,
      );
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    // Refused, reset (also a kept-alive connection the server closed while a Lambda was frozen), DNS:
    // the caller's retry strategy decides by the error's code.
    request.on('error', fail);
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

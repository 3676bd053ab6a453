/**
 * A small client for AWS Query-protocol APIs (form-encoded POST, XML answer): what the CA needs of
 * EC2 and IAM without their SDK clients (docs/performance.md). Requests are SigV4-signed (aws4) with
 * the Node credential chain; answers are read by the strict XML reader of src/xml.ts. Bounded on
 * every side: connect and request deadlines, a capped body, at most two attempts (throttling, 5xx
 * and stale kept-alive connections only). src/aws/ec2-query.ts and src/aws/iam-query.ts set the
 * service, version, endpoint and error class.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import aws4 from 'aws4';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { internal } from '../errors.js';
import { childElement, childText, parseStrictXml, XmlRefused, type XmlElement } from '../xml.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A value of a Query API parameter: lists become `Name.1`, `Name.2`; structures `Name.Member`. */
export type QueryValue = string | number | boolean | undefined | readonly QueryValue[] | QueryParams;
export interface QueryParams {
  readonly [name: string]: QueryValue;
}

export interface QueryClient {
  /** Sends one action; resolves to the root of its `<Action>Response`. The service's refusals: QueryError. */
  call(action: string, params: QueryParams): Promise<XmlElement>;
  /** Closes the kept-alive connections. */
  destroy(): void;
}

/** What a caller may tune; the service module supplies the rest. */
export interface QueryClientLimits {
  /** Default: the Node credential chain (environment, profile, web identity, container, instance). */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  /** Default 2; only throttling and 5xx answers are tried again. */
  maxAttempts?: number;
  /** One deadline per attempt for connect, send and the whole answer. Default 3000. */
  requestTimeoutMs?: number;
  /** Default 1000. */
  connectTimeoutMs?: number;
  /** Default 2 MiB: a DescribeSecurityGroupRules page of 1000 rules is about 0.5 MB. */
  maxResponseBytes?: number;
}

export interface QueryService {
  /** For messages: "EC2", "IAM". */
  label: string;
  /** The SigV4 service name. */
  signingName: string;
  signingRegion: string;
  version: string;
  endpoint: string;
  /** The service's error class, so callers can tell its refusals apart. */
  error: (code: string, status: number, message: string) => QueryError;
}

/** The service answered with an error document; `code` is the service's (e.g. InvalidInstanceID.NotFound). */
export class QueryError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ERROR_CODE = /^[A-Za-z][A-Za-z0-9.]{0,63}$/;
/** Throttling codes of EC2 and IAM; the SDK's standard retry strategy treats them as retryable. */
const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestThrottledException',
]);
const RETRY_BASE_MS = 100;

// One chain for the process: it caches its credentials and refreshes them before they expire.
let nodeCredentials: (() => Promise<AwsCredentials>) | undefined;
const defaultCredentials = () => (nodeCredentials ??= fromNodeProviderChain())();

export function queryClient(service: QueryService, opts: QueryClientLimits): QueryClient {
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
  const limits = {
    label: service.label,
    requestTimeoutMs: opts.requestTimeoutMs ?? 3000,
    connectTimeoutMs: opts.connectTimeoutMs ?? 1000,
    maxResponseBytes: opts.maxResponseBytes ?? 2 * 1024 * 1024,
  };
  const maxAttempts = opts.maxAttempts ?? 2;

  const attempt = async (action: string, body: string): Promise<XmlElement> => {
    const signed = aws4.sign(
      {
        host: url.host,
        path: url.pathname,
        method: 'POST',
        service: service.signingName,
        region: service.signingRegion,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body,
      },
      await getCredentials(),
    );
    const answer = await post(secure, agent, url, signed.headers ?? {}, body, limits);
    return readAnswer(service, action, answer);
  };

  return {
    async call(action, params) {
      const body = encodeQuery(action, service.version, params);
      for (let n = 1; ; n++) {
        try {
          return await attempt(action, body);
        } catch (e) {
          if (n >= maxAttempts || !retryable(e)) throw e;
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

/** The form body: Action, Version, then the parameters flattened the Query API's way. */
export function encodeQuery(action: string, version: string, params: QueryParams): string {
  const pairs: Array<[string, string]> = [
    ['Action', action],
    ['Version', version],
  ];
  const flatten = (prefix: string, value: QueryValue): void => {
    if (value === undefined) return;
    if (Array.isArray(value)) value.forEach((v: QueryValue, i) => flatten(`${prefix}.${i + 1}`, v));
    else if (typeof value === 'object')
      for (const [k, v] of Object.entries(value as QueryParams)) flatten(`${prefix}.${k}`, v);
    else pairs.push([prefix, String(value)]);
  };
  for (const [k, v] of Object.entries(params)) flatten(k, v);
  return pairs.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
}

/** RFC 3986 unreserved characters stay, everything else is percent-encoded (as SigV4 expects). */
const uriEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

interface RawAnswer {
  status: number;
  body: string;
}

function readAnswer(service: QueryService, action: string, { status, body }: RawAnswer): XmlElement {
  const label = service.label;
  let root: XmlElement | undefined;
  try {
    root = parseStrictXml(body);
  } catch (e) {
    if (!(e instanceof XmlRefused)) throw e;
    if (status === 200) throw new Error(`${label} ${action} answer ${e.message}`);
  }
  if (status === 200 && root?.name === `${action}Response`) return root;
  const error = errorElement(root);
  const code = childText(error, 'Code');
  if (status !== 200 && code !== undefined && ERROR_CODE.test(code))
    throw service.error(code, status, `${label} ${action}: ${code}: ${childText(error, 'Message') ?? ''}`);
  throw new UnexpectedAnswer(status, `${label} ${action} answered HTTP ${status} with no usable error code`);
}

/**
 * EC2: `<Response><Errors><Error>…`; IAM (and most Query services): `<ErrorResponse><Error>…`.
 */
function errorElement(root: XmlElement | undefined): XmlElement | undefined {
  if (root?.name === 'Response') return childElement(childElement(root, 'Errors'), 'Error');
  if (root?.name === 'ErrorResponse') return childElement(root, 'Error');
  return undefined;
}

class UnexpectedAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

class StaleConnection extends Error {}

/** Throttling, server-side failures and stale kept-alive connections pass; anything else would fail the same way again. */
function retryable(e: unknown): boolean {
  if (e instanceof QueryError) return THROTTLING.has(e.code) || e.status >= 500;
  return (e instanceof UnexpectedAnswer && e.status >= 500) || e instanceof StaleConnection;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One POST. Node's client never follows redirects. The request deadline covers connect, send and
 * the whole answer (a slow-drip server cannot stretch it); the body is cut off past the cap.
 */
function post(
  secure: boolean,
  agent: http.Agent,
  url: URL,
  headers: http.OutgoingHttpHeaders,
  body: string,
  limits: { label: string; requestTimeoutMs: number; connectTimeoutMs: number; maxResponseBytes: number },
): Promise<RawAnswer> {
  const label = limits.label;
  return new Promise<RawAnswer>((resolve, reject) => {
    const request = (secure ? https.request : http.request)({
      agent,
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname,
      method: 'POST',
      headers,
    });
    let connectTimer: NodeJS.Timeout | undefined;
    const fail = (e: Error) => {
      clearTimeout(deadline);
      clearTimeout(connectTimer);
      request.destroy();
      reject(e);
    };
    const deadline = setTimeout(
      () => fail(new Error(`${label} did not answer within ${limits.requestTimeoutMs} ms`)),
      limits.requestTimeoutMs,
    );
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
      const tooLarge = () => new Error(`${label} answer is larger than ${limits.maxResponseBytes} bytes`);
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
        try {
          const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
          resolve({ status: res.statusCode ?? 0, body: text });
        } catch {
          reject(new Error(`${label} answer is not UTF-8`));
        }
      });
    });
    request.end(body);
  });
}

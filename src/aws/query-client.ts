/**
 * A small client for AWS Query-protocol APIs (form-encoded POST, XML answer): what the CA needs of
 * EC2 and IAM without their SDK clients (docs/performance.md). Signing, credentials, deadlines,
 * the body cap and retries: src/aws/http-client.ts; answers are read by the strict XML reader of
 * src/xml.ts. src/aws/ec2-query.ts and src/aws/iam-query.ts set the service, version, endpoint and
 * error class.
 */
import { childElement, childText, parseStrictXml, XmlRefused, type XmlElement } from '../xml.js';
import {
  AwsServiceError,
  awsHttpClient,
  decodeUtf8,
  ERROR_CODE,
  UnexpectedAnswer,
  type AwsAnswer,
  type AwsClientLimits,
} from './http-client.js';

export type { AwsCredentials } from './http-client.js';

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

/** What a caller may tune; maxResponseBytes defaults to 2 MiB (a DescribeSecurityGroupRules page of 1000 rules is about 0.5 MB). */
export type QueryClientLimits = AwsClientLimits;

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
export class QueryError extends AwsServiceError {}

const MAX_RESPONSE_BYTES = 2 * 1024 * 1024;

export function queryClient(service: QueryService, opts: QueryClientLimits): QueryClient {
  const http = awsHttpClient({ ...service, maxResponseBytes: MAX_RESPONSE_BYTES }, opts);
  return {
    call: (action, params) =>
      http.send(
        {
          path: '/',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
          body: encodeQuery(action, service.version, params),
        },
        (answer) => readAnswer(service, action, answer),
      ),
    destroy: () => http.destroy(),
  };
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

function readAnswer(service: QueryService, action: string, answer: AwsAnswer): XmlElement {
  const label = service.label;
  const status = answer.status;
  let root: XmlElement | undefined;
  try {
    root = parseStrictXml(decodeUtf8(label, answer.body));
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

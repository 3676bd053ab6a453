/**
 * A small client for AWS JSON 1.0 and 1.1 APIs (POST / with `X-Amz-Target: <prefix>.<Operation>`, JSON in
 * and out): what the CA needs of KMS and DynamoDB without the SDK clients (docs/performance.md). Signing, bounds
 * and retries: src/aws/http-client.ts. Also reads the JSON error answers REST-JSON services (Lambda)
 * share with it.
 */
import {
  awsHttpClient,
  decodeUtf8,
  ERROR_CODE,
  UnexpectedAnswer,
  type AwsAnswer,
  type AwsClientLimits,
  type AwsServiceError,
} from './http-client.js';

export type JsonObject = Record<string, unknown>;

export interface JsonClient {
  /** Sends one operation; resolves to its JSON answer. The service's refusals: `service.error`'s class. */
  call(operation: string, input: JsonObject): Promise<JsonObject>;
  /** Closes the kept-alive connections. */
  destroy(): void;
}

export interface JsonService {
  /** For messages: "KMS". */
  label: string;
  signingName: string;
  signingRegion: string;
  /** `TrentService` for KMS. */
  targetPrefix: string;
  /** The protocol version in the Content-Type: 1.1 (KMS) unless the service speaks 1.0 (DynamoDB). */
  jsonVersion?: '1.0' | '1.1';
  endpoint: string;
  /** The service's error class, so callers can tell its refusals apart. */
  error: (code: string, status: number, message: string) => AwsServiceError;
}

/** KMS answers are a few KB (a GetPublicKey of an RSA-4096 key is the largest). */
const MAX_RESPONSE_BYTES = 256 * 1024;

export function jsonClient(service: JsonService, opts: AwsClientLimits): JsonClient {
  const http = awsHttpClient({ ...service, maxResponseBytes: MAX_RESPONSE_BYTES }, opts);
  return {
    call: (operation, input) =>
      http.send(
        {
          path: '/',
          headers: {
            'Content-Type': `application/x-amz-json-${service.jsonVersion ?? '1.1'}`,
            'X-Amz-Target': `${service.targetPrefix}.${operation}`,
          },
          body: JSON.stringify(input),
        },
        (answer) => {
          if (answer.status !== 200) throw jsonServiceError(service, operation, answer);
          const parsed = parseJson(decodeUtf8(service.label, answer.body));
          if (!isObject(parsed)) throw new Error(`${service.label} ${operation} answer is not a JSON object`);
          return parsed;
        },
      ),
    destroy: () => http.destroy(),
  };
}

/**
 * The error of a JSON or REST-JSON answer, as the SDK names it: the `x-amzn-ErrorType` header, else
 * the body's `__type` or `code`, without a `namespace#` prefix or a `:<url>` suffix.
 */
export function jsonServiceError(
  service: Pick<JsonService, 'label' | 'error'>,
  operation: string,
  answer: AwsAnswer,
): Error {
  let body: unknown;
  try {
    body = parseJson(decodeUtf8(service.label, answer.body));
  } catch {
    body = undefined;
  }
  const record = isObject(body) ? body : {};
  const header = answer.headers['x-amzn-errortype'];
  const raw = [typeof header === 'string' ? header : undefined, record['__type'], record['code']].find(
    (v): v is string => typeof v === 'string' && v !== '',
  );
  const code = raw?.split(':')[0]?.split('#').pop();
  const message = record['message'] ?? record['Message'];
  if (code !== undefined && ERROR_CODE.test(code))
    return service.error(
      code,
      answer.status,
      `${service.label} ${operation}: ${code}: ${typeof message === 'string' ? message : ''}`,
    );
  return new UnexpectedAnswer(
    answer.status,
    `${service.label} ${operation} answered HTTP ${answer.status} with no usable error code`,
  );
}

const parseJson = (text: string): unknown => JSON.parse(text) as unknown;
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Lambda Invoke (REST-JSON: POST /2015-03-31/functions/<name>/invocations) without the SDK's
 * Lambda client (docs/performance.md): the one Lambda call the CA makes. Signing and bounds:
 * src/aws/http-client.ts; error answers: src/aws/json-client.ts.
 */
import { clientEndpoint, LAMBDA_RULE } from './endpoints.js';
import { AwsServiceError, awsHttpClient, type AwsClientLimits } from './http-client.js';
import { jsonServiceError } from './json-client.js';

export interface LambdaInvokeOptions extends AwsClientLimits {
  region: string;
  /** Default: as the SDK resolves it (src/aws/endpoints.ts: AWS_ENDPOINT_URL_LAMBDA, FIPS, dual-stack). */
  endpoint?: string;
}

export interface InvokeResult {
  /** The HTTP status: 200 for a RequestResponse invocation that ran. */
  statusCode: number;
  /** X-Amz-Function-Error: "Unhandled" or "Handled" when the function failed. */
  functionError?: string;
  payload: Buffer;
}

export interface LambdaInvoker {
  /** A synchronous (RequestResponse) invocation; `signal` tears it down. Refusals: LambdaError. */
  invoke(functionName: string, payload: Buffer, signal?: AbortSignal): Promise<InvokeResult>;
  destroy(): void;
}

/** Lambda refused the call; `code` is Lambda's error name (e.g. ResourceNotFoundException). */
export class LambdaError extends AwsServiceError {
  override readonly name = 'LambdaError';
}

/** Default: 6 MB, Lambda's own cap on a synchronous answer. */
const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
const service = {
  label: 'Lambda',
  error: (code: string, status: number, message: string) => new LambdaError(code, status, message),
};

export function lambdaInvoker(opts: LambdaInvokeOptions): LambdaInvoker {
  const { url, signingRegion } = clientEndpoint(LAMBDA_RULE, opts.region, opts.endpoint, process.env);
  const http = awsHttpClient(
    {
      label: service.label,
      signingName: 'lambda',
      signingRegion,
      endpoint: url,
      maxResponseBytes: MAX_RESPONSE_BYTES,
    },
    opts,
  );
  return {
    invoke: (functionName, payload, signal) =>
      http.send(
        {
          path: `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`,
          headers: { 'Content-Type': 'application/octet-stream', 'X-Amz-Invocation-Type': 'RequestResponse' },
          body: payload,
        },
        (answer) => {
          if (answer.status < 200 || answer.status > 299) throw jsonServiceError(service, 'Invoke', answer);
          const functionError = answer.headers['x-amz-function-error'];
          return {
            statusCode: answer.status,
            functionError: typeof functionError === 'string' ? functionError : undefined,
            payload: answer.body,
          };
        },
        signal,
      ),
    destroy: () => http.destroy(),
  };
}
